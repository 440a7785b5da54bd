"""Events of a job's stream (accepted, queued, detections, progress, result, error, skipped,
done)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from orchestrator.domain import (
    Artifact,
    Box,
    Detections,
    JobSummary,
    MatteSource,
    ObjectRecord,
    Stage,
    StageRun,
)


class JobAccepted(BaseModel):
    """First event of every job."""

    kind: Literal["accepted"] = "accepted"
    image_width: int
    image_height: int
    seed: int


class JobQueued(BaseModel):
    """The job waits for a running slot; `position` jobs are ahead of it (0 = next)."""

    kind: Literal["queued"] = "queued"
    position: int


class DetectionsFound(BaseModel):
    """The detector's answer (objects to process, notices)."""

    kind: Literal["detections"] = "detections"
    detections: Detections


class ObjectProgress(BaseModel):
    """An object entered (finished=False) or left (finished=True) a stage."""

    kind: Literal["progress"] = "progress"
    index: int
    stage: Stage
    finished: bool
    seconds: float = 0.0


class ObjectResult(BaseModel):
    """An object finished every stage it needed."""

    kind: Literal["result"] = "result"
    index: int
    label: str
    box: Box
    stages: list[StageRun]
    artifacts: list[Artifact]
    vertex_count: int
    face_count: int
    scene: Artifact | None = None
    target_faces: int = 0
    matte_source: MatteSource | None = None

    @classmethod
    def of(cls, obj: ObjectRecord, scene: Artifact | None, target_faces: int) -> ObjectResult:
        """The result event of a finished object (`scene`: the job's scene with it in)."""
        return cls(
            index=obj.index,
            label=obj.label,
            box=obj.box,
            stages=obj.stages,
            artifacts=obj.artifacts,
            vertex_count=obj.vertex_count,
            face_count=obj.face_count,
            scene=scene,
            target_faces=target_faces,
            matte_source=obj.matte_source,
        )


class ObjectError(BaseModel):
    """An object failed (or was cancelled); its siblings carry on."""

    kind: Literal["error"] = "error"
    index: int
    stage: Stage
    code: str
    message: str

    @classmethod
    def of(cls, obj: ObjectRecord) -> ObjectError:
        """The error event of a failed object."""
        if obj.failure is None:
            raise ValueError(f"object {obj.index} has not failed")
        return cls(index=obj.index, **obj.failure.model_dump())


class ObjectSkipped(BaseModel):
    """An object was left out (e.g. its matte is empty); not a failure."""

    kind: Literal["skipped"] = "skipped"
    index: int
    stage: Stage
    reason: str

    @classmethod
    def of(cls, obj: ObjectRecord) -> ObjectSkipped:
        """The skipped event of a skipped object."""
        if obj.skip is None:
            raise ValueError(f"object {obj.index} was not skipped")
        return cls(index=obj.index, stage=obj.skip.stage, reason=obj.skip.reason)


class JobDone(BaseModel):
    """Last event of every job."""

    kind: Literal["done"] = "done"
    summary: JobSummary
    manifest: Artifact | None
    total_seconds: float
    scene: Artifact | None = None
    contact_sheet: Artifact | None = None


Payload = Annotated[
    JobAccepted
    | JobQueued
    | DetectionsFound
    | ObjectProgress
    | ObjectResult
    | ObjectError
    | ObjectSkipped
    | JobDone,
    Field(discriminator="kind"),
]


class JobEvent(BaseModel):
    """One event of a job's stream: sequence numbers start at 0 and have no gaps."""

    job_id: str
    sequence: int
    payload: Payload
