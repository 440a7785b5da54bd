import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from meshpipe.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_PARTIAL: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class Stage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_UNSPECIFIED: _ClassVar[Stage]
    STAGE_DETECTOR: _ClassVar[Stage]
    STAGE_MATTING: _ClassVar[Stage]
    STAGE_SHAPE: _ClassVar[Stage]
    STAGE_TEXTURE: _ClassVar[Stage]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_PARTIAL: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
STAGE_UNSPECIFIED: Stage
STAGE_DETECTOR: Stage
STAGE_MATTING: Stage
STAGE_SHAPE: Stage
STAGE_TEXTURE: Stage

class ShapeOptions(_message.Message):
    __slots__ = ("steps", "octree_resolution", "guidance_scale")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    OCTREE_RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCALE_FIELD_NUMBER: _ClassVar[int]
    steps: int
    octree_resolution: int
    guidance_scale: float
    def __init__(self, steps: _Optional[int] = ..., octree_resolution: _Optional[int] = ..., guidance_scale: _Optional[float] = ...) -> None: ...

class TextureOptions(_message.Message):
    __slots__ = ("texture_size",)
    TEXTURE_SIZE_FIELD_NUMBER: _ClassVar[int]
    texture_size: int
    def __init__(self, texture_size: _Optional[int] = ...) -> None: ...

class DetectorOptions(_message.Message):
    __slots__ = ("min_area_fraction", "nms_iou", "crop_padding")
    MIN_AREA_FRACTION_FIELD_NUMBER: _ClassVar[int]
    NMS_IOU_FIELD_NUMBER: _ClassVar[int]
    CROP_PADDING_FIELD_NUMBER: _ClassVar[int]
    min_area_fraction: float
    nms_iou: float
    crop_padding: float
    def __init__(self, min_area_fraction: _Optional[float] = ..., nms_iou: _Optional[float] = ..., crop_padding: _Optional[float] = ...) -> None: ...

class JobOptions(_message.Message):
    __slots__ = ("texture", "seed", "max_objects", "shape", "texture_options", "detector", "quality", "formats", "target_faces", "remove_background", "time_limit_seconds")
    TEXTURE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MAX_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    TEXTURE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FACES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    texture: bool
    seed: int
    max_objects: int
    shape: ShapeOptions
    texture_options: TextureOptions
    detector: DetectorOptions
    quality: str
    formats: _containers.RepeatedScalarFieldContainer[str]
    target_faces: int
    remove_background: bool
    time_limit_seconds: float
    def __init__(self, texture: _Optional[bool] = ..., seed: _Optional[int] = ..., max_objects: _Optional[int] = ..., shape: _Optional[_Union[ShapeOptions, _Mapping]] = ..., texture_options: _Optional[_Union[TextureOptions, _Mapping]] = ..., detector: _Optional[_Union[DetectorOptions, _Mapping]] = ..., quality: _Optional[str] = ..., formats: _Optional[_Iterable[str]] = ..., target_faces: _Optional[int] = ..., remove_background: _Optional[bool] = ..., time_limit_seconds: _Optional[float] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("image", "prompt", "options", "name", "request_id")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    prompt: str
    options: JobOptions
    name: str
    request_id: str
    def __init__(self, image: _Optional[bytes] = ..., prompt: _Optional[str] = ..., options: _Optional[_Union[JobOptions, _Mapping]] = ..., name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class JobAccepted(_message.Message):
    __slots__ = ("image_width", "image_height", "seed")
    IMAGE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    image_width: int
    image_height: int
    seed: int
    def __init__(self, image_width: _Optional[int] = ..., image_height: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class DetectedObject(_message.Message):
    __slots__ = ("object_index", "label", "box", "score")
    OBJECT_INDEX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    object_index: int
    label: str
    box: _common_pb2.Box
    score: float
    def __init__(self, object_index: _Optional[int] = ..., label: _Optional[str] = ..., box: _Optional[_Union[_common_pb2.Box, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class Detections(_message.Message):
    __slots__ = ("objects", "category_filtering_applied", "notices", "backend", "seconds", "report")
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FILTERING_APPLIED_FIELD_NUMBER: _ClassVar[int]
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    objects: _containers.RepeatedCompositeFieldContainer[DetectedObject]
    category_filtering_applied: bool
    notices: _containers.RepeatedScalarFieldContainer[str]
    backend: _common_pb2.BackendInfo
    seconds: float
    report: _common_pb2.StageReport
    def __init__(self, objects: _Optional[_Iterable[_Union[DetectedObject, _Mapping]]] = ..., category_filtering_applied: _Optional[bool] = ..., notices: _Optional[_Iterable[str]] = ..., backend: _Optional[_Union[_common_pb2.BackendInfo, _Mapping]] = ..., seconds: _Optional[float] = ..., report: _Optional[_Union[_common_pb2.StageReport, _Mapping]] = ...) -> None: ...

class ObjectProgress(_message.Message):
    __slots__ = ("object_index", "stage", "finished", "seconds")
    OBJECT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    object_index: int
    stage: Stage
    finished: bool
    seconds: float
    def __init__(self, object_index: _Optional[int] = ..., stage: _Optional[_Union[Stage, str]] = ..., finished: _Optional[bool] = ..., seconds: _Optional[float] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("artifact_id", "kind", "relative_path", "size_bytes", "media_type", "sha256")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    kind: str
    relative_path: str
    size_bytes: int
    media_type: str
    sha256: str
    def __init__(self, artifact_id: _Optional[str] = ..., kind: _Optional[str] = ..., relative_path: _Optional[str] = ..., size_bytes: _Optional[int] = ..., media_type: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class StageRun(_message.Message):
    __slots__ = ("stage", "backend", "seconds", "report")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    backend: _common_pb2.BackendInfo
    seconds: float
    report: _common_pb2.StageReport
    def __init__(self, stage: _Optional[_Union[Stage, str]] = ..., backend: _Optional[_Union[_common_pb2.BackendInfo, _Mapping]] = ..., seconds: _Optional[float] = ..., report: _Optional[_Union[_common_pb2.StageReport, _Mapping]] = ...) -> None: ...

class ObjectResult(_message.Message):
    __slots__ = ("object_index", "label", "box", "stages", "artifacts", "vertex_count", "face_count", "scene", "target_faces")
    OBJECT_INDEX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    VERTEX_COUNT_FIELD_NUMBER: _ClassVar[int]
    FACE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FACES_FIELD_NUMBER: _ClassVar[int]
    object_index: int
    label: str
    box: _common_pb2.Box
    stages: _containers.RepeatedCompositeFieldContainer[StageRun]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    vertex_count: int
    face_count: int
    scene: Artifact
    target_faces: int
    def __init__(self, object_index: _Optional[int] = ..., label: _Optional[str] = ..., box: _Optional[_Union[_common_pb2.Box, _Mapping]] = ..., stages: _Optional[_Iterable[_Union[StageRun, _Mapping]]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., vertex_count: _Optional[int] = ..., face_count: _Optional[int] = ..., scene: _Optional[_Union[Artifact, _Mapping]] = ..., target_faces: _Optional[int] = ...) -> None: ...

class ObjectSkipped(_message.Message):
    __slots__ = ("object_index", "stage", "reason")
    OBJECT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    object_index: int
    stage: Stage
    reason: str
    def __init__(self, object_index: _Optional[int] = ..., stage: _Optional[_Union[Stage, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class JobQueued(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("elapsed_seconds",)
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    elapsed_seconds: float
    def __init__(self, elapsed_seconds: _Optional[float] = ...) -> None: ...

class ObjectError(_message.Message):
    __slots__ = ("object_index", "stage", "code", "message")
    OBJECT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    object_index: int
    stage: Stage
    code: str
    message: str
    def __init__(self, object_index: _Optional[int] = ..., stage: _Optional[_Union[Stage, str]] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class JobSummary(_message.Message):
    __slots__ = ("job_id", "state", "name", "prompt", "created_at", "finished_at", "objects_total", "objects_succeeded", "objects_failed", "error", "output_dir", "objects_skipped", "request_id", "created_time", "finished_time")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FAILED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISHED_TIME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    name: str
    prompt: str
    created_at: float
    finished_at: float
    objects_total: int
    objects_succeeded: int
    objects_failed: int
    error: str
    output_dir: str
    objects_skipped: int
    request_id: str
    created_time: _timestamp_pb2.Timestamp
    finished_time: _timestamp_pb2.Timestamp
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., name: _Optional[str] = ..., prompt: _Optional[str] = ..., created_at: _Optional[float] = ..., finished_at: _Optional[float] = ..., objects_total: _Optional[int] = ..., objects_succeeded: _Optional[int] = ..., objects_failed: _Optional[int] = ..., error: _Optional[str] = ..., output_dir: _Optional[str] = ..., objects_skipped: _Optional[int] = ..., request_id: _Optional[str] = ..., created_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JobDone(_message.Message):
    __slots__ = ("summary", "manifest", "total_seconds", "scene", "contact_sheet")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    CONTACT_SHEET_FIELD_NUMBER: _ClassVar[int]
    summary: JobSummary
    manifest: Artifact
    total_seconds: float
    scene: Artifact
    contact_sheet: Artifact
    def __init__(self, summary: _Optional[_Union[JobSummary, _Mapping]] = ..., manifest: _Optional[_Union[Artifact, _Mapping]] = ..., total_seconds: _Optional[float] = ..., scene: _Optional[_Union[Artifact, _Mapping]] = ..., contact_sheet: _Optional[_Union[Artifact, _Mapping]] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "sequence", "accepted", "detections", "progress", "result", "error", "done", "skipped", "queued", "heartbeat")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DETECTIONS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    sequence: int
    accepted: JobAccepted
    detections: Detections
    progress: ObjectProgress
    result: ObjectResult
    error: ObjectError
    done: JobDone
    skipped: ObjectSkipped
    queued: JobQueued
    heartbeat: Heartbeat
    def __init__(self, job_id: _Optional[str] = ..., sequence: _Optional[int] = ..., accepted: _Optional[_Union[JobAccepted, _Mapping]] = ..., detections: _Optional[_Union[Detections, _Mapping]] = ..., progress: _Optional[_Union[ObjectProgress, _Mapping]] = ..., result: _Optional[_Union[ObjectResult, _Mapping]] = ..., error: _Optional[_Union[ObjectError, _Mapping]] = ..., done: _Optional[_Union[JobDone, _Mapping]] = ..., skipped: _Optional[_Union[ObjectSkipped, _Mapping]] = ..., queued: _Optional[_Union[JobQueued, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id", "from_sequence")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    from_sequence: int
    def __init__(self, job_id: _Optional[str] = ..., from_sequence: _Optional[int] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("summary", "results", "errors", "skipped")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    summary: JobSummary
    results: _containers.RepeatedCompositeFieldContainer[ObjectResult]
    errors: _containers.RepeatedCompositeFieldContainer[ObjectError]
    skipped: _containers.RepeatedCompositeFieldContainer[ObjectSkipped]
    def __init__(self, summary: _Optional[_Union[JobSummary, _Mapping]] = ..., results: _Optional[_Iterable[_Union[ObjectResult, _Mapping]]] = ..., errors: _Optional[_Iterable[_Union[ObjectError, _Mapping]]] = ..., skipped: _Optional[_Iterable[_Union[ObjectSkipped, _Mapping]]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    def __init__(self, state: _Optional[_Union[JobState, str]] = ...) -> None: ...

class DeleteJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DeleteJobResponse(_message.Message):
    __slots__ = ("freed_bytes",)
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    freed_bytes: int
    def __init__(self, freed_bytes: _Optional[int] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("limit", "page_size", "page_token", "states")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[JobState]
    def __init__(self, limit: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[JobState, str]]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[JobSummary]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[JobSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DownloadArtifactRequest(_message.Message):
    __slots__ = ("artifact_id", "offset")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    offset: int
    def __init__(self, artifact_id: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class ArtifactChunk(_message.Message):
    __slots__ = ("data", "offset", "total_size")
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    total_size: int
    def __init__(self, data: _Optional[bytes] = ..., offset: _Optional[int] = ..., total_size: _Optional[int] = ...) -> None: ...
