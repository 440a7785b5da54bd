"""The shared stage runtime: model lifecycle, errors, metrics, settings and the gRPC server.

Every stage service (services/<stage>/) is a backend plus a thin servicer on top of this.
"""
