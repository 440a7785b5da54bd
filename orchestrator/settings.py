"""Settings of the orchestrator process (env prefix MESHPIPE_ORCHESTRATOR_, nested with `__`,
e.g. MESHPIPE_ORCHESTRATOR_SHAPE__ADDRESS=shape:50063). Built once in main() and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ByteSize, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshpipe import catalogue
from meshpipe.options import CROP_PADDING, MAX_OBJECTS, MAX_PROMPT_CHARS
from meshpipe.runtime.security import SecuritySettings
from orchestrator.arbiter.settings import ArbiterSettings
from orchestrator.domain import Stage
from orchestrator.policy import BatchPolicy

MIB = 1024 * 1024


class StageEndpoint(BaseModel):
    """How the orchestrator reaches and drives one stage service."""

    address: str = Field(
        default="",
        description="host:port of the stage's gRPC server; empty = 127.0.0.1 and the stage's "
        "default port (so that one nested field, e.g. SHAPE__DEVICE_INDEX, can be set alone).",
    )
    deadline_seconds: float = Field(
        default=600.0,
        gt=0,
        description="Deadline of one inference call (queueing in the stage included).",
    )
    concurrency: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Calls the orchestrator keeps in flight to this stage at once.",
    )
    device_index: int | None = Field(
        default=None,
        ge=0,
        description="GPU whose lease ledger the stage is on (N of its `cuda:N`; unset = the "
        "arbiter's device_index); stages on different GPUs are scheduled independently, "
        "one arbiter ledger each.",
    )


class Limits(BaseModel):
    """What a submission may ask for; anything beyond is INVALID_ARGUMENT."""

    max_image_pixels: int = Field(
        default=40_000_000, ge=1, description="Largest accepted photo, pixels."
    )
    max_prompt_chars: int = Field(
        default=1000,
        ge=1,
        le=MAX_PROMPT_CHARS,
        description="Longest accepted prompt, characters (at most what the detector reads).",
    )
    max_name_chars: int = Field(
        default=256, ge=1, description="Longest accepted job name, characters."
    )
    max_objects: int = Field(
        default=16,
        ge=1,
        le=MAX_OBJECTS.high,
        description="Cap on objects processed per job (at most what the detector returns).",
    )
    default_max_objects: int = Field(
        default=8,
        ge=1,
        le=MAX_OBJECTS.high,
        description="Objects processed when a job does not say (capped).",
    )


def _endpoint_field(stage: str) -> StageEndpoint:
    """A stage endpoint field whose default is the catalogue's port on 127.0.0.1."""
    port = catalogue.stage(stage).grpc_port
    default = StageEndpoint(address=f"127.0.0.1:{port}")
    described: StageEndpoint = Field(default=default, description=f"The {stage} stage.")
    return described


_PROCESS = catalogue.entry("orchestrator")


class OrchestratorSettings(SecuritySettings, BaseSettings):
    """Process, stage, limit and storage settings of the orchestrator."""

    model_config = SettingsConfigDict(
        env_prefix=_PROCESS.env_prefix, env_nested_delimiter="__", extra="ignore"
    )

    host: str = Field(default="127.0.0.1", description="Address the gRPC server binds.")
    port: int = Field(
        default=_PROCESS.grpc_port, ge=0, le=65535, description="gRPC port; 0 picks a free port."
    )
    internal_host: str = Field(
        default="127.0.0.1", description="Address the internal (embedded arbiter) port binds."
    )
    internal_port: int = Field(
        default=50052,
        ge=0,
        le=65535,
        description="Port of the embedded arbiter (internal: never the client-facing port); "
        "0 picks a free port.",
    )
    tokens: str = Field(
        default="",
        description="Client bearer tokens, `principal:token` items separated by commas or "
        "newlines; empty and no tokens_file = no client authentication (loopback only).",
    )
    tokens_file: str = Field(default="", description="File of `principal:token` lines.")
    tls_client_cert_file: str = Field(
        default="",
        description="Certificate the orchestrator presents to the stages and the arbiter "
        "(mutual TLS); empty = tls_cert_file.",
    )
    tls_client_key_file: str = Field(default="", description="Key of tls_client_cert_file.")
    heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        description="A job stream with no event for this long gets a Heartbeat event.",
    )
    max_page_size: int = Field(
        default=1000, ge=1, description="Most jobs one ListJobs page returns."
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the /metrics HTTP server binds."
    )
    metrics_port: int = Field(
        default=_PROCESS.metrics_port,
        ge=-1,
        le=65535,
        description="/metrics port; 0 picks a free port, -1 disables.",
    )
    detector: StageEndpoint = _endpoint_field("detector")
    matting: StageEndpoint = _endpoint_field("matting")
    shape: StageEndpoint = _endpoint_field("shape")
    texture: StageEndpoint = _endpoint_field("texture")
    output_dir: str = Field(
        default="./out",
        description="Per-job artifact folders and the job store (jobs.sqlite3) live here.",
    )
    limits: Limits = Field(default_factory=Limits, description="Submission limits.")
    crop_padding: float = Field(
        default=CROP_PADDING.fallback,
        ge=0,
        le=CROP_PADDING.high,
        description="Padding around each box before cropping, fraction of its size.",
    )
    max_queued_jobs: int = Field(
        default=5000,
        ge=1,
        description="Unfinished jobs accepted at once (queued jobs wait on disk; ~11 KiB of "
        "memory each, benchmarks/queue_memory.py); more get RESOURCE_EXHAUSTED with a retry "
        "hint. The disk guard (min_free_bytes) bounds it too.",
    )
    min_free_bytes: ByteSize = Field(
        default=ByteSize(512 * MIB),
        ge=0,
        description="New jobs get RESOURCE_EXHAUSTED while the output volume has less than "
        "this free (e.g. 2GiB); 0 = no guard.",
    )
    disk_reserve_bytes: ByteSize = Field(
        default=ByteSize(16 * MIB),
        ge=0,
        description="Free space artifact writes leave for the job store and manifests, so that "
        "a job that fills the volume still ends cleanly (its objects fail RESOURCE_EXHAUSTED).",
    )
    retention_seconds: float = Field(
        default=7 * 24 * 3600.0,
        ge=0,
        description="Finished jobs (rows and folders) older than this are deleted; 0 = keep.",
    )
    retention_sweep_seconds: float = Field(
        default=300.0, gt=0, description="How often the retention sweep runs."
    )
    max_running_jobs: int = Field(
        default=4,
        ge=1,
        description="Jobs whose objects are being worked on at once; others wait QUEUED.",
    )
    stage_queue_limit: int = Field(
        default=512, ge=1, description="Calls allowed to wait for one stage; more fail the object."
    )
    unavailable_retries: int = Field(
        default=3, ge=0, description="Retries of a call that found its stage UNAVAILABLE."
    )
    retry_backoff_seconds: float = Field(
        default=0.25,
        gt=0,
        description="Pause before the first retry's health check; doubles with every retry.",
    )
    unavailable_wait_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a retry waits for the stage to report healthy again.",
    )
    resume: bool = Field(
        default=True, description="Resume unfinished jobs of the job store at start-up."
    )
    max_request_bytes: int = Field(
        default=64 * MIB, ge=4 * MIB, description="Largest SubmitJob message the server accepts."
    )
    max_message_bytes: int = Field(
        default=64 * MIB,
        ge=4 * MIB,
        description="Largest message on the orchestrator's stage channels.",
    )
    grace_seconds: float = Field(default=10.0, ge=0, description="Drain time on SIGTERM.")
    arbiter_enabled: bool = Field(
        default=True,
        description="Run the GPU lease arbiter in this process and serve it on the "
        "internal port (internal_host:internal_port; ignored when arbiter_address is set).",
    )
    arbiter_address: str = Field(
        default="",
        description="host:port of a standalone `meshpipe arbiter` to use instead of the "
        "embedded one (point the stages' ARBITER_ADDRESS at it too); empty = embedded.",
    )
    arbiter_poll_seconds: float = Field(
        default=0.5,
        ge=0.05,
        le=10,
        description="With arbiter_address: how often the lease-aware dispatcher reads the "
        "standalone arbiter's ledger (GetLedger).",
    )
    arbiter_poll_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="Deadline of one GetLedger poll; on failure the last ledger is kept.",
    )
    arbiter: ArbiterSettings = Field(
        default_factory=ArbiterSettings,
        description="The embedded arbiter (budget, safety margin, simulated device, TTL...); "
        "MESHPIPE_ORCHESTRATOR_ARBITER__<FIELD>, or MESHPIPE_ARBITER_<FIELD> as standalone. "
        "Its host, ports and ready file are not used.",
    )
    load_ahead: bool = Field(
        default=True,
        description="While every leased stage of a device fits its budget together and jobs "
        "are in flight, load the stages that are not resident before their first request "
        "(StageAdmin.Load), so that later stages load while earlier ones run.",
    )
    batch_max_items: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Most calls of one stage in a batch when the stages' leases do not fit.",
    )
    batch_age_bound_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A call that waited this long makes its stage go next (no starvation).",
    )
    batch_aging_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Job order: a call that waited this long ranks ahead of later-arrived "
        "jobs' younger calls (aging).",
    )
    batch_object_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Job order: nominal seconds per object in a job's due time (arrival + "
        "this x objects), so that of jobs submitted together the smaller go first.",
    )
    ready_file: str | None = Field(
        default=None,
        description="If set, a JSON file with the bound ports is written here once serving.",
    )
    log_json: bool = Field(default=False, description="Log as JSON lines instead of text.")
    log_level: str = Field(default="INFO", description="Root log level.")

    @model_validator(mode="after")
    def _default_addresses(self) -> OrchestratorSettings:
        for stage in catalogue.STAGES:  # an endpoint set without an address: the default port
            endpoint = self.endpoint(stage)
            if not endpoint.address:
                endpoint.address = f"127.0.0.1:{catalogue.stage(stage).grpc_port}"
        return self

    def endpoint(self, stage: str) -> StageEndpoint:
        """The endpoint of a stage by name."""
        endpoint: StageEndpoint = getattr(self, stage)
        return endpoint

    def placement(self) -> dict[Stage, int]:
        """The GPU index of each stage."""
        default = self.arbiter.device_index
        placed = {stage: self.endpoint(stage.value).device_index for stage in Stage}
        return {stage: default if d is None else d for stage, d in placed.items()}

    def arbiter_devices(self) -> list[int]:
        """The GPUs whose ledgers this orchestrator needs: the stages' and the arbiter's."""
        return sorted(set(self.placement().values()) | set(self.arbiter.device_indices()))

    def batch_policy(self) -> BatchPolicy:
        """The batching policy these settings describe."""
        return BatchPolicy(
            age_bound_seconds=self.batch_age_bound_seconds,
            aging_seconds=self.batch_aging_seconds,
            object_seconds=self.batch_object_seconds,
        )

    def embedded_arbiter(self) -> bool:
        """True when this process runs the arbiter."""
        return self.arbiter_enabled and not self.arbiter_address

    def client_security(self) -> SecuritySettings:
        """The TLS/token settings of the orchestrator's own calls to internal services."""
        cert = self.tls_client_cert_file or self.tls_cert_file
        key = self.tls_client_key_file or self.tls_key_file
        return self.model_copy(update={"tls_cert_file": cert, "tls_key_file": key})

    def output_path(self) -> Path:
        """The output folder, with `~` expanded."""
        return Path(self.output_dir).expanduser()
