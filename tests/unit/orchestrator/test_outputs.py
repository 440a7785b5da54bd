"""Job outputs against fake stages: the scene, previews, contact sheet, extra formats,
target_faces, skipped (empty) objects and remove_background=false."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import trimesh
from PIL import Image

from meshpipe.images import encode_png
from meshpipe.v1 import orchestrator_pb2 as pb
from orchestrator.domain import Artifact, Box
from orchestrator.scene import Placed, SceneAssembler, placement
from orchestrator.settings import StageEndpoint
from tests.unit.orchestrator.conftest import Harness, make_settings, running_orchestrator
from tests.unit.orchestrator.fakes import COLOURS, Behaviour, painted_sphere

# Four squares in a 2 x 2 layout of a 400 x 300 photo: (left, top), (right, top), ...
CORNERS = [(30, 30), (250, 40), (40, 180), (260, 190)]
SIDE = 70


def grid_photo(mode: str = "RGB") -> tuple[bytes, list[tuple[float, float, float, float]]]:
    """A photo with four coloured squares; RGBA: transparent around them."""
    pixels = np.zeros((300, 400, 4), np.uint8)
    pixels[..., :3] = 128
    pixels[..., 3] = 255 if mode == "RGB" else 0
    boxes = []
    for (x, y), colour in zip(CORNERS, COLOURS, strict=True):
        pixels[y : y + SIDE, x : x + SIDE] = (*colour, 255)
        boxes.append((float(x), float(y), float(x + SIDE), float(y + SIDE)))
    image = Image.fromarray(pixels, "RGBA").convert(mode)
    return encode_png(image), boxes


async def _job(orch: Harness, mode: str = "RGB", **options: Any) -> list[pb.JobEvent]:
    image, boxes = grid_photo(mode)
    orch.behaviour.boxes = boxes
    return await orch.run_job(image, options=pb.JobOptions(seed=3, **options))


def _job_dir(orch: Harness, events: list[pb.JobEvent]) -> Path:
    return orch.out / events[0].job_id


def _results(events: list[pb.JobEvent]) -> dict[int, pb.ObjectResult]:
    return {e.result.object_index: e.result for e in events if e.HasField("result")}


def _artifact(result: pb.ObjectResult, kind: str) -> pb.Artifact:
    return next(a for a in result.artifacts if a.kind == kind)


def test_placement_maps_crop_corners_onto_the_photo() -> None:
    crop = Box(x1=300, y1=200, x2=600, y2=400)  # the bottom-right quarter of 600 x 400
    matrix = placement(crop, 600, 400)
    # crop frame: its longer side (300 px) spans [-1, 1]; photo frame: 600 px span [-1, 1]
    corners = np.array([[-1.0, 200 / 300, 0.0, 1.0], [1.0, -200 / 300, 0.5, 1.0]])
    mapped = corners @ matrix.T
    np.testing.assert_allclose(mapped[0, :2], [0.0, 0.0], atol=1e-12)  # crop's top-left
    np.testing.assert_allclose(mapped[1, :3], [1.0, -2 / 3, 0.25], atol=1e-12)
    np.testing.assert_allclose(placement(Box(x1=0, y1=0, x2=600, y2=400), 600, 400), np.eye(4))


async def test_scene_has_one_named_node_per_object_in_photo_order(orch: Harness) -> None:
    events = await _job(orch)
    done = events[-1].done
    assert done.summary.state == pb.JOB_STATE_SUCCEEDED
    assert done.scene.relative_path == "scene.glb" and done.scene.kind == "scene"
    results = _results(events)
    assert all(r.scene.relative_path == "scene.glb" for r in results.values())
    data = (_job_dir(orch, events) / "scene.glb").read_bytes()
    assert len(data) == done.scene.size_bytes
    scene = trimesh.load_scene(io.BytesIO(data), file_type="glb")
    names = sorted(scene.graph.nodes_geometry)
    assert names == ["000_object", "001_object", "002_object", "003_object"]
    centres = {n: scene.graph[n][0][:3, 3] for n in names}
    x = [centres[f"00{i}_object"][0] for i in range(4)]
    y = [centres[f"00{i}_object"][1] for i in range(4)]
    z = [centres[f"00{i}_object"][2] for i in range(4)]
    assert x[0] < x[1] and x[2] < x[3]  # left to right, as the boxes
    assert y[0] > y[2] and y[1] > y[3]  # top to bottom (y up), as the boxes
    assert z == [0.0, 0.0, 0.0, 0.0]
    assert len({(round(a, 6), round(b, 6)) for a, b in zip(x, y, strict=True)}) == 4
    for i, colour in enumerate(COLOURS):  # each node keeps its own texture
        geometry = scene.geometry[scene.graph[f"00{i}_object"][1]]
        texture = geometry.visual.material.baseColorTexture.convert("RGB")
        assert texture.getpixel((4, 4)) == colour


async def test_previews_and_contact_sheet(orch: Harness) -> None:
    events = await _job(orch)
    job_dir = _job_dir(orch, events)
    for index, result in _results(events).items():
        preview = _artifact(result, "preview")
        assert preview.relative_path == f"previews/00{index}_object.png"
        assert preview.media_type == "image/png"
        pixels = np.asarray(Image.open(job_dir / preview.relative_path))
        assert pixels.shape == (512, 512, 4)
        alpha = pixels[..., 3]
        assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
        assert (alpha == 255).mean() > 0.3  # the sphere fills most of the frame
        lit = pixels[alpha == 255][:, :3].astype(float).mean(axis=0)
        expected = np.array(COLOURS[index], float)
        # lit texture colour: the object's hue (dominant channel) survives shading
        assert np.argmax(lit) == np.argmax(expected)
        assert 0.3 < lit.max() / expected.max() <= 1.0
    sheet = events[-1].done.contact_sheet
    assert sheet.kind == "contact_sheet" and sheet.relative_path == "contact_sheet.png"
    with Image.open(job_dir / sheet.relative_path) as img:
        assert img.size == (4 * 256, 256 + 22)


async def test_extra_formats_load_in_trimesh(orch: Harness, tmp_path: Path) -> None:
    events = await _job(orch, formats=["obj", "STL", "ply", "glb"])
    job_dir = _job_dir(orch, events)
    result = _results(events)[1]
    kinds = [a.kind for a in result.artifacts]
    assert kinds.count("obj") == kinds.count("stl") == kinds.count("ply") == 1
    obj_zip = _artifact(result, "obj")
    assert obj_zip.relative_path == "exports/001_object.obj.zip"
    assert obj_zip.media_type == "application/zip"
    with zipfile.ZipFile(job_dir / obj_zip.relative_path) as z:
        names = z.namelist()
        z.extractall(tmp_path)
    assert "001_object.obj" in names and "001_object.mtl" in names
    assert any(n.endswith(".png") for n in names)
    mesh = trimesh.load_mesh(tmp_path / "001_object.obj", process=False)
    assert len(mesh.faces) == 80
    assert isinstance(mesh.visual, trimesh.visual.TextureVisuals)
    texture = mesh.visual.material.image.convert("RGB")
    assert texture.getpixel((4, 4)) == COLOURS[1]
    stl = trimesh.load_mesh(job_dir / _artifact(result, "stl").relative_path)
    assert len(stl.faces) == 80 and stl.is_watertight
    ply = trimesh.load_mesh(job_dir / _artifact(result, "ply").relative_path)
    assert len(ply.faces) == 80
    assert isinstance(ply.visual, trimesh.visual.ColorVisuals)
    assert tuple(ply.visual.vertex_colors[0][:3]) == COLOURS[1]


async def test_target_faces_reaches_the_shape_stage_and_the_result(orch: Harness) -> None:
    events = await _job(orch, target_faces=5000)
    assert {r.target_faces for r in orch.behaviour.shape_requests} == {5000}
    assert {r.target_faces for r in _results(events).values()} == {5000}
    manifest = json.loads((_job_dir(orch, events) / "manifest.json").read_text())
    assert manifest["options"]["target_faces"] == 5000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"formats": ["usdz"]}, "usdz is not supported"),
        ({"target_faces": 10}, "target_faces=10 is out of range"),
    ],
)
async def test_bad_output_options_are_invalid_argument(
    orch: Harness, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _job(orch, **options)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.value.details() or "")


async def test_an_empty_matte_is_skipped_not_failed(orch: Harness) -> None:
    orch.behaviour.empty_colour = COLOURS[2]
    events = await _job(orch)
    summary = events[-1].done.summary
    assert summary.state == pb.JOB_STATE_SUCCEEDED
    assert (summary.objects_succeeded, summary.objects_failed, summary.objects_skipped) == (3, 0, 1)
    (skipped,) = [e.skipped for e in events if e.HasField("skipped")]
    assert skipped.object_index == 2 and skipped.stage == pb.STAGE_MATTING
    assert "empty matte" in skipped.reason
    assert not any(e.HasField("error") for e in events)
    assert len(orch.behaviour.shape_requests) == 3  # the shape stage never saw it
    view = await orch.stub.GetJob(pb.GetJobRequest(job_id=events[0].job_id))
    assert [s.object_index for s in view.skipped] == [2] and len(view.results) == 3
    job_dir = _job_dir(orch, events)
    manifest = json.loads((job_dir / "manifest.json").read_text())
    assert manifest["objects"][2]["status"] == "skipped"
    assert manifest["objects"][2]["skipped"]["stage"] == "matting"
    assert manifest["objects_skipped"] == 1
    scene = trimesh.load_scene(job_dir / "scene.glb")
    assert sorted(scene.graph.nodes_geometry) == ["000_object", "001_object", "003_object"]
    outcomes = orch.app.metrics.objects
    assert outcomes.labels("skipped")._value.get() == 1
    assert outcomes.labels("succeeded")._value.get() == 3


async def test_a_job_of_only_empty_mattes_fails_with_a_reason(orch: Harness) -> None:
    orch.behaviour.empty_colour = COLOURS[0]
    image, boxes = grid_photo()
    orch.behaviour.boxes = boxes[:1]
    events = await orch.run_job(image)
    summary = events[-1].done.summary
    assert summary.state == pb.JOB_STATE_FAILED and summary.objects_skipped == 1
    assert "skipped" in summary.error
    assert not events[-1].done.HasField("scene")


async def test_remove_background_false_uses_the_whole_crop_without_alpha(orch: Harness) -> None:
    events = await _job(orch, remove_background=False)
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    assert not [c for c in orch.behaviour.calls if c[0] == "matting"]
    job_dir = _job_dir(orch, events)
    for result in _results(events).values():
        assert [s.stage for s in result.stages] == [pb.STAGE_SHAPE, pb.STAGE_TEXTURE]
        matte = np.asarray(Image.open(job_dir / _artifact(result, "matte").relative_path))
        assert matte.shape[2] == 4 and (matte[..., 3] == 255).all()
    manifest = json.loads((job_dir / "manifest.json").read_text())
    assert {o["matte_source"] for o in manifest["objects"]} == {"opaque"}
    assert manifest["options"]["remove_background"] is False


async def test_remove_background_false_uses_the_photo_alpha(orch: Harness) -> None:
    events = await _job(orch, "RGBA", remove_background=False)
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    assert not [c for c in orch.behaviour.calls if c[0] == "matting"]
    job_dir = _job_dir(orch, events)
    result = _results(events)[0]
    crop = _artifact(result, "crop")
    alpha = np.asarray(Image.open(job_dir / _artifact(result, "matte").relative_path))[..., 3]
    crop_alpha = np.asarray(Image.open(job_dir / crop.relative_path))[..., 3]
    np.testing.assert_array_equal(alpha, crop_alpha)
    assert 0 < (alpha == 255).mean() < 1  # the square opaque, its padding transparent
    manifest = json.loads((job_dir / "manifest.json").read_text())
    assert {o["matte_source"] for o in manifest["objects"]} == {"photo_alpha"}


async def test_remove_background_false_skips_a_transparent_box(orch: Harness) -> None:
    image, boxes = grid_photo("RGBA")
    orch.behaviour.boxes = [*boxes, (150.0, 120.0, 200.0, 160.0)]  # a box over nothing
    events = await orch.run_job(image, options=pb.JobOptions(remove_background=False))
    summary = events[-1].done.summary
    assert summary.state == pb.JOB_STATE_SUCCEEDED and summary.objects_skipped == 1
    (skipped,) = [e.skipped for e in events if e.HasField("skipped")]
    assert skipped.object_index == 4 and "photo's alpha" in skipped.reason


def test_the_orchestrator_renders_without_torch_or_stage_code() -> None:
    code = (
        "import sys, orchestrator.server, orchestrator.outputs; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'services')); "
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


async def test_a_resumed_job_keeps_its_finished_objects_in_the_scene(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    # two texture calls at once: object 0 finishes while object 1 stalls, whichever comes first
    texture = StageEndpoint(address=stage_address, deadline_seconds=10.0, concurrency=2)
    settings = make_settings(tmp_path, stage_address, texture=texture)
    image, boxes = grid_photo()
    behaviour.boxes = boxes[:2]
    behaviour.slow_texture_colour = COLOURS[1]
    async with running_orchestrator(settings, behaviour) as first:
        call = first.stub.SubmitJob(pb.SubmitJobRequest(image=image))
        async for event in call:
            if event.HasField("result"):
                break
        job_id = event.job_id
        call.cancel()
    assert event.result.object_index == 0 and event.result.scene.relative_path == "scene.glb"
    behaviour.slow_texture_colour = None
    behaviour.texture_released.set()
    async with running_orchestrator(settings, behaviour) as second:
        assert await second.app.jobs.resume() == 1
        events = [e async for e in second.stub.WatchJob(pb.WatchJobRequest(job_id=job_id))]
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    job_dir = tmp_path / job_id
    scene = trimesh.load_scene(job_dir / "scene.glb")
    assert sorted(scene.graph.nodes_geometry) == ["000_object", "001_object"]
    assert sorted(p.name for p in (job_dir / "previews").iterdir()) == [
        "000_object.png",
        "001_object.png",
    ]
    with Image.open(job_dir / "contact_sheet.png") as sheet:
        assert sheet.width == 2 * 256


async def test_rebuilds_coalesce_and_keep_objects_added_meanwhile() -> None:
    written: list[bytes] = []

    async def write(data: bytes) -> Artifact:
        written.append(data)
        return Artifact(
            artifact_id="j:scene.glb",
            kind="scene",
            relative_path="scene.glb",
            size_bytes=len(data),
            media_type="model/gltf-binary",
        )

    def placed(i: int) -> Placed:
        rgba = Image.new("RGBA", (20, 20), (*COLOURS[i], 255))
        glb = painted_sphere(rgba).export(file_type="glb")
        assert isinstance(glb, bytes)
        return Placed(i, f"00{i}_object", Box(x1=30 * i, y1=0, x2=30 * i + 20, y2=20), glb)

    assembler = SceneAssembler(400, 300, write)
    assembler.add(placed(0))
    first = asyncio.create_task(assembler.rebuild())
    await asyncio.sleep(0)  # the first build is running in its thread
    assembler.add(placed(1))
    assembler.add(placed(2))
    await asyncio.gather(first, assembler.rebuild(), assembler.rebuild())
    assert len(written) == 2  # the two later rebuilds were one
    scene = trimesh.load_scene(io.BytesIO(written[-1]), file_type="glb")
    assert sorted(scene.graph.nodes_geometry) == ["000_object", "001_object", "002_object"]
    for i in range(3):
        geometry = scene.geometry[scene.graph[f"00{i}_object"][1]]
        assert (
            geometry.visual.material.baseColorTexture.convert("RGB").getpixel((4, 4)) == COLOURS[i]
        )
