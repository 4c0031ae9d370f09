"""Protobuf and gRPC modules generated from protos/movierec/v1 by scripts/codegen.py."""
