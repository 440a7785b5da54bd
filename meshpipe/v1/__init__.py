"""Generated protobuf and gRPC stubs of proto/meshpipe/v1. Do not edit: run `make proto`."""
