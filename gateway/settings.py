"""Settings of the gateway process (env prefix MESHPIPE_GATEWAY_), built once in main()."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class GatewaySettings(BaseSettings):
    """HTTP bind address, the orchestrator to talk to, limits, CORS and the studio's files."""

    model_config = SettingsConfigDict(env_prefix="MESHPIPE_GATEWAY_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds.")
    port: int = Field(default=8080, ge=0, le=65535, description="HTTP port; 0 picks a free port.")
    orchestrator: str = Field(
        default="127.0.0.1:50051", description="host:port of the orchestrator's gRPC API."
    )
    tls_ca_file: str = Field(
        default="",
        description="CA that signed the orchestrator's certificate: talk TLS to it (empty = "
        "plaintext, for an orchestrator on loopback or behind a TLS-terminating mesh).",
    )
    max_upload_bytes: int = Field(
        default=32 * MIB, ge=1, description="Largest accepted photo (decoded bytes); more: 413."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed to call the API from a browser (JSON list, e.g. ["*"]).',
    )
    heartbeat_seconds: float = Field(
        default=10.0, gt=0, le=15, description="SSE heartbeat comment after this much silence."
    )
    rpc_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Deadline of unary calls to the orchestrator."
    )
    generate_timeout_seconds: float = Field(
        default=1800.0, gt=0, description="Longest a synchronous /v1/generate call waits."
    )
    memory_profile: int = Field(
        default=3,
        ge=1,
        le=5,
        description="Memory profile the stages of this deployment run (reported by /v1/generate).",
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After sent with 429 and 503."
    )
    vendor_dir: str = Field(
        default="",
        description="Folder holding model-viewer (model-viewer.min.js); empty = gateway/vendor.",
    )
    max_message_bytes: int = Field(
        default=64 * MIB, ge=1 * MIB, description="Largest gRPC message to the orchestrator."
    )
    ready_file: str | None = Field(
        default=None, description="Write the bound port as JSON here once serving."
    )
    log_level: str = Field(default="INFO", description="Logging level.")
