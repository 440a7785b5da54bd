"""A small synchronous client of the orchestrator (used by the CLI; usable from any script).

    with MeshpipeClient("127.0.0.1:50051") as client:
        done = client.submit(Path("photo.jpg").read_bytes(), prompt="mug", on_event=print)
        for result in client.get(done.job_id).results: ...

Errors are meshpipe.errors types (InvalidInput, NotFound, ...), carrying the server's message.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import grpc

from meshpipe.errors import MeshpipeError, Unavailable, from_rpc_error
from meshpipe.runtime.process import grpc_options
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc

EventCallback = Callable[[pb.JobEvent], None]
MIB = 1024 * 1024


def job_options(
    *,
    texture: bool = True,
    seed: int | None = None,
    max_objects: int = 0,
    steps: int = 0,
    octree_resolution: int = 0,
    guidance_scale: float = 0.0,
    texture_size: int = 0,
    quality: str = "",
    formats: tuple[str, ...] | list[str] = (),
    target_faces: int = 0,
    remove_background: bool = True,
) -> pb.JobOptions:
    """JobOptions from plain values (0 / empty = the server's default)."""
    options = pb.JobOptions(
        texture=texture,
        max_objects=max_objects,
        shape=pb.ShapeOptions(
            steps=steps, octree_resolution=octree_resolution, guidance_scale=guidance_scale
        ),
        texture_options=pb.TextureOptions(texture_size=texture_size),
        quality=quality,
        formats=list(formats),
        target_faces=target_faces,
        remove_background=remove_background,
    )
    if seed is not None:
        options.seed = seed
    return options


class MeshpipeClient:
    """Blocking client over one channel. Event streams re-attach (WatchJob from the next
    sequence number) if the connection drops, for up to `reattach_seconds`."""

    def __init__(
        self,
        address: str,
        *,
        timeout: float | None = 30.0,
        reattach_seconds: float = 60.0,
        max_message_bytes: int = 64 * MIB,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.reattach_seconds = reattach_seconds
        self._channel = grpc.insecure_channel(address, options=grpc_options(max_message_bytes))
        self._stub = orchestrator_pb2_grpc.OrchestratorStub(self._channel)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> MeshpipeClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the channel connects (Unavailable after `timeout`)."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise Unavailable(f"orchestrator at {self.address} not reachable") from None

    # ----------------------------------------------------------------- jobs
    def submit(
        self,
        image: bytes,
        prompt: str = "",
        options: pb.JobOptions | None = None,
        name: str = "",
        on_event: EventCallback | None = None,
    ) -> pb.JobEvent:
        """Submit a photo and follow the job to its end; returns the final (done) event."""
        request = pb.SubmitJobRequest(image=image, prompt=prompt, options=options, name=name)
        return self._follow(lambda: self._stub.SubmitJob(request), on_event)

    def watch(
        self, job_id: str, from_sequence: int = 0, on_event: EventCallback | None = None
    ) -> pb.JobEvent:
        """Follow a job (replaying from `from_sequence`) to its end; returns the done event."""
        request = pb.WatchJobRequest(job_id=job_id, from_sequence=from_sequence)
        return self._follow(lambda: self._stub.WatchJob(request), on_event)

    def get(self, job_id: str) -> pb.GetJobResponse:
        """Summary, results and errors of a job."""
        with _typed_errors():
            return self._stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=self.timeout)

    def list(self, limit: int = 0) -> list[pb.JobSummary]:
        """Jobs, newest first."""
        with _typed_errors():
            reply = self._stub.ListJobs(pb.ListJobsRequest(limit=limit), timeout=self.timeout)
        return list(reply.jobs)

    def cancel(self, job_id: str) -> pb.JobState:
        """Cancel a job; its state afterwards."""
        with _typed_errors():
            reply = self._stub.CancelJob(pb.CancelJobRequest(job_id=job_id), timeout=self.timeout)
        return reply.state

    def download(self, artifact_id: str, destination: Path) -> int:
        """Stream an artifact into `destination` (atomically: temp file + rename); its size."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{destination.name}.{os.getpid()}.part")
        written = 0
        try:
            with _typed_errors(), open(tmp, "wb") as f:
                stream = self._stub.DownloadArtifact(
                    pb.DownloadArtifactRequest(artifact_id=artifact_id)
                )
                total = 0
                for chunk in stream:
                    if chunk.offset != written:
                        raise MeshpipeError(f"chunk at {chunk.offset}, expected {written}")
                    f.write(chunk.data)
                    written += len(chunk.data)
                    total = chunk.total_size
            if written != total:
                raise MeshpipeError(f"download ended at {written} of {total} bytes")
            tmp.replace(destination)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return written

    # ----------------------------------------------------------------- streams
    def _follow(
        self, open_stream: Callable[[], Iterator[pb.JobEvent]], on_event: EventCallback | None
    ) -> pb.JobEvent:
        job_id, next_sequence, lost_at = "", 0, 0.0
        while True:
            try:
                for event in open_stream():
                    job_id, next_sequence, lost_at = event.job_id, event.sequence + 1, 0.0
                    if on_event is not None:
                        on_event(event)
                    if event.HasField("done"):
                        return event
                raise Unavailable("event stream ended before the job did")
            except grpc.RpcError as err:
                code = err.code() if isinstance(err, grpc.Call) else None
                if not job_id or code != grpc.StatusCode.UNAVAILABLE:
                    raise from_rpc_error(err) from None
                lost_at = lost_at or time.monotonic()
                if time.monotonic() - lost_at > self.reattach_seconds:
                    raise from_rpc_error(err) from None
                time.sleep(1.0)
                open_stream = functools.partial(
                    self._stub.WatchJob,
                    pb.WatchJobRequest(job_id=job_id, from_sequence=next_sequence),
                )


@contextlib.contextmanager
def _typed_errors() -> Iterator[None]:
    try:
        yield
    except grpc.RpcError as err:
        raise from_rpc_error(err) from None
