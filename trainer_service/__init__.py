"""The trainer service: queues training jobs and publishes model versions over gRPC."""
