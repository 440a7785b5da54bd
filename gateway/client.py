"""The gateway's asynchronous gRPC client of the orchestrator. Every call carries the
caller's metadata (`authorization` as received, `x-request-id`), so that the orchestrator
enforces who sees what in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import grpc

from meshpipe.runtime.process import grpc_options
from meshpipe.runtime.tls import channel_credentials
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc

Metadata = Sequence[tuple[str, str]]


class Orchestrator:
    """One grpc.aio channel to the orchestrator; create it inside the running event loop."""

    def __init__(
        self, address: str, timeout: float, max_message_bytes: int, tls_ca_file: str = ""
    ) -> None:
        self.address = address
        self.timeout = timeout
        options = grpc_options(max_message_bytes)
        if tls_ca_file:  # the orchestrator's client-facing port speaks TLS
            credentials = channel_credentials(tls_ca_file)
            self._channel = grpc.aio.secure_channel(address, credentials, options=options)
        else:
            self._channel = grpc.aio.insecure_channel(address, options=options)
        self._stub = orchestrator_pb2_grpc.OrchestratorStub(self._channel)

    async def close(self) -> None:
        """Close the channel (open streams end)."""
        await self._channel.close()

    async def ready(self, wait_seconds: float = 2.0) -> bool:
        """True when the orchestrator answers a call within `wait_seconds`."""
        try:
            await self._stub.ListJobs(pb.ListJobsRequest(page_size=1), timeout=wait_seconds)
        except grpc.RpcError as err:
            code = err.code() if callable(getattr(err, "code", None)) else None
            # An orchestrator that refuses an anonymous caller still answers.
            return code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
        return True

    def submit(
        self, request: pb.SubmitJobRequest, metadata: Metadata
    ) -> AsyncIterator[pb.JobEvent]:
        """SubmitJob's event stream (a grpc.aio call; cancel() ends it)."""
        call: AsyncIterator[pb.JobEvent] = self._stub.SubmitJob(request, metadata=metadata)
        return call

    def watch(
        self, job_id: str, from_sequence: int, metadata: Metadata
    ) -> AsyncIterator[pb.JobEvent]:
        """WatchJob's event stream from `from_sequence`."""
        request = pb.WatchJobRequest(job_id=job_id, from_sequence=from_sequence)
        call: AsyncIterator[pb.JobEvent] = self._stub.WatchJob(request, metadata=metadata)
        return call

    async def get(self, job_id: str, metadata: Metadata) -> pb.GetJobResponse:
        """GetJob."""
        reply: pb.GetJobResponse = await self._stub.GetJob(
            pb.GetJobRequest(job_id=job_id), metadata=metadata, timeout=self.timeout
        )
        return reply

    async def list(self, request: pb.ListJobsRequest, metadata: Metadata) -> pb.ListJobsResponse:
        """ListJobs (one page)."""
        reply: pb.ListJobsResponse = await self._stub.ListJobs(
            request, metadata=metadata, timeout=self.timeout
        )
        return reply

    async def cancel(self, job_id: str, metadata: Metadata) -> pb.CancelJobResponse:
        """CancelJob (returns once the job has ended)."""
        reply: pb.CancelJobResponse = await self._stub.CancelJob(
            pb.CancelJobRequest(job_id=job_id), metadata=metadata, timeout=self.timeout
        )
        return reply

    def download(
        self, artifact_id: str, offset: int, metadata: Metadata
    ) -> AsyncIterator[pb.ArtifactChunk]:
        """DownloadArtifact's chunk stream from byte `offset`."""
        request = pb.DownloadArtifactRequest(artifact_id=artifact_id, offset=offset)
        call: AsyncIterator[pb.ArtifactChunk] = self._stub.DownloadArtifact(
            request, metadata=metadata
        )
        return call
