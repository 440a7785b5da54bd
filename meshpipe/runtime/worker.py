"""Worker mode: the model runs in a child process that exits when the model goes COLD.

`WorkerBackend` stands in for a stage's backend in the stage process. It starts a worker
process (multiprocessing, spawn start method) on load, forwards every lifecycle call
(load, warmup, park, wake, unload, memory) and every inference call to it over a pipe, and
ends the process on unload, so that a cold stage holds no CUDA context (0 bytes of GPU
memory) and the arbiter can drop its context from the ledger. PARKED keeps the worker:
pinned host copies of the weights need its context.

The stage process keeps a *shadow* backend, built by the same factory and never loaded:
its info, footprint, settings and request-validation helpers (e.g. a shape backend's
`resolution`) answer in the stage process. Only the calls the ModelRunner runs for a
request (`serving_call`) and the lifecycle calls go to the worker, always from the
runner's executor threads: nothing on the event loop waits for the worker. Every reply
carries the worker's device memory, so `memory()` answers from the last reply without a
round trip. Every call carries the caller's request id, which the worker sets for the
call's duration: the model's log lines carry it as in-process. Backends are unaware of the
mode.

A worker that dies (crash, OOM-kill) fails the calls in flight with `WorkerLost`
(UNAVAILABLE, with the exit code); the ModelRunner then counts the model as COLD and the
next request starts a new worker.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from meshpipe.errors import Unavailable
from meshpipe.runtime.backend import Backend, BackendInfo, DeviceMemory
from meshpipe.runtime.callctx import request_id_var

log = logging.getLogger(__name__)

BackendFactory = Callable[[Any], Backend]  # called with the stage's settings; picklable
_EXIT = None  # the message that ends a worker


class WorkerLost(Unavailable):
    """The model's worker process exited while it was needed (retryable: the next request
    starts a new one)."""


class WorkerBackend(Backend):
    """A backend whose model lives in a worker subprocess between load and unload."""

    def __init__(
        self,
        factory: BackendFactory,
        settings: Any,
        stage: str = "stage",
        start_timeout: float = 300.0,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.stage = stage
        self.start_timeout = start_timeout
        self.shadow = factory(settings)
        self._client: _WorkerClient | None = None
        self._lost: str | None = None

    # ------------------------------------------------------------------ runtime hooks
    @property
    def leaves_device_when_cold(self) -> bool:
        return True

    def process_id(self) -> int | None:
        client = self._client
        return client.pid if client is not None and client.alive else None

    def lost(self) -> str | None:
        client = self._client
        if client is not None and not client.alive:
            return client.death_reason()
        return self._lost

    # ------------------------------------------------------------------ Backend
    @property
    def info(self) -> BackendInfo:
        return self.shadow.info

    @property
    def footprint_bytes(self) -> int:
        return self.shadow.footprint_bytes

    def load(self) -> None:
        self._stop_worker()
        self._lost = None
        self._client = _WorkerClient.start(self.factory, self.settings, self.stage)
        self._client.call("load", (), timeout=self.start_timeout)

    def warmup(self) -> None:
        self._remote("warmup")

    def park(self) -> None:
        self._remote("park")

    def wake(self) -> None:
        self._remote("wake")

    def unload(self) -> None:
        try:
            if self._client is not None and self._client.alive:
                self._remote("unload")
        finally:
            self._stop_worker()

    def memory(self) -> DeviceMemory:
        """The worker's device memory as of its last reply (no round trip)."""
        client = self._client
        if client is None or not client.alive:
            return DeviceMemory()
        return client.last_memory

    def reset_peak_memory(self) -> None:
        client = self._client
        if client is not None and client.alive:
            client.call("reset_peak_memory", ())

    def serving_call(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """A method of this backend, run in the worker (other callables run as they are)."""
        if isinstance(fn, _RemoteMethod) and fn.owner is self:
            return functools.partial(self._remote, fn.name)
        return fn

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "shadow":
            raise AttributeError(name)
        value = getattr(self.shadow, name)
        if not callable(value):
            return value
        return _RemoteMethod(self, name, value)

    # ------------------------------------------------------------------ internals
    def _remote(self, name: str, *args: Any) -> Any:
        client = self._client
        if client is None:
            raise WorkerLost(f"the {self.stage} model worker is not running")
        return client.call(name, args)

    def _stop_worker(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.stop()


class _RemoteMethod:
    """A backend method: called directly, it runs on the shadow backend (validation
    helpers); handed to ModelRunner.run, `serving_call` runs it in the worker."""

    def __init__(self, owner: WorkerBackend, name: str, local: Callable[..., Any]) -> None:
        self.owner = owner
        self.name = name
        self.local = local

    def __call__(self, *args: Any) -> Any:
        return self.local(*args)


class _WorkerClient:
    """The stage side of one worker process: a pipe, a reader thread and the pending calls."""

    def __init__(self, process: Any, conn: Connection, stage: str) -> None:
        self.process = process
        self.conn = conn
        self.stage = stage
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._dead = False
        self.last_memory = DeviceMemory()
        self._reader = threading.Thread(target=self._read, name=f"{stage}-worker-reader")
        self._reader.daemon = True
        self._reader.start()

    @classmethod
    def start(cls, factory: BackendFactory, settings: Any, stage: str) -> _WorkerClient:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(
            target=worker_main,
            args=(child, factory, settings),
            name=f"{stage}-model-worker",
            daemon=True,
        )
        process.start()
        child.close()
        log.info("%s: model worker started (pid %s)", stage, process.pid)
        return cls(process, parent, stage)

    @property
    def pid(self) -> int:
        pid: int = self.process.pid
        return pid

    @property
    def alive(self) -> bool:
        """False once the pipe closed (the worker exited); only the reader thread reaps it."""
        return not self._dead

    def death_reason(self) -> str:
        code = self.process.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return f"the {self.stage} model worker (pid {self.pid}) exited ({how})"

    def call(self, name: str, args: tuple[Any, ...], timeout: float | None = None) -> Any:
        future: Future[Any] = Future()
        with self._lock:
            if self._dead:
                raise WorkerLost(self.death_reason())
            call_id = next(self._ids)
            self._pending[call_id] = future
            try:
                self.conn.send((call_id, name, args, request_id_var.get()))
            except (OSError, EOFError, BrokenPipeError):
                self._pending.pop(call_id, None)
                raise WorkerLost(self.death_reason()) from None
        try:
            return future.result(timeout)
        except TimeoutError:
            raise WorkerLost(
                f"the {self.stage} model worker (pid {self.pid}) did not answer {name} "
                f"within {timeout:.0f}s"
            ) from None

    def _read(self) -> None:
        while True:
            try:
                call_id, ok, value, memory = self.conn.recv()
            except (EOFError, OSError):
                break
            self.last_memory = memory
            with self._lock:
                future = self._pending.pop(call_id, None)
            if future is not None:
                future.set_result(value) if ok else future.set_exception(value)
        self._fail_all()

    def _fail_all(self) -> None:
        self.process.join(timeout=10)
        with self._lock:
            self._dead = True
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(WorkerLost(self.death_reason()))

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the worker to exit, then terminate and kill it if it does not."""
        with self._lock:
            if not self._dead:
                with contextlib.suppress(OSError):
                    self.conn.send(_EXIT)
        self._reader.join(timeout)  # the reader reaps the worker once its pipe closes
        if self._reader.is_alive():
            log.warning("%s: model worker did not exit; terminating it", self.stage)
            self.process.terminate()
            self._reader.join(5)
            if self._reader.is_alive():
                self.process.kill()
                self._reader.join(5)
        self.conn.close()


# ---------------------------------------------------------------------- the worker process
def worker_main(conn: Connection, factory: BackendFactory, settings: Any) -> None:
    """Entry point of a worker process: build the backend, then serve calls until told to
    exit or until the stage process goes away (the pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stage process decides when to stop
    _configure_worker_logging(settings)
    backend = factory(settings)
    pool = ThreadPoolExecutor(max_workers=getattr(settings, "max_concurrency", 1) + 1)
    send_lock = threading.Lock()
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is _EXIT:
                break
            pool.submit(_serve, backend, conn, send_lock, message)
    finally:
        pool.shutdown(wait=True)
        conn.close()


def _serve(backend: Backend, conn: Connection, send_lock: threading.Lock, message: Any) -> None:
    call_id, name, args, request_id = message
    token = request_id_var.set(request_id)  # the call's log lines carry the stage's request id
    try:
        ok, value = True, getattr(backend, name)(*args)
    except BaseException as exc:  # every failure goes back to the stage process
        log.debug("worker call %s failed", name, exc_info=True)
        ok, value = False, _picklable(exc)
    finally:
        request_id_var.reset(token)
    memory = _memory(backend)
    with send_lock:
        try:
            conn.send((call_id, ok, value, memory))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            error = RuntimeError(f"{name}: unpicklable result: {exc}")
            conn.send((call_id, False, error, memory))
        except OSError:
            pass


def _memory(backend: Backend) -> DeviceMemory:
    try:
        return backend.memory()
    except Exception:  # a broken model must still answer the call
        log.debug("memory() failed", exc_info=True)
        return DeviceMemory()


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return RuntimeError(text)


def _configure_worker_logging(settings: Any) -> None:
    from meshpipe.runtime.process import configure_logging

    configure_logging(getattr(settings, "log_level", "INFO"), getattr(settings, "log_json", False))
    log.info("model worker %d serving", os.getpid())
