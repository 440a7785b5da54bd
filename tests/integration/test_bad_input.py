"""Bad input against a real orchestrator process: each case is INVALID_ARGUMENT (NOT_FOUND
for ids) with a useful message, and the server then still runs a job."""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from PIL import Image

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc
from tests.integration.scenes import png, three_object_scene

pytestmark = pytest.mark.slow


def _png_header(width: int, height: int) -> bytes:
    """A well-formed PNG that claims width x height with almost no data: a bomb's head."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _jpeg(size: tuple[int, int] = (256, 192)) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(
        buf, format="JPEG"
    )
    return buf.getvalue()


GOOD = png(Image.new("RGB", (64, 48), (120, 130, 140)))

INVALID_SUBMISSIONS = {
    "empty bytes": (pb.SubmitJobRequest(image=b""), "empty"),
    "not an image": (pb.SubmitJobRequest(image=b"GIF89a? no, plain text"), "not a decodable"),
    "truncated png": (pb.SubmitJobRequest(image=three_object_scene()[:400]), "truncated|corrupt"),
    "truncated jpeg": (pb.SubmitJobRequest(image=_jpeg()[:900]), "truncated|corrupt"),
    "decompression bomb": (pb.SubmitJobRequest(image=_png_header(30000, 30000)), "pixels"),
    "zero width": (pb.SubmitJobRequest(image=_png_header(0, 100)), "decodable|empty size|corrupt"),
    "prompt too long": (pb.SubmitJobRequest(image=GOOD, prompt="mug, " * 400), "prompt"),
    "max_objects": (
        pb.SubmitJobRequest(image=GOOD, options=pb.JobOptions(max_objects=1000)),
        "max_objects",
    ),
    "texture size": (
        pb.SubmitJobRequest(
            image=GOOD, options=pb.JobOptions(texture_options=pb.TextureOptions(texture_size=99999))
        ),
        "texture_size",
    ),
    "octree resolution": (
        pb.SubmitJobRequest(
            image=GOOD, options=pb.JobOptions(shape=pb.ShapeOptions(octree_resolution=4))
        ),
        "octree_resolution",
    ),
    "steps": (
        pb.SubmitJobRequest(image=GOOD, options=pb.JobOptions(shape=pb.ShapeOptions(steps=5000))),
        "steps",
    ),
    "negative guidance": (
        pb.SubmitJobRequest(
            image=GOOD, options=pb.JobOptions(shape=pb.ShapeOptions(guidance_scale=-2))
        ),
        "guidance_scale",
    ),
    "detector min area": (
        pb.SubmitJobRequest(
            image=GOOD, options=pb.JobOptions(detector=pb.DetectorOptions(min_area_fraction=3))
        ),
        "min_area_fraction",
    ),
    "detector nms iou": (
        pb.SubmitJobRequest(
            image=GOOD, options=pb.JobOptions(detector=pb.DetectorOptions(nms_iou=-0.5))
        ),
        "nms_iou",
    ),
    "unknown quality": (
        pb.SubmitJobRequest(image=GOOD, options=pb.JobOptions(quality="ultra")),
        "quality",
    ),
}


@pytest.fixture(scope="module")
def stub(meshpipe_system: LocalSystem) -> Iterator[orchestrator_pb2_grpc.OrchestratorStub]:
    with grpc.insecure_channel(meshpipe_system.orchestrator_address) as channel:
        yield orchestrator_pb2_grpc.OrchestratorStub(channel)


@pytest.mark.parametrize("case", sorted(INVALID_SUBMISSIONS))
def test_invalid_submission(stub: orchestrator_pb2_grpc.OrchestratorStub, case: str) -> None:
    request, message = INVALID_SUBMISSIONS[case]
    with pytest.raises(grpc.RpcError) as err:
        list(stub.SubmitJob(request, timeout=30))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert re.search(message, err.value.details()), err.value.details()


@pytest.mark.parametrize(
    ("rpc", "request_"),
    [
        ("GetJob", pb.GetJobRequest(job_id="20200101-000000-000000")),
        ("GetJob", pb.GetJobRequest(job_id="../../etc/passwd")),
        ("CancelJob", pb.CancelJobRequest(job_id="no-such-job")),
        ("WatchJob", pb.WatchJobRequest(job_id="20200101-000000-000000")),
        ("DownloadArtifact", pb.DownloadArtifactRequest(artifact_id="20200101-000000-000000:x")),
        ("DownloadArtifact", pb.DownloadArtifactRequest(artifact_id="../jobs.sqlite3")),
        ("DownloadArtifact", pb.DownloadArtifactRequest(artifact_id="/etc/passwd")),
    ],
)
def test_unknown_ids_are_not_found(
    stub: orchestrator_pb2_grpc.OrchestratorStub, rpc: str, request_: object
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        reply = getattr(stub, rpc)(request_, timeout=30)
        if rpc in ("WatchJob", "DownloadArtifact"):
            list(reply)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details()


def test_server_still_serves_after_bad_input(client: MeshpipeClient) -> None:
    options = job_options(max_objects=1, octree_resolution=32, texture_size=256)
    done = client.submit(three_object_scene(), options=options)
    assert done.done.summary.state == pb.JOB_STATE_SUCCEEDED
    assert done.done.summary.objects_succeeded == 1
