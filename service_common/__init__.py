"""What both gRPC services share: error mapping, auth, server lifecycle."""
