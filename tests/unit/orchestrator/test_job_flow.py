"""Whole jobs through an in-process orchestrator against fake stages on real sockets."""

from __future__ import annotations

import itertools
import json

import grpc

from meshpipe.v1 import orchestrator_pb2 as pb
from orchestrator.pipeline import WHOLE_IMAGE_NOTICE
from tests.unit.orchestrator.conftest import Harness
from tests.unit.orchestrator.fakes import COLOURS, PROMPT_NOTICE, scene_png


def _kinds(events: list[pb.JobEvent]) -> list[str | None]:
    return [e.WhichOneof("event") for e in events]


def _scene(orch: Harness, n: int = 3) -> bytes:
    image, boxes = scene_png(n=n)
    orch.behaviour.boxes = boxes
    return image


async def test_three_objects_give_three_results_in_order(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch), name="scene")
    kinds = _kinds(events)
    assert kinds[:2] == ["accepted", "detections"] and kinds[-1] == "done"
    assert kinds.count("done") == 1
    assert [e.sequence for e in events] == list(range(len(events)))
    results = {e.result.object_index: e for e in events if e.HasField("result")}
    assert sorted(results) == [0, 1, 2]
    for index, result in results.items():
        progress = [
            (e.progress.stage, e.progress.finished)
            for e in events
            if e.HasField("progress") and e.progress.object_index == index
        ]
        assert progress == [
            (pb.STAGE_MATTING, False),
            (pb.STAGE_MATTING, True),
            (pb.STAGE_SHAPE, False),
            (pb.STAGE_SHAPE, True),
            (pb.STAGE_TEXTURE, False),
            (pb.STAGE_TEXTURE, True),
        ]
        last_progress = max(
            e.sequence
            for e in events
            if e.HasField("progress") and e.progress.object_index == index
        )
        assert last_progress < result.sequence
        r = result.result
        assert [s.stage for s in r.stages] == [pb.STAGE_MATTING, pb.STAGE_SHAPE, pb.STAGE_TEXTURE]
        assert r.stages[1].backend.backend == "fake-shape"
        assert (r.vertex_count, r.face_count) == (42, 80)  # the textured mesh's, not the shape's
    summary = events[-1].done.summary
    assert summary.state == pb.JOB_STATE_SUCCEEDED
    assert (summary.objects_total, summary.objects_succeeded, summary.objects_failed) == (3, 3, 0)


async def test_folder_layout_and_manifest_sizes(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch, n=2), options=pb.JobOptions(seed=7))
    job_dir = orch.out / events[0].job_id
    files = sorted(p.relative_to(job_dir).as_posix() for p in job_dir.rglob("*") if p.is_file())
    assert files == [
        "contact_sheet.png",
        "crops/000_object.png",
        "crops/001_object.png",
        "input.png",
        "manifest.json",
        "mattes/000_object.png",
        "mattes/001_object.png",
        "meshes/000_object.glb",
        "meshes/001_object.glb",
        "previews/000_object.png",
        "previews/001_object.png",
        "scene.glb",
        "textured/000_object.glb",
        "textured/001_object.glb",
    ]
    manifest = json.loads((job_dir / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["state"] == "succeeded"
    assert manifest["input"]["artifact"]["relative_path"] == "input.png"
    listed = {manifest["input"]["artifact"]["relative_path"]}
    for obj in manifest["objects"]:
        assert [s["backend"] for s in obj["stages"]] == [
            "fake-matting",
            "fake-shape",
            "fake-texture",
        ]
        for art in obj["artifacts"]:
            assert (job_dir / art["relative_path"]).stat().st_size == art["size_bytes"]
            listed.add(art["relative_path"])
    for job_level in ("scene", "contact_sheet"):
        art = manifest[job_level]
        assert (job_dir / art["relative_path"]).stat().st_size == art["size_bytes"]
        listed.add(art["relative_path"])
    assert listed == set(files) - {"manifest.json"}
    done = events[-1].done
    assert done.manifest.relative_path == "manifest.json"
    assert done.manifest.size_bytes == (job_dir / "manifest.json").stat().st_size


async def test_no_texture_stops_after_shape(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch, n=1), options=pb.JobOptions(texture=False))
    result = next(e.result for e in events if e.HasField("result"))
    assert [s.stage for s in result.stages] == [pb.STAGE_MATTING, pb.STAGE_SHAPE]
    assert sorted(a.kind for a in result.artifacts) == ["crop", "matte", "mesh", "preview"]
    assert (result.vertex_count, result.face_count) == (8, 12)
    assert not (orch.out / events[0].job_id / "textured").exists()
    assert not [c for c in orch.behaviour.calls if c[0] == "texture"]


async def test_nothing_detected_without_prompt_means_whole_image(orch: Harness) -> None:
    image, _ = scene_png(n=0)
    events = await orch.run_job(image)
    detections = events[1].detections
    assert len(detections.objects) == 1
    box = detections.objects[0].box
    assert (box.x1, box.y1, box.x2, box.y2) == (0, 0, 320, 240)
    assert WHOLE_IMAGE_NOTICE in detections.notices
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED


async def test_prompt_notice_reaches_the_client(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch, n=1), prompt="mug, lamp")
    assert PROMPT_NOTICE in events[1].detections.notices
    assert not events[1].detections.category_filtering_applied


async def test_failed_object_does_not_fail_its_siblings(orch: Harness) -> None:
    orch.behaviour.fail_colour = COLOURS[1]
    events = await orch.run_job(_scene(orch, n=3))
    errors = [e.error for e in events if e.HasField("error")]
    assert [(e.object_index, e.stage, e.code) for e in errors] == [
        (1, pb.STAGE_MATTING, "INVALID_ARGUMENT")
    ]
    assert "matting refused this crop" in errors[0].message
    assert sorted(e.result.object_index for e in events if e.HasField("result")) == [0, 2]
    summary = events[-1].done.summary
    assert summary.state == pb.JOB_STATE_PARTIAL
    assert (summary.objects_succeeded, summary.objects_failed) == (2, 1)
    m = orch.app.metrics
    assert m.jobs.labels("partial")._value.get() == 1
    assert m.objects.labels("succeeded")._value.get() == 2
    assert m.objects.labels("failed")._value.get() == 1
    assert m.submissions.labels("OK")._value.get() == 1
    assert m.stage_seconds.labels("matting", "INVALID_ARGUMENT")._sum.get() > 0
    for stage in ("matting", "shape", "texture"):
        assert m.stage_queue_depth.labels(stage)._value.get() == 0
        assert m.stage_in_flight.labels(stage)._value.get() == 0
    assert m.jobs_in_progress.labels("running")._value.get() == 0


async def test_unavailable_stage_is_retried_once_healthy(orch: Harness) -> None:
    orch.behaviour.unavailable = {"shape": 2}
    events = await orch.run_job(_scene(orch, n=1))
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    retries = orch.app.metrics.stage_retries.labels("shape")._value.get()
    assert retries == 2


async def test_unavailable_beyond_the_retry_bound_fails_the_object(orch: Harness) -> None:
    orch.behaviour.unavailable = {"matting": 100}
    events = await orch.run_job(_scene(orch, n=1))
    error = next(e.error for e in events if e.HasField("error"))
    assert (error.stage, error.code) == (pb.STAGE_MATTING, "UNAVAILABLE")
    assert events[-1].done.summary.state == pb.JOB_STATE_FAILED


async def test_objects_stream_through_stages_independently(orch: Harness) -> None:
    orch.behaviour.delay = {"matting": 0.15, "shape": 0.15}
    await orch.run_job(_scene(orch, n=3), options=pb.JobOptions(texture=False))
    calls = orch.behaviour.calls
    mattes = [(s, e) for name, s, e in calls if name == "matting"]
    shapes = [(s, e) for name, s, e in calls if name == "shape"]
    overlaps = [1 for ms, me in mattes for ss, se in shapes if ms < se and ss < me]
    assert overlaps, "no object was in matting while another was in shape"
    # the per-stage limit (1 call per stage) held
    for spans in (mattes, shapes):
        spans.sort()
        assert all(a[1] <= b[0] + 1e-3 for a, b in itertools.pairwise(spans))


async def test_options_and_seeds_reach_the_shape_stage(orch: Harness) -> None:
    shape = pb.ShapeOptions(steps=12, octree_resolution=96, guidance_scale=5.5)
    await orch.run_job(_scene(orch, n=2), options=pb.JobOptions(seed=41, shape=shape))
    requests = sorted(orch.behaviour.shape_requests, key=lambda r: r.seed)
    assert [r.seed for r in requests] == [41, 42]
    assert {(r.steps, r.octree_resolution, round(r.guidance_scale, 3)) for r in requests} == {
        (12, 96, 5.5)
    }


async def test_quality_profile_fills_unset_knobs_only(orch: Harness) -> None:
    shape = pb.ShapeOptions(steps=3)
    await orch.run_job(_scene(orch, n=1), options=pb.JobOptions(quality="draft", shape=shape))
    request = orch.behaviour.shape_requests[0]
    assert (request.steps, request.octree_resolution) == (3, 64)


async def test_detector_failure_fails_the_job_with_its_reason(orch: Harness) -> None:
    orch.behaviour.unavailable = {"detector": 100}
    events = await orch.run_job(_scene(orch, n=1))
    summary = events[-1].done.summary
    assert summary.state == pb.JOB_STATE_FAILED
    assert "detector failed: UNAVAILABLE" in summary.error
    assert _kinds(events) == ["accepted", "done"]


async def test_max_objects_caps_the_detections(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch, n=3), options=pb.JobOptions(max_objects=2))
    assert len(events[1].detections.objects) == 2
    assert events[-1].done.summary.objects_total == 2


async def test_bad_submission_is_invalid_argument(orch: Harness) -> None:
    call = orch.stub.SubmitJob(pb.SubmitJobRequest(image=b"not an image"))
    try:
        [e async for e in call]
    except grpc.aio.AioRpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not a decodable image" in (err.details() or "")
    else:
        raise AssertionError("expected INVALID_ARGUMENT")
