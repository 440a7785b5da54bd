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
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from meshpipe.errors import MeshpipeError, Unavailable, from_rpc_error
from meshpipe.runtime.callctx import JOB_ID_HEADER
from meshpipe.runtime.process import CLIENT_KEEPALIVE, grpc_options
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
        tls_ca: Path | None = None,
        tls: bool = False,
        token: str | None = None,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.reattach_seconds = reattach_seconds
        options = [*grpc_options(max_message_bytes), *CLIENT_KEEPALIVE]
        if tls or tls_ca is not None:
            ca = tls_ca.read_bytes() if tls_ca is not None else None
            creds = grpc.ssl_channel_credentials(root_certificates=ca)
            self._channel = grpc.secure_channel(address, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(address, options=options)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
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
        request_id: str | None = None,
    ) -> pb.JobEvent:
        """Submit a photo and follow the job to its end; returns the final (done) event.
        `request_id` (default: a fresh one) makes a resubmission attach to the same job."""
        request = pb.SubmitJobRequest(
            image=image,
            prompt=prompt,
            options=options,
            name=name,
            request_id=request_id or secrets.token_hex(16),
        )
        return self._follow(
            lambda: self._stub.SubmitJob(request, metadata=self._metadata), on_event
        )

    def watch(
        self, job_id: str, from_sequence: int = 0, on_event: EventCallback | None = None
    ) -> pb.JobEvent:
        """Follow a job (replaying from `from_sequence`) to its end; returns the done event."""
        request = pb.WatchJobRequest(job_id=job_id, from_sequence=from_sequence)
        return self._follow(lambda: self._stub.WatchJob(request, metadata=self._metadata), on_event)

    def get(self, job_id: str) -> pb.GetJobResponse:
        """Summary, results and errors of a job."""
        with _typed_errors():
            return self._stub.GetJob(
                pb.GetJobRequest(job_id=job_id), timeout=self.timeout, metadata=self._metadata
            )

    def list(
        self, limit: int = 0, states: Sequence[pb.JobState] = (), page_token: str = ""
    ) -> list[pb.JobSummary]:
        """This client's jobs, newest first (one page of at most `limit`)."""
        return list(self.list_page(limit, states, page_token).jobs)

    def list_page(
        self, page_size: int = 0, states: Sequence[pb.JobState] = (), page_token: str = ""
    ) -> pb.ListJobsResponse:
        """One page of this client's jobs; pass its next_page_token for the next one."""
        request = pb.ListJobsRequest(page_size=page_size, states=states, page_token=page_token)
        with _typed_errors():
            return self._stub.ListJobs(request, timeout=self.timeout, metadata=self._metadata)

    def cancel(self, job_id: str) -> pb.JobState:
        """Cancel a job; its state afterwards."""
        with _typed_errors():
            reply = self._stub.CancelJob(
                pb.CancelJobRequest(job_id=job_id), timeout=self.timeout, metadata=self._metadata
            )
        return reply.state

    def delete(self, job_id: str) -> int:
        """Delete a finished job (records and folder); the bytes freed."""
        with _typed_errors():
            reply = self._stub.DeleteJob(pb.DeleteJobRequest(job_id=job_id), timeout=self.timeout)
        return int(reply.freed_bytes)

    def download(self, artifact_id: str, destination: Path) -> int:
        """Stream an artifact into `destination` (atomically: temp file + rename); its size."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{destination.name}.{os.getpid()}.part")
        written = 0
        try:
            with _typed_errors(), open(tmp, "wb") as f:
                stream = self._stub.DownloadArtifact(
                    pb.DownloadArtifactRequest(artifact_id=artifact_id), metadata=self._metadata
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
            stream = open_stream()
            try:
                for event in stream:
                    if event.HasField("heartbeat"):
                        continue
                    job_id, next_sequence, lost_at = event.job_id, event.sequence + 1, 0.0
                    if on_event is not None:
                        on_event(event)
                    if event.HasField("done"):
                        return event
                raise Unavailable("event stream ended before the job did")
            except grpc.RpcError as err:
                code = err.code() if isinstance(err, grpc.Call) else None
                job_id = job_id or _job_id_of(stream)
                if not job_id or code != grpc.StatusCode.UNAVAILABLE:
                    raise from_rpc_error(err) from None
                lost_at = lost_at or time.monotonic()
                if time.monotonic() - lost_at > self.reattach_seconds:
                    raise from_rpc_error(err) from None
                time.sleep(1.0)
                open_stream = functools.partial(
                    self._stub.WatchJob,
                    pb.WatchJobRequest(job_id=job_id, from_sequence=next_sequence),
                    metadata=self._metadata,
                )


def _job_id_of(stream: Any) -> str:
    """The job id a SubmitJob call announced in its initial metadata (`x-job-id`), if any:
    a client whose stream failed before the first event still learns its job."""
    try:
        metadata = stream.initial_metadata() or ()
    except Exception:
        return ""
    return next((str(v) for k, v in metadata if k == JOB_ID_HEADER), "")


@contextlib.contextmanager
def _typed_errors() -> Iterator[None]:
    try:
        yield
    except grpc.RpcError as err:
        raise from_rpc_error(err) from None
