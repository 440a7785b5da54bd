from meshpipe.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DetectRequest(_message.Message):
    __slots__ = ("image", "prompt", "max_objects", "min_area_fraction", "nms_iou")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    MIN_AREA_FRACTION_FIELD_NUMBER: _ClassVar[int]
    NMS_IOU_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    prompt: str
    max_objects: int
    min_area_fraction: float
    nms_iou: float
    def __init__(self, image: _Optional[bytes] = ..., prompt: _Optional[str] = ..., max_objects: _Optional[int] = ..., min_area_fraction: _Optional[float] = ..., nms_iou: _Optional[float] = ...) -> None: ...

class Detection(_message.Message):
    __slots__ = ("box", "label", "score")
    BOX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    box: _common_pb2.Box
    label: str
    score: float
    def __init__(self, box: _Optional[_Union[_common_pb2.Box, _Mapping]] = ..., label: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("detections", "category_filtering_applied", "notices", "image_width", "image_height", "report")
    DETECTIONS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FILTERING_APPLIED_FIELD_NUMBER: _ClassVar[int]
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    detections: _containers.RepeatedCompositeFieldContainer[Detection]
    category_filtering_applied: bool
    notices: _containers.RepeatedScalarFieldContainer[str]
    image_width: int
    image_height: int
    report: _common_pb2.StageReport
    def __init__(self, detections: _Optional[_Iterable[_Union[Detection, _Mapping]]] = ..., category_filtering_applied: _Optional[bool] = ..., notices: _Optional[_Iterable[str]] = ..., image_width: _Optional[int] = ..., image_height: _Optional[int] = ..., report: _Optional[_Union[_common_pb2.StageReport, _Mapping]] = ...) -> None: ...

class MatteRequest(_message.Message):
    __slots__ = ("image",)
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    def __init__(self, image: _Optional[bytes] = ...) -> None: ...

class MatteResponse(_message.Message):
    __slots__ = ("rgba_png", "foreground_fraction", "report")
    RGBA_PNG_FIELD_NUMBER: _ClassVar[int]
    FOREGROUND_FRACTION_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    rgba_png: bytes
    foreground_fraction: float
    report: _common_pb2.StageReport
    def __init__(self, rgba_png: _Optional[bytes] = ..., foreground_fraction: _Optional[float] = ..., report: _Optional[_Union[_common_pb2.StageReport, _Mapping]] = ...) -> None: ...

class GenerateShapeRequest(_message.Message):
    __slots__ = ("rgba_png", "seed", "steps", "octree_resolution", "guidance_scale", "target_faces")
    RGBA_PNG_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    OCTREE_RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCALE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FACES_FIELD_NUMBER: _ClassVar[int]
    rgba_png: bytes
    seed: int
    steps: int
    octree_resolution: int
    guidance_scale: float
    target_faces: int
    def __init__(self, rgba_png: _Optional[bytes] = ..., seed: _Optional[int] = ..., steps: _Optional[int] = ..., octree_resolution: _Optional[int] = ..., guidance_scale: _Optional[float] = ..., target_faces: _Optional[int] = ...) -> None: ...

class GenerateShapeResponse(_message.Message):
    __slots__ = ("mesh_glb", "vertex_count", "face_count", "watertight", "report")
    MESH_GLB_FIELD_NUMBER: _ClassVar[int]
    VERTEX_COUNT_FIELD_NUMBER: _ClassVar[int]
    FACE_COUNT_FIELD_NUMBER: _ClassVar[int]
    WATERTIGHT_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    mesh_glb: bytes
    vertex_count: int
    face_count: int
    watertight: bool
    report: _common_pb2.StageReport
    def __init__(self, mesh_glb: _Optional[bytes] = ..., vertex_count: _Optional[int] = ..., face_count: _Optional[int] = ..., watertight: _Optional[bool] = ..., report: _Optional[_Union[_common_pb2.StageReport, _Mapping]] = ...) -> None: ...

class GenerateShapeBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[GenerateShapeRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[GenerateShapeRequest, _Mapping]]] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ShapeBatchItem(_message.Message):
    __slots__ = ("result", "error")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    result: GenerateShapeResponse
    error: ItemError
    def __init__(self, result: _Optional[_Union[GenerateShapeResponse, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class GenerateShapeBatchResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ShapeBatchItem]
    def __init__(self, items: _Optional[_Iterable[_Union[ShapeBatchItem, _Mapping]]] = ...) -> None: ...

class PaintTextureRequest(_message.Message):
    __slots__ = ("mesh_glb", "rgba_png", "texture_size", "seed")
    MESH_GLB_FIELD_NUMBER: _ClassVar[int]
    RGBA_PNG_FIELD_NUMBER: _ClassVar[int]
    TEXTURE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    mesh_glb: bytes
    rgba_png: bytes
    texture_size: int
    seed: int
    def __init__(self, mesh_glb: _Optional[bytes] = ..., rgba_png: _Optional[bytes] = ..., texture_size: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class PaintTextureResponse(_message.Message):
    __slots__ = ("textured_glb", "texture_size", "report")
    TEXTURED_GLB_FIELD_NUMBER: _ClassVar[int]
    TEXTURE_SIZE_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    textured_glb: bytes
    texture_size: int
    report: _common_pb2.StageReport
    def __init__(self, textured_glb: _Optional[bytes] = ..., texture_size: _Optional[int] = ..., report: _Optional[_Union[_common_pb2.StageReport, _Mapping]] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("stage", "backend", "footprint_estimate_bytes", "state", "park_after_seconds", "unload_after_seconds", "version")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    FOOTPRINT_ESTIMATE_BYTES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARK_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    UNLOAD_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    stage: str
    backend: _common_pb2.BackendInfo
    footprint_estimate_bytes: int
    state: _common_pb2.ModelState
    park_after_seconds: float
    unload_after_seconds: float
    version: str
    def __init__(self, stage: _Optional[str] = ..., backend: _Optional[_Union[_common_pb2.BackendInfo, _Mapping]] = ..., footprint_estimate_bytes: _Optional[int] = ..., state: _Optional[_Union[_common_pb2.ModelState, str]] = ..., park_after_seconds: _Optional[float] = ..., unload_after_seconds: _Optional[float] = ..., version: _Optional[str] = ...) -> None: ...

class LoadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LoadResponse(_message.Message):
    __slots__ = ("state", "seconds")
    STATE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.ModelState
    seconds: float
    def __init__(self, state: _Optional[_Union[_common_pb2.ModelState, str]] = ..., seconds: _Optional[float] = ...) -> None: ...

class UnloadRequest(_message.Message):
    __slots__ = ("target", "wait_for_idle")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_IDLE_FIELD_NUMBER: _ClassVar[int]
    target: _common_pb2.ModelState
    wait_for_idle: bool
    def __init__(self, target: _Optional[_Union[_common_pb2.ModelState, str]] = ..., wait_for_idle: _Optional[bool] = ...) -> None: ...

class UnloadResponse(_message.Message):
    __slots__ = ("state", "seconds")
    STATE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.ModelState
    seconds: float
    def __init__(self, state: _Optional[_Union[_common_pb2.ModelState, str]] = ..., seconds: _Optional[float] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("state", "in_flight", "queued", "idle_seconds", "cold_loads", "wakes", "parks", "unloads", "requests", "device_allocated_bytes", "device_reserved_bytes", "footprint_bytes")
    STATE_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    IDLE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COLD_LOADS_FIELD_NUMBER: _ClassVar[int]
    WAKES_FIELD_NUMBER: _ClassVar[int]
    PARKS_FIELD_NUMBER: _ClassVar[int]
    UNLOADS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ALLOCATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_RESERVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    FOOTPRINT_BYTES_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.ModelState
    in_flight: int
    queued: int
    idle_seconds: float
    cold_loads: int
    wakes: int
    parks: int
    unloads: int
    requests: int
    device_allocated_bytes: int
    device_reserved_bytes: int
    footprint_bytes: int
    def __init__(self, state: _Optional[_Union[_common_pb2.ModelState, str]] = ..., in_flight: _Optional[int] = ..., queued: _Optional[int] = ..., idle_seconds: _Optional[float] = ..., cold_loads: _Optional[int] = ..., wakes: _Optional[int] = ..., parks: _Optional[int] = ..., unloads: _Optional[int] = ..., requests: _Optional[int] = ..., device_allocated_bytes: _Optional[int] = ..., device_reserved_bytes: _Optional[int] = ..., footprint_bytes: _Optional[int] = ...) -> None: ...
