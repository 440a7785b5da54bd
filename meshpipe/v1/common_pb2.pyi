from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_STATE_UNSPECIFIED: _ClassVar[ModelState]
    MODEL_STATE_COLD: _ClassVar[ModelState]
    MODEL_STATE_LOADING: _ClassVar[ModelState]
    MODEL_STATE_RESIDENT: _ClassVar[ModelState]
    MODEL_STATE_PARKED: _ClassVar[ModelState]
    MODEL_STATE_UNLOADING: _ClassVar[ModelState]
MODEL_STATE_UNSPECIFIED: ModelState
MODEL_STATE_COLD: ModelState
MODEL_STATE_LOADING: ModelState
MODEL_STATE_RESIDENT: ModelState
MODEL_STATE_PARKED: ModelState
MODEL_STATE_UNLOADING: ModelState

class Box(_message.Message):
    __slots__ = ("x1", "y1", "x2", "y2")
    X1_FIELD_NUMBER: _ClassVar[int]
    Y1_FIELD_NUMBER: _ClassVar[int]
    X2_FIELD_NUMBER: _ClassVar[int]
    Y2_FIELD_NUMBER: _ClassVar[int]
    x1: float
    y1: float
    x2: float
    y2: float
    def __init__(self, x1: _Optional[float] = ..., y1: _Optional[float] = ..., x2: _Optional[float] = ..., y2: _Optional[float] = ...) -> None: ...

class BackendInfo(_message.Message):
    __slots__ = ("backend", "weights", "device")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    backend: str
    weights: str
    device: str
    def __init__(self, backend: _Optional[str] = ..., weights: _Optional[str] = ..., device: _Optional[str] = ...) -> None: ...

class StageReport(_message.Message):
    __slots__ = ("backend", "inference_seconds", "load_wait_seconds", "step_seconds", "peak_device_bytes")
    class StepSecondsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LOAD_WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PEAK_DEVICE_BYTES_FIELD_NUMBER: _ClassVar[int]
    backend: BackendInfo
    inference_seconds: float
    load_wait_seconds: float
    step_seconds: _containers.ScalarMap[str, float]
    peak_device_bytes: int
    def __init__(self, backend: _Optional[_Union[BackendInfo, _Mapping]] = ..., inference_seconds: _Optional[float] = ..., load_wait_seconds: _Optional[float] = ..., step_seconds: _Optional[_Mapping[str, float]] = ..., peak_device_bytes: _Optional[int] = ...) -> None: ...
