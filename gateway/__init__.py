"""meshpipe's HTTP gateway: REST + Server-Sent Events + the serverless contract + the studio
page, as a stateless gRPC client of the orchestrator (see docs/gateway.md)."""
