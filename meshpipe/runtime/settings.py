"""Settings shared by every stage process. Each stage subclasses StageSettings with its own
env prefix (MESHPIPE_<STAGE>_) and backend knobs; the object is built once in main()."""

from __future__ import annotations

from typing import Literal

from pydantic import ByteSize, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshpipe.runtime.security import SecuritySettings

MIB = 1024 * 1024


class StageSettings(SecuritySettings, BaseSettings):
    """Process, lifecycle and limits settings of a stage service."""

    model_config = SettingsConfigDict(env_prefix="MESHPIPE_STAGE_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the gRPC server binds.")
    port: int = Field(0, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_host: str = Field("127.0.0.1", description="Address the /metrics HTTP server binds.")
    metrics_port: int = Field(
        0,
        ge=-1,
        le=65535,
        description="Prometheus /metrics port; 0 picks a free port, -1 disables.",
    )
    backend: str = Field("embedded", description="Backend id to serve ('embedded' is the default).")
    device: str = Field("auto", description="'auto', 'cpu' or 'cuda[:N]'.")
    park_after: float = Field(
        60.0, ge=0, description="Idle seconds before a resident model is parked; 0 disables."
    )
    unload_after: float = Field(
        600.0,
        ge=0,
        description="Seconds a model stays parked (idle) before it is dropped; 0 disables.",
    )
    worker_mode: Literal["inprocess", "subprocess"] = Field(
        "inprocess",
        description="Where the model runs: 'inprocess' (the stage process; a parked or cold "
        "model keeps the process's CUDA context) or 'subprocess' (a worker process that exits "
        "when the model goes COLD: a cold stage holds no GPU memory and no context).",
    )
    worker_start_timeout: float = Field(
        300.0, gt=0, description="Seconds a worker-mode model's worker may take to start."
    )
    warmup: bool = Field(True, description="Run one warm-up request after every load or wake.")
    max_concurrency: int = Field(1, ge=1, le=64, description="Requests run at once by the model.")
    max_queue: int = Field(
        64, ge=0, description="Requests allowed to wait for a slot; more are refused."
    )
    footprint_bytes: int = Field(
        0, ge=0, description="Device memory estimate while resident, bytes (0 = backend's own)."
    )
    memory_profile: str = Field(
        "auto",
        description="Memory profile of production backends (meshpipe.profiles): high, balanced, "
        "medium, low, minimal (or 1-5), 'auto' (from the GPU's size) or 'none'. It fills only "
        "the knobs not set explicitly.",
    )
    max_image_pixels: int = Field(40_000_000, ge=1, description="Largest accepted input image.")
    max_working_side: int = Field(
        2048,
        ge=0,
        description="Longest side, pixels, of the image the stage works on: larger inputs are "
        "downscaled right after decoding (results are given in the input's coordinates, "
        "images at the working size); bounds memory whatever the input. 0 = no bound.",
    )
    max_message_bytes: int = Field(
        64 * MIB, ge=4 * MIB, description="Largest gRPC message the server sends or receives."
    )
    grace_seconds: float = Field(10.0, ge=0, description="Drain time on SIGTERM.")
    ready_file: str | None = Field(
        None, description="If set, a JSON file with the bound ports is written here once serving."
    )
    arbiter_address: str = Field(
        "",
        description="host:port of the GPU lease arbiter; empty = no arbiter (always granted).",
    )
    device_index: int = Field(
        0,
        ge=0,
        description="GPU index whose arbiter ledger to join; unset, the N of a `cuda:N` device.",
    )
    lease_priority: int = Field(0, description="Priority of the stage's lease requests.")
    lease_heartbeat_seconds: float = Field(
        1.0,
        gt=0,
        description="Heartbeat interval on the lease stream (at most the arbiter's; the "
        "arbiter's TTL decides when a silent stage loses its lease).",
    )
    lease_max_wait_seconds: float = Field(
        0.0, ge=0, description="Bound on waiting for a lease; 0 = the arbiter's default."
    )
    sim_device_bytes: ByteSize = Field(
        ByteSize(0),
        description="Simulated GPU: the model occupies this many device bytes while resident "
        "(for running the arbiter without a GPU); 0 = off.",
    )
    sim_context_bytes: ByteSize = Field(
        ByteSize(617 * MIB), description="Simulated CUDA context of the process, bytes."
    )
    sim_load_seconds: float = Field(
        0.0, ge=0, description="Simulated extra seconds of every load or wake."
    )
    log_json: bool = Field(False, description="Log as JSON lines instead of text.")
    log_level: str = Field("INFO", description="Root log level.")

    @model_validator(mode="after")
    def _ledger_of_the_device(self) -> StageSettings:
        """A stage on `cuda:N` takes its leases from GPU N's ledger unless told otherwise."""
        if "device_index" not in self.model_fields_set and self.device.startswith("cuda:"):
            index = self.device.split(":", 1)[1]
            if index.isdigit():
                self.device_index = int(index)
        return self
