"""Prometheus metrics of the arbiter (documented in docs/metrics.md, section "Arbiter").

Labels are bounded: `device` (a GPU index) and `stage` (the four stage names, anything
else is counted as "other").
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from meshpipe.catalogue import STAGES
from orchestrator.arbiter.ledger import (
    Denied,
    Event,
    Granted,
    LedgerSnapshot,
    Overrun,
    Reclaim,
    ReclaimTimedOut,
    Released,
)

_WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


def stage_label(stage: str) -> str:
    """Keep the label set bounded: unknown stage names are reported as "other"."""
    return stage if stage in STAGES else "other"


class ArbiterMetrics:
    """The arbiter metrics of docs/design.md §Observability on one registry (shared by all devices)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._ledger_metrics(self.registry)
        self._decision_metrics(self.registry)
        self._truth_metrics(self.registry)

    def _ledger_metrics(self, r: CollectorRegistry) -> None:
        d, ds = ["device"], ["device", "stage"]
        self.budget = Gauge("meshpipe_arbiter_budget_bytes", "Lease budget.", d, registry=r)
        self.granted = Gauge(
            "meshpipe_arbiter_granted_bytes", "Granted: model leases + contexts.", d, registry=r
        )
        self.high_water = Gauge(
            "meshpipe_arbiter_granted_high_water_bytes",
            "Highest granted bytes since start (exact, not sampled).",
            d,
            registry=r,
        )
        self.granted_stage = Gauge(
            "meshpipe_arbiter_stage_granted_bytes", "Granted bytes by stage.", ds, registry=r
        )
        self.learned = Gauge(
            "meshpipe_arbiter_learned_footprint_bytes",
            "Learned model footprint (largest reported peak) by stage.",
            ds,
            registry=r,
        )
        self.by_learning = Gauge(
            "meshpipe_arbiter_reserved_by_learning_bytes",
            "Model bytes granted above (negative: below) what holders asked, from learning.",
            d,
            registry=r,
        )
        self.holders = Gauge("meshpipe_arbiter_holders", "Open holder sessions.", d, registry=r)
        self.queue_depth = Gauge(
            "meshpipe_arbiter_queue_depth", "Requests waiting for a lease.", d, registry=r
        )

    def _decision_metrics(self, r: CollectorRegistry) -> None:
        ds = ["device", "stage"]
        self.wait = Histogram(
            "meshpipe_arbiter_wait_seconds",
            "Time from request to grant or denial.",
            ds,
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.grants = Counter("meshpipe_arbiter_grants", "Leases granted.", ds, registry=r)
        self.denials = Counter(
            "meshpipe_arbiter_denials",
            "Requests refused, by gRPC code name.",
            ["device", "stage", "code"],
            registry=r,
        )
        self.evictions = Counter(
            "meshpipe_arbiter_evictions",
            "Reclaim requests sent to idle holders (park/unload asked).",
            ds,
            registry=r,
        )
        self.reclaim_timeouts = Counter(
            "meshpipe_arbiter_reclaim_timeouts",
            "Reclaim requests not honoured within the reclaim timeout.",
            ds,
            registry=r,
        )
        self.expirations = Counter(
            "meshpipe_arbiter_expirations",
            "Sessions dropped after missing heartbeats for the TTL.",
            ds,
            registry=r,
        )
        self.overruns = Counter(
            "meshpipe_arbiter_overruns",
            "Reported peaks above the lease held (the ledger under-counted).",
            ds,
            registry=r,
        )

    def _truth_metrics(self, r: CollectorRegistry) -> None:
        d = ["device"]
        self.device_total = Gauge(
            "meshpipe_arbiter_device_total_bytes",
            "Device memory size (NVML or simulated).",
            ["device", "source"],
            registry=r,
        )
        self.device_used = Gauge(
            "meshpipe_arbiter_device_used_bytes",
            "Device used memory: NVML, or holders' own reports on a simulated device.",
            ["device", "source"],
            registry=r,
        )
        self.drift = Gauge(
            "meshpipe_arbiter_drift_bytes",
            "Device used minus ledger granted at the last truth check.",
            d,
            registry=r,
        )
        self.drift_events = Counter(
            "meshpipe_arbiter_drift_events",
            "Truth checks whose |drift| exceeded the threshold (over: used > granted).",
            ["device", "direction"],
            registry=r,
        )

    def observe(self, device: int, events: list[Event]) -> None:
        """Count what the core decided."""
        dev = str(device)
        for e in events:
            stage = stage_label(e.stage)
            if isinstance(e, Granted):
                self.grants.labels(dev, stage).inc()
                self.wait.labels(dev, stage).observe(e.waited_seconds)
            elif isinstance(e, Denied):
                self.denials.labels(dev, stage, e.code).inc()
                self.wait.labels(dev, stage).observe(e.waited_seconds)
            elif isinstance(e, Reclaim):
                self.evictions.labels(dev, stage).inc()
            elif isinstance(e, ReclaimTimedOut):
                self.reclaim_timeouts.labels(dev, stage).inc()
            elif isinstance(e, Released) and e.reason == "expired":
                self.expirations.labels(dev, stage).inc()
            elif isinstance(e, Overrun):
                self.overruns.labels(dev, stage).inc()

    def publish(self, snap: LedgerSnapshot) -> None:
        """Set the gauges from a ledger snapshot."""
        dev = str(snap.device_index)
        self.budget.labels(dev).set(snap.budget_bytes)
        self.granted.labels(dev).set(snap.granted_bytes)
        self.high_water.labels(dev).set(snap.high_water_bytes)
        self.by_learning.labels(dev).set(snap.reserved_by_learning)
        self.holders.labels(dev).set(len(snap.holders))
        self.queue_depth.labels(dev).set(len(snap.queue))
        by_stage = {stage: 0 for stage in (*STAGES, "other")}
        for stage, nbytes in snap.granted_by_stage().items():
            by_stage[stage_label(stage)] += nbytes
        for stage, nbytes in by_stage.items():
            self.granted_stage.labels(dev, stage).set(nbytes)
        for stage, nbytes in snap.learned.items():
            self.learned.labels(dev, stage_label(stage)).set(nbytes)

    def publish_truth(
        self, device: int, source: str, total: int, used: int, drift: int, threshold: int
    ) -> None:
        """Export a truth reading next to the ledger and count drift beyond the threshold."""
        dev = str(device)
        self.device_total.labels(dev, source).set(total)
        self.device_used.labels(dev, source).set(used)
        self.drift.labels(dev).set(drift)
        if abs(drift) > threshold:
            self.drift_events.labels(dev, "over" if drift > 0 else "under").inc()
