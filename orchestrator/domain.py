"""The orchestrator's domain values: jobs, objects, stage runs, artifacts.

Plain pydantic models (so that the job store can keep them as JSON); protobuf conversion
happens only in orchestrator.convert and orchestrator.stages.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field


class Stage(enum.StrEnum):
    """Stages of the pipeline, in order: the stage catalogue's names (`meshpipe.catalogue`;
    a test keeps the two equal). Members are spelled out because the orchestrator's job
    flow calls each stage by name."""

    DETECTOR = "detector"
    MATTING = "matting"
    SHAPE = "shape"
    TEXTURE = "texture"


class JobState(enum.StrEnum):
    """Lifecycle of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the terminal states."""
        return self not in (JobState.QUEUED, JobState.RUNNING)


class ObjectStatus(enum.StrEnum):
    """Where one object of a job stands."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class MatteSource(enum.StrEnum):
    """Where an object's matte came from."""

    MATTING = "matting"  # the matting stage
    PHOTO_ALPHA = "photo_alpha"  # remove_background=false, the photo's own alpha channel
    OPAQUE = "opaque"  # remove_background=false, no alpha: the whole crop is the object


class Box(BaseModel):
    """Axis-aligned box in pixels of the submitted photo (x2, y2 exclusive)."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        """Width in pixels."""
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        """Height in pixels."""
        return self.y2 - self.y1


class BackendRef(BaseModel):
    """Which model served a stage call."""

    backend: str = ""
    weights: str = ""
    device: str = ""


class StageReport(BaseModel):
    """What a stage reported about one call."""

    backend: BackendRef = Field(default_factory=BackendRef)
    inference_seconds: float = 0.0
    load_wait_seconds: float = 0.0
    step_seconds: dict[str, float] = Field(default_factory=dict)
    peak_device_bytes: int = 0


class StageRun(BaseModel):
    """One stage's work on one object, as the orchestrator saw it."""

    stage: Stage
    seconds: float
    report: StageReport


class Artifact(BaseModel):
    """A file a job produced, relative to the job's folder."""

    artifact_id: str
    kind: str
    relative_path: str
    size_bytes: int
    media_type: str
    sha256: str = ""  # lower-case hex; empty for artifacts recorded before it was kept


class JobOptions(BaseModel):
    """Resolved options of a job (0 means "the stage's default" for stage knobs)."""

    texture: bool = True
    seed: int = 0
    max_objects: int = 0
    steps: int = 0
    octree_resolution: int = 0
    guidance_scale: float = 0.0
    texture_size: int = 0
    min_area_fraction: float = 0.0
    nms_iou: float = 0.0
    crop_padding: float = 0.0
    quality: str = ""
    time_limit_seconds: float = 0.0
    formats: list[str] = Field(default_factory=list)
    target_faces: int = 0
    remove_background: bool = True


class JobRequest(BaseModel):
    """A submission, before validation. `seed` is None when the client left it to us."""

    image: bytes
    prompt: str = ""
    name: str = ""
    options: JobOptions = Field(default_factory=JobOptions)
    seed: int | None = None
    request_id: str = ""  # client-chosen id of the submission (idempotent retries)
    owner: str = "anonymous"  # principal that submits it


class DetectedObject(BaseModel):
    """An object the job will process."""

    index: int
    label: str
    box: Box
    score: float


class Detections(BaseModel):
    """The detector's answer for a job."""

    objects: list[DetectedObject]
    category_filtering_applied: bool = False
    notices: list[str] = Field(default_factory=list)
    backend: BackendRef = Field(default_factory=BackendRef)
    seconds: float = 0.0
    report: StageReport = Field(default_factory=StageReport)


class ObjectFailure(BaseModel):
    """Why an object failed."""

    stage: Stage
    code: str
    message: str


class ObjectSkip(BaseModel):
    """Why an object was left out without failing the job."""

    stage: Stage
    reason: str


class ObjectRecord(BaseModel):
    """Everything known about one object of a job; saved after every stage."""

    index: int
    label: str
    box: Box
    score: float
    crop_box: Box
    seed: int
    status: ObjectStatus = ObjectStatus.PENDING
    stages: list[StageRun] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)
    vertex_count: int = 0
    face_count: int = 0
    failure: ObjectFailure | None = None
    skip: ObjectSkip | None = None
    matte_source: MatteSource | None = None

    def artifact(self, kind: str) -> Artifact | None:
        """This object's artifact of a kind, if produced."""
        return next((a for a in self.artifacts if a.kind == kind), None)


class JobRecord(BaseModel):
    """Everything known about a job except its objects and events."""

    job_id: str
    name: str
    prompt: str
    options: JobOptions
    state: JobState = JobState.QUEUED
    created_at: float
    finished_at: float = 0.0
    image_width: int
    image_height: int
    input: Artifact
    output_dir: str  # server-side only: never sent to clients
    owner: str = "anonymous"  # principal that submitted it; only it sees the job
    request_id: str = ""  # SubmitJobRequest.request_id
    trace_id: str = ""  # x-request-id of the submission, on every log line of the job
    detections: Detections | None = None
    objects_total: int = 0
    objects_succeeded: int = 0
    objects_failed: int = 0
    objects_skipped: int = 0
    error: str = ""
    manifest: Artifact | None = None
    scene: Artifact | None = None
    contact_sheet: Artifact | None = None


class JobSummary(BaseModel):
    """Status of a job for listings."""

    job_id: str
    state: JobState
    name: str
    prompt: str
    created_at: float
    finished_at: float
    objects_total: int
    objects_succeeded: int
    objects_failed: int
    objects_skipped: int = 0
    error: str
    request_id: str = ""

    @classmethod
    def of(cls, job: JobRecord) -> JobSummary:
        """The summary of a job record."""
        return cls(**job.model_dump(include=set(cls.model_fields)))
