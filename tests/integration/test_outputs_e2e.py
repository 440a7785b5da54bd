"""Job outputs through five real processes (embedded backends): scene, previews, contact
sheet, extra formats, target_faces, skipped empty proposals, remove_background=false."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.v1 import orchestrator_pb2 as pb
from tests.integration.scenes import (
    EMPTY_SCENE_PATCH,
    SCENE_BOXES,
    coffee_jpeg,
    empty_proposal_scene,
    iou,
    three_object_scene,
    with_transparent_background,
)

pytestmark = pytest.mark.slow
TARGET = 5000


def submit(client: MeshpipeClient, image: bytes, **options: object) -> list[pb.JobEvent]:
    events: list[pb.JobEvent] = []
    client.submit(image, options=job_options(seed=11, **options), on_event=events.append)  # type: ignore[arg-type]
    return events


def results(events: list[pb.JobEvent]) -> list[pb.ObjectResult]:
    return [e.result for e in events if e.HasField("result")]


def artifact(result: pb.ObjectResult, kind: str) -> pb.Artifact:
    return next(a for a in result.artifacts if a.kind == kind)


@pytest.fixture(scope="module")
def coffee(client: MeshpipeClient) -> list[pb.JobEvent]:
    return submit(client, coffee_jpeg(), formats=["obj", "stl", "ply"], target_faces=TARGET)


def test_coffee_meets_target_faces_and_gets_every_format(
    coffee: list[pb.JobEvent], out_dir: Path, tmp_path: Path
) -> None:
    assert coffee[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    job_dir = out_dir / coffee[0].job_id
    for result in results(coffee):
        assert result.target_faces == TARGET
        assert abs(result.face_count - TARGET) <= 0.05 * TARGET
        with zipfile.ZipFile(job_dir / artifact(result, "obj").relative_path) as z:
            z.extractall(tmp_path)
        (obj_file,) = tmp_path.glob("*.obj")
        mesh = trimesh.load_mesh(obj_file, process=False)
        assert abs(len(mesh.faces) - result.face_count) == 0
        assert isinstance(mesh.visual, trimesh.visual.TextureVisuals)
        assert mesh.visual.material.image.size == (1024, 1024)
        stl = trimesh.load_mesh(job_dir / artifact(result, "stl").relative_path)
        assert len(stl.faces) == result.face_count
        ply = trimesh.load_mesh(job_dir / artifact(result, "ply").relative_path)
        assert len(ply.faces) == result.face_count
        assert isinstance(ply.visual, trimesh.visual.ColorVisuals)


def test_coffee_preview_scene_and_contact_sheet(coffee: list[pb.JobEvent], out_dir: Path) -> None:
    job_dir = out_dir / coffee[0].job_id
    done = coffee[-1].done
    (result,) = results(coffee)
    with Image.open(job_dir / artifact(result, "preview").relative_path) as img:
        assert img.size == (512, 512) and img.mode == "RGBA"
        pixels = np.asarray(img)
    alpha = pixels[..., 3]
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
    assert (alpha == 255).mean() > 0.2
    assert pixels[alpha == 255][:, :3].std() > 10  # textured, not one flat colour
    scene = trimesh.load_scene(job_dir / done.scene.relative_path)
    assert list(scene.graph.nodes_geometry) == ["000_object"]
    with Image.open(job_dir / done.contact_sheet.relative_path) as sheet:
        assert sheet.width == 256
    manifest = json.loads((job_dir / "manifest.json").read_text())
    assert manifest["scene"]["relative_path"] == "scene.glb"
    assert manifest["objects"][0]["matte_source"] == "matting"


def test_three_objects_stand_left_to_right_in_the_scene(
    client: MeshpipeClient, out_dir: Path
) -> None:
    events = submit(client, three_object_scene(), octree_resolution=64, texture_size=256)
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    job_dir = out_dir / events[0].job_id
    scene = trimesh.load_scene(job_dir / "scene.glb")
    by_box: dict[int, float] = {}
    for result in results(events):
        box = (result.box.x1, result.box.y1, result.box.x2, result.box.y2)
        shape = max(range(3), key=lambda i: iou(box, SCENE_BOXES[i]))
        node = f"{result.object_index:03d}_object"
        by_box[shape] = float(scene.graph[node][0][0, 3])
        # the node's texture is the object's own: its textured GLB's image
        own = trimesh.load_scene(job_dir / artifact(result, "textured_mesh").relative_path)
        (own_mesh,) = own.geometry.values()
        placed = scene.geometry[scene.graph[node][1]]
        a = np.asarray(own_mesh.visual.material.baseColorTexture.convert("RGB"))
        b = np.asarray(placed.visual.material.baseColorTexture.convert("RGB"))
        np.testing.assert_array_equal(a, b)
    assert sorted(by_box) == [0, 1, 2]
    assert by_box[0] < by_box[1] < by_box[2]


def test_an_empty_proposal_is_skipped_and_the_job_succeeds(
    client: MeshpipeClient, out_dir: Path
) -> None:
    events = submit(client, empty_proposal_scene(), octree_resolution=64, texture_size=256)
    detected = next(e.detections for e in events if e.HasField("detections")).objects
    patch = [o.object_index for o in detected if o.box.x1 >= EMPTY_SCENE_PATCH[0] - 10]
    assert len(detected) == 2 and len(patch) == 1
    summary = events[-1].done.summary
    assert summary.state == pb.JOB_STATE_SUCCEEDED
    assert (summary.objects_succeeded, summary.objects_failed, summary.objects_skipped) == (1, 0, 1)
    (skipped,) = [e.skipped for e in events if e.HasField("skipped")]
    assert skipped.object_index == patch[0] and skipped.stage == pb.STAGE_MATTING
    scene = trimesh.load_scene(out_dir / events[0].job_id / "scene.glb")
    assert len(scene.graph.nodes_geometry) == 1


@pytest.mark.parametrize("alpha", [False, True])
def test_remove_background_false(client: MeshpipeClient, out_dir: Path, alpha: bool) -> None:
    photo = three_object_scene()
    image = with_transparent_background(photo) if alpha else photo
    events = submit(
        client,
        image,
        remove_background=False,
        max_objects=1,
        octree_resolution=32,
        texture_size=256,
    )
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    (result,) = results(events)
    assert [s.stage for s in result.stages] == [pb.STAGE_SHAPE, pb.STAGE_TEXTURE]
    job_dir = out_dir / events[0].job_id
    matte = np.asarray(Image.open(job_dir / artifact(result, "matte").relative_path))
    manifest = json.loads((job_dir / "manifest.json").read_text())
    if alpha:
        assert 0.2 < (matte[..., 3] == 255).mean() < 0.95  # the shape, not its padding
        assert manifest["objects"][0]["matte_source"] == "photo_alpha"
    else:
        assert (matte[..., 3] == 255).all()
        assert manifest["objects"][0]["matte_source"] == "opaque"
    with Image.open(
        io.BytesIO((job_dir / artifact(result, "preview").relative_path).read_bytes())
    ) as p:
        assert p.getpixel((0, 0))[3] == 0  # type: ignore[index]
