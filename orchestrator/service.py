"""Orchestrator gRPC servicer: validate -> convert -> JobManager -> convert. Nothing else.

The caller's principal comes from the server interceptor (meshpipe.runtime.callctx): every
job is visible only to the principal that submitted it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from meshpipe.runtime.callctx import JOB_ID_HEADER, current_principal
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc
from orchestrator import convert
from orchestrator.artifacts import open_verified, stream_chunks
from orchestrator.domain import JobState
from orchestrator.heartbeat import with_heartbeats
from orchestrator.jobs import JobManager
from orchestrator.paging import decode_token, encode_token
from orchestrator.validation import check_strings

DEFAULT_PAGE_SIZE = 100
_STATES = {convert.state_to_pb(s): s for s in JobState}


class OrchestratorServicer(orchestrator_pb2_grpc.OrchestratorServicer):
    """The public API. Errors are typed exceptions mapped by the server interceptor."""

    def __init__(
        self, jobs: JobManager, heartbeat_seconds: float = 15.0, max_page_size: int = 1000
    ) -> None:
        self.jobs = jobs
        self.heartbeat_seconds = heartbeat_seconds
        self.max_page_size = max_page_size

    async def SubmitJob(
        self, request: pb.SubmitJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.JobEvent]:
        """Validate and start a job (or attach to the one its request_id made), then stream
        its events. The job id goes out first, in the initial metadata (`x-job-id`)."""
        check_strings(request, self.jobs.limits)
        job_request = convert.job_request_from_pb(request)
        job_request.owner = current_principal()
        # The job runs on its own task: a client that goes away does not cancel it.
        job_id = await self.jobs.submit(job_request)
        await context.send_initial_metadata(((JOB_ID_HEADER, job_id),))
        async for event in self._follow(job_id, 0):
            yield event

    async def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.JobEvent]:
        """Replay a job's events, then follow it."""
        async for event in self._follow(request.job_id, request.from_sequence):
            yield event

    async def _follow(self, job_id: str, from_sequence: int) -> AsyncIterator[pb.JobEvent]:
        owner = current_principal()
        view = await self.jobs.get(job_id, owner)
        events = (
            convert.event_to_pb(e) async for e in self.jobs.watch(job_id, from_sequence, owner)
        )
        created_at = view.summary.created_at
        async for event in with_heartbeats(events, job_id, created_at, self.heartbeat_seconds):
            yield event

    async def GetJob(
        self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetJobResponse:
        """A job's summary, results and errors."""
        view = await self.jobs.get(request.job_id, current_principal())
        return pb.GetJobResponse(
            summary=convert.summary_to_pb(view.summary),
            results=[convert.result_to_pb(r) for r in view.results],
            errors=[convert.error_to_pb(e) for e in view.errors],
            skipped=[convert.skipped_to_pb(s) for s in view.skipped],
        )

    async def CancelJob(
        self, request: pb.CancelJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelJobResponse:
        """Cancel a job; its state afterwards."""
        state = await self.jobs.cancel(request.job_id, current_principal())
        return pb.CancelJobResponse(state=convert.state_to_pb(state))

    async def DeleteJob(
        self, request: pb.DeleteJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteJobResponse:
        """Delete a finished job's records and folder."""
        freed = await self.jobs.delete(request.job_id)
        return pb.DeleteJobResponse(freed_bytes=freed)

    async def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListJobsResponse:
        """The caller's jobs, newest first, a page at a time."""
        size = min(request.page_size or request.limit or DEFAULT_PAGE_SIZE, self.max_page_size)
        states = [_STATES[s] for s in request.states if s in _STATES]
        after = decode_token(request.page_token)
        summaries = await self.jobs.list(current_principal(), size + 1, states, after)
        page = summaries[:size]
        token = ""
        if len(summaries) > size:
            token = encode_token(page[-1].created_at, page[-1].job_id)
        return pb.ListJobsResponse(
            jobs=[convert.summary_to_pb(s) for s in page], next_page_token=token
        )

    async def DownloadArtifact(
        self, request: pb.DownloadArtifactRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ArtifactChunk]:
        """An artifact in chunks of at most 1 MiB, from `offset` on, if its file is still
        the one recorded (regular file, one link, recorded size and sha256)."""
        path, artifact = await self.jobs.artifact(request.artifact_id, current_principal())
        f = await asyncio.to_thread(open_verified, path, artifact)
        async for offset, data, total in stream_chunks(f, request.offset):
            yield pb.ArtifactChunk(data=data, offset=offset, total_size=total)
