"""The one place where the orchestrator's API messages meet its domain models."""

from __future__ import annotations

from meshpipe.v1 import common_pb2
from meshpipe.v1 import orchestrator_pb2 as pb
from orchestrator.domain import (
    Artifact,
    BackendRef,
    Box,
    Detections,
    JobOptions,
    JobRequest,
    JobState,
    JobSummary,
    Stage,
    StageReport,
    StageRun,
)
from orchestrator.events import (
    DetectionsFound,
    JobAccepted,
    JobDone,
    JobEvent,
    JobQueued,
    ObjectError,
    ObjectProgress,
    ObjectResult,
    ObjectSkipped,
)

_STAGE_TO_PB = {
    Stage.DETECTOR: pb.STAGE_DETECTOR,
    Stage.MATTING: pb.STAGE_MATTING,
    Stage.SHAPE: pb.STAGE_SHAPE,
    Stage.TEXTURE: pb.STAGE_TEXTURE,
}
_STATE_TO_PB = {
    JobState.QUEUED: pb.JOB_STATE_QUEUED,
    JobState.RUNNING: pb.JOB_STATE_RUNNING,
    JobState.SUCCEEDED: pb.JOB_STATE_SUCCEEDED,
    JobState.PARTIAL: pb.JOB_STATE_PARTIAL,
    JobState.FAILED: pb.JOB_STATE_FAILED,
    JobState.CANCELLED: pb.JOB_STATE_CANCELLED,
}


def job_request_from_pb(request: pb.SubmitJobRequest) -> JobRequest:
    """A SubmitJobRequest as a domain request (not validated yet)."""
    o = request.options
    options = JobOptions(
        texture=o.texture if o.HasField("texture") else True,
        max_objects=o.max_objects,
        steps=o.shape.steps,
        octree_resolution=o.shape.octree_resolution,
        guidance_scale=o.shape.guidance_scale,
        texture_size=o.texture_options.texture_size,
        min_area_fraction=o.detector.min_area_fraction,
        nms_iou=o.detector.nms_iou,
        crop_padding=o.detector.crop_padding,
        quality=o.quality,
        time_limit_seconds=o.time_limit_seconds,
        formats=list(o.formats),
        target_faces=o.target_faces,
        remove_background=o.remove_background if o.HasField("remove_background") else True,
    )
    return JobRequest(
        image=request.image,
        prompt=request.prompt,
        name=request.name,
        options=options,
        seed=o.seed if o.HasField("seed") else None,
        request_id=request.request_id,
    )


def state_to_pb(state: JobState) -> pb.JobState:
    """A job state as its enum value."""
    return _STATE_TO_PB[state]


def box_to_pb(box: Box) -> common_pb2.Box:
    """A box as a Box message."""
    return common_pb2.Box(x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2)


def backend_to_pb(backend: BackendRef) -> common_pb2.BackendInfo:
    """A backend reference as a BackendInfo message."""
    return common_pb2.BackendInfo(
        backend=backend.backend, weights=backend.weights, device=backend.device
    )


def report_to_pb(report: StageReport) -> common_pb2.StageReport:
    """A stage report as a StageReport message."""
    return common_pb2.StageReport(
        backend=backend_to_pb(report.backend),
        inference_seconds=report.inference_seconds,
        load_wait_seconds=report.load_wait_seconds,
        step_seconds=report.step_seconds,
        peak_device_bytes=report.peak_device_bytes,
    )


def stage_run_to_pb(run: StageRun) -> pb.StageRun:
    """A stage run as a StageRun message."""
    return pb.StageRun(
        stage=_STAGE_TO_PB[run.stage],
        backend=backend_to_pb(run.report.backend),
        seconds=run.seconds,
        report=report_to_pb(run.report),
    )


def artifact_to_pb(artifact: Artifact) -> pb.Artifact:
    """An artifact as an Artifact message."""
    return pb.Artifact(**artifact.model_dump())


def summary_to_pb(summary: JobSummary) -> pb.JobSummary:
    """A job summary as a JobSummary message."""
    fields = summary.model_dump(exclude={"state"})
    out = pb.JobSummary(state=state_to_pb(summary.state), **fields)
    out.created_time.FromNanoseconds(round(summary.created_at * 1e9))
    if summary.finished_at:
        out.finished_time.FromNanoseconds(round(summary.finished_at * 1e9))
    return out


def detections_to_pb(d: Detections) -> pb.Detections:
    """The detector's answer as a Detections message."""
    return pb.Detections(
        objects=[
            pb.DetectedObject(
                object_index=o.index, label=o.label, box=box_to_pb(o.box), score=o.score
            )
            for o in d.objects
        ],
        category_filtering_applied=d.category_filtering_applied,
        notices=d.notices,
        backend=backend_to_pb(d.backend),
        seconds=d.seconds,
        report=report_to_pb(d.report),
    )


def result_to_pb(r: ObjectResult) -> pb.ObjectResult:
    """An object result as an ObjectResult message."""
    return pb.ObjectResult(
        object_index=r.index,
        label=r.label,
        box=box_to_pb(r.box),
        stages=[stage_run_to_pb(s) for s in r.stages],
        artifacts=[artifact_to_pb(a) for a in r.artifacts],
        vertex_count=r.vertex_count,
        face_count=r.face_count,
        scene=None if r.scene is None else artifact_to_pb(r.scene),
        target_faces=r.target_faces,
    )


def skipped_to_pb(s: ObjectSkipped) -> pb.ObjectSkipped:
    """A skipped object as an ObjectSkipped message."""
    return pb.ObjectSkipped(object_index=s.index, stage=_STAGE_TO_PB[s.stage], reason=s.reason)


def error_to_pb(e: ObjectError) -> pb.ObjectError:
    """An object error as an ObjectError message."""
    return pb.ObjectError(
        object_index=e.index, stage=_STAGE_TO_PB[e.stage], code=e.code, message=e.message
    )


def event_to_pb(event: JobEvent) -> pb.JobEvent:
    """A domain event as a JobEvent message."""
    out = pb.JobEvent(job_id=event.job_id, sequence=event.sequence)
    p = event.payload
    if isinstance(p, JobAccepted):
        out.accepted.CopyFrom(
            pb.JobAccepted(image_width=p.image_width, image_height=p.image_height, seed=p.seed)
        )
    elif isinstance(p, JobQueued):
        out.queued.CopyFrom(pb.JobQueued(position=p.position))
    elif isinstance(p, DetectionsFound):
        out.detections.CopyFrom(detections_to_pb(p.detections))
    elif isinstance(p, ObjectProgress):
        out.progress.CopyFrom(
            pb.ObjectProgress(
                object_index=p.index,
                stage=_STAGE_TO_PB[p.stage],
                finished=p.finished,
                seconds=p.seconds,
            )
        )
    elif isinstance(p, ObjectResult):
        out.result.CopyFrom(result_to_pb(p))
    elif isinstance(p, ObjectError):
        out.error.CopyFrom(error_to_pb(p))
    elif isinstance(p, ObjectSkipped):
        out.skipped.CopyFrom(skipped_to_pb(p))
    elif isinstance(p, JobDone):
        out.done.CopyFrom(done_to_pb(p))
    return out


def done_to_pb(p: JobDone) -> pb.JobDone:
    """The done event as a JobDone message."""
    done = pb.JobDone(summary=summary_to_pb(p.summary), total_seconds=p.total_seconds)
    for field, artifact in (
        ("manifest", p.manifest),
        ("scene", p.scene),
        ("contact_sheet", p.contact_sheet),
    ):
        if artifact is not None:
            getattr(done, field).CopyFrom(artifact_to_pb(artifact))
    return done
