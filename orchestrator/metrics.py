"""Prometheus metrics of the orchestrator (documented in docs/metrics.md, "Orchestrator")."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from orchestrator.domain import JobState, Stage

_JOB_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560)
_STAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640)


class OrchestratorMetrics:
    """Jobs, objects and per-stage traffic, on the orchestrator's own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._declare_job_metrics(self.registry)
        self._declare_stage_metrics(self.registry)
        self._declare_storage_metrics(self.registry)
        for stage in Stage:
            self.stage_queue_depth.labels(stage.value).set(0)
            self.stage_in_flight.labels(stage.value).set(0)
        for state in (JobState.QUEUED, JobState.RUNNING):
            self.jobs_in_progress.labels(state.value).set(0)

    def _declare_job_metrics(self, r: CollectorRegistry) -> None:
        self.submissions = Counter(
            "meshpipe_orchestrator_submissions",
            "SubmitJob calls by outcome (OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, ...).",
            ["code"],
            registry=r,
        )
        self.jobs = Counter(
            "meshpipe_orchestrator_jobs",
            "Finished jobs by outcome (succeeded, partial, failed, cancelled).",
            ["outcome"],
            registry=r,
        )
        self.objects = Counter(
            "meshpipe_orchestrator_objects",
            "Finished objects by outcome (succeeded, failed, cancelled).",
            ["outcome"],
            registry=r,
        )
        self.job_seconds = Histogram(
            "meshpipe_orchestrator_job_seconds",
            "Job latency from acceptance to its last event, by outcome.",
            ["outcome"],
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        self.jobs_in_progress = Gauge(
            "meshpipe_orchestrator_jobs_in_progress",
            "Unfinished jobs by state (queued, running).",
            ["state"],
            registry=r,
        )

    def _declare_storage_metrics(self, r: CollectorRegistry) -> None:
        self.jobs_deleted = Counter(
            "meshpipe_orchestrator_jobs_deleted",
            "Finished jobs deleted (rows and folder), by reason (retention, request).",
            ["reason"],
            registry=r,
        )
        self.deleted_bytes = Counter(
            "meshpipe_orchestrator_deleted_bytes",
            "Bytes of job folders deleted, by reason (retention, request).",
            ["reason"],
            registry=r,
        )
        self.retention_sweeps = Counter(
            "meshpipe_orchestrator_retention_sweeps",
            "Retention sweeps run (each logs what it deleted).",
            registry=r,
        )
        self.output_free_bytes = Gauge(
            "meshpipe_orchestrator_output_free_bytes",
            "Free bytes on the output volume at the last admission or sweep.",
            registry=r,
        )

    def _declare_stage_metrics(self, r: CollectorRegistry) -> None:
        self.stage_seconds = Histogram(
            "meshpipe_orchestrator_stage_seconds",
            "Stage call latency seen by the orchestrator (transfer included, queueing not), "
            "by outcome (gRPC code name).",
            ["stage", "code"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.stage_queue_wait = Histogram(
            "meshpipe_orchestrator_stage_queue_wait_seconds",
            "Time a stage call waited in the orchestrator's queue for that stage.",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.stage_queue_depth = Gauge(
            "meshpipe_orchestrator_stage_queue_depth",
            "Stage calls waiting in the orchestrator's queue for that stage.",
            ["stage"],
            registry=r,
        )
        self.stage_in_flight = Gauge(
            "meshpipe_orchestrator_stage_in_flight",
            "Stage calls in flight from the orchestrator to that stage.",
            ["stage"],
            registry=r,
        )
        self.stage_retries = Counter(
            "meshpipe_orchestrator_stage_retries",
            "Stage calls retried after the stage answered UNAVAILABLE.",
            ["stage"],
            registry=r,
        )
        self.load_ahead = Counter(
            "meshpipe_orchestrator_load_ahead",
            "Stage models loaded ahead of their first request (every leased stage fitted the "
            "budget and jobs were in flight).",
            ["stage"],
            registry=r,
        )
        self.dispatch_batched = Gauge(
            "meshpipe_orchestrator_dispatch_batched",
            "1 while the stages' GPU leases do not all fit the budget and leased stages run "
            "one batch at a time; 0 while they overlap.",
            registry=r,
        )
        self.dispatch_batches = Counter(
            "meshpipe_orchestrator_dispatch_batches",
            "Batches of one leased stage's calls started while leases do not all fit, by "
            "the policy's reason (aged, resident, fits, swap).",
            ["stage", "reason"],
            registry=r,
        )
