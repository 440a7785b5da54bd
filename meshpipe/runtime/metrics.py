"""Prometheus metrics of a stage process (names documented in docs/metrics.md)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

STATES = ("cold", "loading", "resident", "parked", "unloading")
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)


class StageMetrics:
    """The stage metrics of docs/design.md §Observability, on one registry, labelled by stage."""

    def __init__(self, stage: str, registry: CollectorRegistry | None = None) -> None:
        self.stage = stage
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.model_state = Gauge(
            "meshpipe_stage_model_state",
            "1 for the stage's current lifecycle state, 0 for the others.",
            ["stage", "state"],
            registry=r,
        )
        self.transitions = Counter(
            "meshpipe_stage_transitions",
            "Lifecycle transitions: kind = load | park | unload; source = cold | parked | resident.",
            ["stage", "kind", "source"],
            registry=r,
        )
        self.transition_seconds = Histogram(
            "meshpipe_stage_transition_seconds",
            "Duration of lifecycle transitions (load includes warm-up).",
            ["stage", "kind", "source"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.model_lost = Counter(
            "meshpipe_stage_model_lost",
            "Models lost without an unload (a worker-mode model worker died); the next "
            "request reloads.",
            ["stage"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "meshpipe_stage_request_seconds",
            "Inference request latency including load wait, by outcome (gRPC code name).",
            ["stage", "method", "code"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.step_seconds = Histogram(
            "meshpipe_stage_step_seconds",
            "Duration of the named steps inside one inference request (backend-defined, "
            "e.g. texture: delight, multiview, bake).",
            ["stage", "step"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "meshpipe_stage_requests",
            "Inference requests by outcome (gRPC code name).",
            ["stage", "method", "code"],
            registry=r,
        )
        self.in_flight = Gauge(
            "meshpipe_stage_in_flight_requests", "Requests being served now.", ["stage"], registry=r
        )
        self.queued = Gauge(
            "meshpipe_stage_queued_requests", "Requests waiting for a slot.", ["stage"], registry=r
        )
        self.torch_allocated = Gauge(
            "meshpipe_stage_torch_allocated_bytes",
            "torch.cuda.memory_allocated() of the stage process (0 without CUDA).",
            ["stage"],
            registry=r,
        )
        self.torch_reserved = Gauge(
            "meshpipe_stage_torch_reserved_bytes",
            "torch.cuda.memory_reserved() of the stage process (0 without CUDA).",
            ["stage"],
            registry=r,
        )
        self.nvml_process = Gauge(
            "meshpipe_stage_nvml_process_bytes",
            "GPU memory NVML attributes to this process (0 without a GPU).",
            ["stage"],
            registry=r,
        )
        self.footprint = Gauge(
            "meshpipe_stage_footprint_bytes",
            "Device memory the stage expects to hold while resident (estimate, then learned).",
            ["stage"],
            registry=r,
        )
        self.peak_device = Gauge(
            "meshpipe_stage_last_peak_device_bytes",
            "Peak reserved device memory of the last request (model + activations; the CUDA "
            "context is not included), bytes.",
            ["stage"],
            registry=r,
        )
        for state in STATES:
            self.model_state.labels(stage, state).set(0)
        self.in_flight.labels(stage).set(0)
        self.queued.labels(stage).set(0)
        self.model_lost.labels(stage)  # exported at 0 before the first loss

    def set_state(self, state: str) -> None:
        for name in STATES:
            self.model_state.labels(self.stage, name).set(1 if name == state else 0)

    def observe_transition(self, kind: str, source: str, seconds: float) -> None:
        self.transitions.labels(self.stage, kind, source).inc()
        self.transition_seconds.labels(self.stage, kind, source).observe(seconds)

    def observe_request(self, method: str, code: str, seconds: float) -> None:
        self.requests.labels(self.stage, method, code).inc()
        self.request_seconds.labels(self.stage, method, code).observe(seconds)

    def observe_steps(self, steps: Mapping[str, float]) -> None:
        """Record a request's per-step timings."""
        for step, seconds in steps.items():
            self.step_seconds.labels(self.stage, step).observe(seconds)

    def set_memory(self, allocated: int, reserved: int, nvml: int) -> None:
        self.torch_allocated.labels(self.stage).set(allocated)
        self.torch_reserved.labels(self.stage).set(reserved)
        self.nvml_process.labels(self.stage).set(nvml)


class MetricsServer:
    """The /metrics HTTP endpoint of a process (Prometheus text format)."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self._server: Any
        self._thread: threading.Thread
        self._server, self._thread = start_http_server(port, addr=host, registry=registry)
        self.port: int = int(self._server.server_port)

    @classmethod
    def optional(cls, registry: CollectorRegistry, host: str, port: int) -> MetricsServer | None:
        """The endpoint, or None where the port setting is negative (metrics off)."""
        return cls(registry, host, port) if port >= 0 else None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
