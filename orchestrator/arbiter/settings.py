"""Settings of an arbiter (env prefix MESHPIPE_ARBITER_), embedded or standalone."""

from __future__ import annotations

from pydantic import ByteSize, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshpipe import catalogue
from meshpipe.runtime.security import SecuritySettings
from orchestrator.arbiter.ledger import CUDA_CONTEXT_BYTES, GIB, MIB, ArbiterConfig

_PROCESS = catalogue.entry("arbiter")


class ArbiterSettings(SecuritySettings, BaseSettings):
    """Budget, timing and process settings of the lease arbiter of one GPU.

    Byte sizes accept plain integers or units ("24GiB", "512MiB").
    """

    model_config = SettingsConfigDict(env_prefix=_PROCESS.env_prefix, extra="ignore")

    host: str = Field("127.0.0.1", description="Address the gRPC server binds (standalone).")
    port: int = Field(
        _PROCESS.grpc_port, ge=0, le=65535, description="gRPC port; 0 picks a free port."
    )
    metrics_host: str = Field("127.0.0.1", description="Address the /metrics HTTP server binds.")
    metrics_port: int = Field(
        _PROCESS.metrics_port, ge=-1, le=65535, description="/metrics port; 0 free, -1 off."
    )
    device_index: int = Field(0, ge=0, description="GPU index whose memory this arbiter rations.")
    devices: list[int] = Field(
        default_factory=list,
        description="GPU indices rationed by this process, one ledger each with these same "
        "settings (JSON, e.g. [0, 1]); empty = [device_index].",
    )
    device_kind: str = Field(
        "auto",
        pattern="^(auto|nvml|simulated)$",
        description="Where the device's truth comes from: nvml, simulated, or auto (NVML if "
        "it works, else simulated).",
    )
    sim_capacity_bytes: ByteSize = Field(
        ByteSize(24 * GIB), description="Size of the simulated device (no GPU, e.g. CI)."
    )
    budget_bytes: ByteSize = Field(
        ByteSize(0), description="Budget before the safety margin; 0 = budget_fraction x device."
    )
    budget_fraction: float = Field(
        0.9, gt=0, le=1, description="Share of the device used when budget_bytes is 0."
    )
    safety_margin_bytes: ByteSize = Field(
        ByteSize(512 * MIB), description="Kept free on top of the budget (allocator slack)."
    )
    context_bytes: ByteSize = Field(
        ByteSize(CUDA_CONTEXT_BYTES),
        description="CUDA context charged once per holder process (617 MiB measured).",
    )
    ttl_seconds: float = Field(
        5.0, gt=0, description="A silent holder loses its session and lease after this long."
    )
    heartbeat_seconds: float = Field(1.0, gt=0, description="Heartbeat interval told to holders.")
    min_residency_seconds: float = Field(
        10.0, ge=0, description="A lease younger than this is never reclaimed (anti-thrash)."
    )
    max_wait_seconds: float = Field(
        120.0, gt=0, description="Default bound on a request's wait, then RESOURCE_EXHAUSTED."
    )
    aging_seconds: float = Field(
        30.0, gt=0, description="Requests older than this are served FIFO ahead of priorities."
    )
    reclaim_timeout_seconds: float = Field(
        15.0, gt=0, description="How long a holder asked to park has before another is asked."
    )
    estimates: dict[str, ByteSize] = Field(
        default_factory=dict,
        description='Starting footprint estimate per stage, e.g. {"shape": "10GiB"} (JSON).',
    )
    truth_interval_seconds: float = Field(
        2.0, gt=0, description="Interval of the ledger-vs-device truth check."
    )
    drift_threshold_bytes: ByteSize = Field(
        ByteSize(GIB), description="|device used - granted| above this is logged and counted."
    )
    ready_file: str | None = Field(
        None, description="If set, a JSON file with the bound ports is written once serving."
    )
    grace_seconds: float = Field(5.0, ge=0, description="Drain time on SIGTERM.")
    log_json: bool = Field(False, description="Log as JSON lines instead of text.")
    log_level: str = Field("INFO", description="Root log level.")

    def device_indices(self) -> list[int]:
        """The GPUs this process keeps a ledger for, each once, in order."""
        return sorted(set(self.devices)) or [self.device_index]

    def for_device(self, device_index: int) -> ArbiterSettings:
        """These settings for the ledger of one GPU."""
        return self.model_copy(update={"device_index": device_index, "devices": []})

    def budget_for(self, device_total_bytes: int) -> int:
        """Budget = configured bytes (or fraction of the device) minus the safety margin."""
        base = int(self.budget_bytes) or int(self.budget_fraction * device_total_bytes)
        if self.budget_bytes and device_total_bytes and self.budget_bytes > device_total_bytes:
            raise ValueError(
                f"budget {self.budget_bytes} bytes exceeds device {self.device_index}'s "
                f"{device_total_bytes} bytes"
            )
        budget = base - int(self.safety_margin_bytes)
        if budget <= 0:
            raise ValueError(
                f"budget {base} bytes minus safety margin {int(self.safety_margin_bytes)} "
                "leaves nothing to grant"
            )
        return budget

    def config(self, device_total_bytes: int) -> ArbiterConfig:
        """The core's configuration for a device of the given size."""
        return ArbiterConfig(
            budget_bytes=self.budget_for(device_total_bytes),
            device_index=self.device_index,
            context_bytes=int(self.context_bytes),
            ttl_seconds=self.ttl_seconds,
            heartbeat_seconds=self.heartbeat_seconds,
            min_residency_seconds=self.min_residency_seconds,
            max_wait_seconds=self.max_wait_seconds,
            aging_seconds=self.aging_seconds,
            reclaim_timeout_seconds=self.reclaim_timeout_seconds,
            estimates={k: int(v) for k, v in self.estimates.items()},
        )
