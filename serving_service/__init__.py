"""The serving service: answers Predict, Recommend, SimilarItems, Metrics over gRPC."""
