"""Orchestrator gRPC servicer: validate -> convert -> JobManager -> convert. Nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc
from orchestrator import convert
from orchestrator.artifacts import stream_chunks
from orchestrator.jobs import JobManager

DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000


class OrchestratorServicer(orchestrator_pb2_grpc.OrchestratorServicer):
    """The public API. Errors are typed exceptions mapped by ErrorMappingInterceptor."""

    def __init__(self, jobs: JobManager) -> None:
        self.jobs = jobs

    async def SubmitJob(
        self, request: pb.SubmitJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.JobEvent]:
        """Validate and start a job, then stream its events."""
        # The job runs on its own task: a client that goes away does not cancel it.
        job = await self.jobs.submit(convert.job_request_from_pb(request))
        async for event in self.jobs.watch(job.job_id):
            yield convert.event_to_pb(event)

    async def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.JobEvent]:
        """Replay a job's events, then follow it."""
        async for event in self.jobs.watch(request.job_id, request.from_sequence):
            yield convert.event_to_pb(event)

    async def GetJob(
        self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetJobResponse:
        """A job's summary, results and errors."""
        view = await self.jobs.get(request.job_id)
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
        state = await self.jobs.cancel(request.job_id)
        return pb.CancelJobResponse(state=convert.state_to_pb(state))

    async def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListJobsResponse:
        """Jobs, newest first."""
        limit = min(request.limit or DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)
        summaries = await self.jobs.list(limit)
        return pb.ListJobsResponse(jobs=[convert.summary_to_pb(s) for s in summaries])

    async def DownloadArtifact(
        self, request: pb.DownloadArtifactRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ArtifactChunk]:
        """An artifact in chunks of at most 1 MiB."""
        path = await self.jobs.artifact_path(request.artifact_id)
        async for offset, data, total in stream_chunks(path):
            yield pb.ArtifactChunk(data=data, offset=offset, total_size=total)
