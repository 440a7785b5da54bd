from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HoldOpen(_message.Message):
    __slots__ = ("stage", "holder_id", "device_index", "pid", "can_release_context")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_INDEX_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    CAN_RELEASE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    stage: str
    holder_id: str
    device_index: int
    pid: int
    can_release_context: bool
    def __init__(self, stage: _Optional[str] = ..., holder_id: _Optional[str] = ..., device_index: _Optional[int] = ..., pid: _Optional[int] = ..., can_release_context: _Optional[bool] = ...) -> None: ...

class HoldAcquire(_message.Message):
    __slots__ = ("model_bytes", "priority", "max_wait_seconds")
    MODEL_BYTES_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MAX_WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    model_bytes: int
    priority: int
    max_wait_seconds: float
    def __init__(self, model_bytes: _Optional[int] = ..., priority: _Optional[int] = ..., max_wait_seconds: _Optional[float] = ...) -> None: ...

class HoldRelease(_message.Message):
    __slots__ = ("context_released",)
    CONTEXT_RELEASED_FIELD_NUMBER: _ClassVar[int]
    context_released: bool
    def __init__(self, context_released: _Optional[bool] = ...) -> None: ...

class HoldHeartbeat(_message.Message):
    __slots__ = ("sequence", "busy", "idle_seconds", "device_bytes")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    BUSY_FIELD_NUMBER: _ClassVar[int]
    IDLE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_BYTES_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    busy: bool
    idle_seconds: float
    device_bytes: int
    def __init__(self, sequence: _Optional[int] = ..., busy: _Optional[bool] = ..., idle_seconds: _Optional[float] = ..., device_bytes: _Optional[int] = ...) -> None: ...

class HoldReportPeak(_message.Message):
    __slots__ = ("model_peak_bytes",)
    MODEL_PEAK_BYTES_FIELD_NUMBER: _ClassVar[int]
    model_peak_bytes: int
    def __init__(self, model_peak_bytes: _Optional[int] = ...) -> None: ...

class HoldRequest(_message.Message):
    __slots__ = ("open", "acquire", "release", "heartbeat", "report_peak")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    ACQUIRE_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    REPORT_PEAK_FIELD_NUMBER: _ClassVar[int]
    open: HoldOpen
    acquire: HoldAcquire
    release: HoldRelease
    heartbeat: HoldHeartbeat
    report_peak: HoldReportPeak
    def __init__(self, open: _Optional[_Union[HoldOpen, _Mapping]] = ..., acquire: _Optional[_Union[HoldAcquire, _Mapping]] = ..., release: _Optional[_Union[HoldRelease, _Mapping]] = ..., heartbeat: _Optional[_Union[HoldHeartbeat, _Mapping]] = ..., report_peak: _Optional[_Union[HoldReportPeak, _Mapping]] = ...) -> None: ...

class HoldOpened(_message.Message):
    __slots__ = ("ttl_seconds", "heartbeat_seconds", "budget_bytes", "context_bytes")
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_BYTES_FIELD_NUMBER: _ClassVar[int]
    ttl_seconds: float
    heartbeat_seconds: float
    budget_bytes: int
    context_bytes: int
    def __init__(self, ttl_seconds: _Optional[float] = ..., heartbeat_seconds: _Optional[float] = ..., budget_bytes: _Optional[int] = ..., context_bytes: _Optional[int] = ...) -> None: ...

class HoldQueued(_message.Message):
    __slots__ = ("position", "granted_bytes")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    GRANTED_BYTES_FIELD_NUMBER: _ClassVar[int]
    position: int
    granted_bytes: int
    def __init__(self, position: _Optional[int] = ..., granted_bytes: _Optional[int] = ...) -> None: ...

class HoldGranted(_message.Message):
    __slots__ = ("model_bytes", "context_bytes", "waited_seconds")
    MODEL_BYTES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_BYTES_FIELD_NUMBER: _ClassVar[int]
    WAITED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    model_bytes: int
    context_bytes: int
    waited_seconds: float
    def __init__(self, model_bytes: _Optional[int] = ..., context_bytes: _Optional[int] = ..., waited_seconds: _Optional[float] = ...) -> None: ...

class HoldDenied(_message.Message):
    __slots__ = ("code", "message", "requested_bytes", "budget_bytes", "granted_bytes", "queue_position")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BYTES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    GRANTED_BYTES_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    requested_bytes: int
    budget_bytes: int
    granted_bytes: int
    queue_position: int
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., requested_bytes: _Optional[int] = ..., budget_bytes: _Optional[int] = ..., granted_bytes: _Optional[int] = ..., queue_position: _Optional[int] = ...) -> None: ...

class HoldReclaim(_message.Message):
    __slots__ = ("needed_bytes", "min_residency_seconds", "timeout_seconds", "release_context")
    NEEDED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MIN_RESIDENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    needed_bytes: int
    min_residency_seconds: float
    timeout_seconds: float
    release_context: bool
    def __init__(self, needed_bytes: _Optional[int] = ..., min_residency_seconds: _Optional[float] = ..., timeout_seconds: _Optional[float] = ..., release_context: _Optional[bool] = ...) -> None: ...

class HoldReleased(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class HoldHeartbeatAck(_message.Message):
    __slots__ = ("sequence", "lease_held")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LEASE_HELD_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    lease_held: bool
    def __init__(self, sequence: _Optional[int] = ..., lease_held: _Optional[bool] = ...) -> None: ...

class HoldResponse(_message.Message):
    __slots__ = ("opened", "queued", "granted", "denied", "reclaim", "released", "heartbeat_ack")
    OPENED_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    RECLAIM_FIELD_NUMBER: _ClassVar[int]
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_ACK_FIELD_NUMBER: _ClassVar[int]
    opened: HoldOpened
    queued: HoldQueued
    granted: HoldGranted
    denied: HoldDenied
    reclaim: HoldReclaim
    released: HoldReleased
    heartbeat_ack: HoldHeartbeatAck
    def __init__(self, opened: _Optional[_Union[HoldOpened, _Mapping]] = ..., queued: _Optional[_Union[HoldQueued, _Mapping]] = ..., granted: _Optional[_Union[HoldGranted, _Mapping]] = ..., denied: _Optional[_Union[HoldDenied, _Mapping]] = ..., reclaim: _Optional[_Union[HoldReclaim, _Mapping]] = ..., released: _Optional[_Union[HoldReleased, _Mapping]] = ..., heartbeat_ack: _Optional[_Union[HoldHeartbeatAck, _Mapping]] = ...) -> None: ...

class GetLedgerRequest(_message.Message):
    __slots__ = ("device_index",)
    DEVICE_INDEX_FIELD_NUMBER: _ClassVar[int]
    device_index: int
    def __init__(self, device_index: _Optional[int] = ...) -> None: ...

class LedgerHolder(_message.Message):
    __slots__ = ("holder_id", "stage", "model_bytes", "context_bytes", "held_seconds", "reclaiming", "busy")
    HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_BYTES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_BYTES_FIELD_NUMBER: _ClassVar[int]
    HELD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RECLAIMING_FIELD_NUMBER: _ClassVar[int]
    BUSY_FIELD_NUMBER: _ClassVar[int]
    holder_id: str
    stage: str
    model_bytes: int
    context_bytes: int
    held_seconds: float
    reclaiming: bool
    busy: bool
    def __init__(self, holder_id: _Optional[str] = ..., stage: _Optional[str] = ..., model_bytes: _Optional[int] = ..., context_bytes: _Optional[int] = ..., held_seconds: _Optional[float] = ..., reclaiming: _Optional[bool] = ..., busy: _Optional[bool] = ...) -> None: ...

class LedgerWaiter(_message.Message):
    __slots__ = ("holder_id", "stage", "bytes", "priority", "waited_seconds")
    HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    WAITED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    holder_id: str
    stage: str
    bytes: int
    priority: int
    waited_seconds: float
    def __init__(self, holder_id: _Optional[str] = ..., stage: _Optional[str] = ..., bytes: _Optional[int] = ..., priority: _Optional[int] = ..., waited_seconds: _Optional[float] = ...) -> None: ...

class GetLedgerResponse(_message.Message):
    __slots__ = ("device_index", "budget_bytes", "granted_bytes", "granted_high_water_bytes", "holders", "queue", "learned_bytes", "device_used_bytes", "truth_source", "context_bytes", "estimated_bytes")
    class LearnedBytesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class EstimatedBytesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DEVICE_INDEX_FIELD_NUMBER: _ClassVar[int]
    BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    GRANTED_BYTES_FIELD_NUMBER: _ClassVar[int]
    GRANTED_HIGH_WATER_BYTES_FIELD_NUMBER: _ClassVar[int]
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    LEARNED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TRUTH_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_BYTES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    device_index: int
    budget_bytes: int
    granted_bytes: int
    granted_high_water_bytes: int
    holders: _containers.RepeatedCompositeFieldContainer[LedgerHolder]
    queue: _containers.RepeatedCompositeFieldContainer[LedgerWaiter]
    learned_bytes: _containers.ScalarMap[str, int]
    device_used_bytes: int
    truth_source: str
    context_bytes: int
    estimated_bytes: _containers.ScalarMap[str, int]
    def __init__(self, device_index: _Optional[int] = ..., budget_bytes: _Optional[int] = ..., granted_bytes: _Optional[int] = ..., granted_high_water_bytes: _Optional[int] = ..., holders: _Optional[_Iterable[_Union[LedgerHolder, _Mapping]]] = ..., queue: _Optional[_Iterable[_Union[LedgerWaiter, _Mapping]]] = ..., learned_bytes: _Optional[_Mapping[str, int]] = ..., device_used_bytes: _Optional[int] = ..., truth_source: _Optional[str] = ..., context_bytes: _Optional[int] = ..., estimated_bytes: _Optional[_Mapping[str, int]] = ...) -> None: ...
