"""End to end through five real processes: photo in, one textured GLB per object out."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import trimesh

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc
from tests.integration.scenes import SCENE_BOXES, coffee_jpeg, iou, three_object_scene

pytestmark = pytest.mark.slow
MIB = 1024 * 1024


@dataclass
class Job:
    events: list[pb.JobEvent]
    folder: Path

    @property
    def done(self) -> pb.JobDone:
        return self.events[-1].done

    def of_kind(self, kind: str) -> list[pb.JobEvent]:
        return [e for e in self.events if e.WhichOneof("event") == kind]


def run_job(client: MeshpipeClient, out: Path, image: bytes, **kwargs: object) -> Job:
    events: list[pb.JobEvent] = []
    client.submit(image, on_event=events.append, **kwargs)  # type: ignore[arg-type]
    return Job(events, out / events[0].job_id)


@pytest.fixture(scope="module")
def coffee(client: MeshpipeClient, out_dir: Path) -> Job:
    """The coffee photo, textured at the default texture size (its GLB is over 1 MiB)."""
    return run_job(client, out_dir, coffee_jpeg(), name="coffee", options=job_options(seed=5))


def test_events_come_in_order(coffee: Job) -> None:
    kinds = [e.WhichOneof("event") for e in coffee.events]
    assert kinds[0] == "accepted" and kinds[1] == "detections" and kinds[-1] == "done"
    assert kinds.count("accepted") == kinds.count("done") == 1
    assert [e.sequence for e in coffee.events] == list(range(len(coffee.events)))
    assert coffee.done.summary.state == pb.JOB_STATE_SUCCEEDED
    objects = coffee.of_kind("detections")[0].detections.objects
    assert len(coffee.of_kind("result")) == len(objects) >= 1
    for result in coffee.of_kind("result"):
        index = result.result.object_index
        stages = [
            (e.progress.stage, e.progress.finished, e.sequence)
            for e in coffee.of_kind("progress")
            if e.progress.object_index == index
        ]
        assert [(s, f) for s, f, _ in stages] == [
            (st, fin)
            for st in (pb.STAGE_MATTING, pb.STAGE_SHAPE, pb.STAGE_TEXTURE)
            for fin in (False, True)
        ]
        assert max(seq for _, _, seq in stages) < result.sequence


def test_every_object_has_a_textured_glb_that_reloads(coffee: Job) -> None:
    for event in coffee.of_kind("result"):
        result = event.result
        glb = next(a for a in result.artifacts if a.kind == "textured_mesh")
        assert glb.media_type == "model/gltf-binary"
        scene = trimesh.load_scene(coffee.folder / glb.relative_path, file_type="glb")
        meshes = list(scene.geometry.values())
        assert sum(len(m.faces) for m in meshes) == result.face_count > 100
        material = meshes[0].visual.material
        texture = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
        assert texture is not None and min(texture.size) >= 256
        assert [s.report.backend.backend != "" for s in result.stages] == [True] * 3


def test_folder_layout_and_manifest(coffee: Job) -> None:
    files = {
        p.relative_to(coffee.folder).as_posix() for p in coffee.folder.rglob("*") if p.is_file()
    }
    assert {f.split("/")[0] for f in files} == {
        "input.jpg",
        "manifest.json",
        "crops",
        "mattes",
        "meshes",
        "textured",
        "previews",
        "scene.glb",
        "contact_sheet.png",
    }
    manifest = json.loads((coffee.folder / "manifest.json").read_text())
    assert manifest["job_id"] == coffee.events[0].job_id and manifest["seed"] == 5
    assert manifest["detector"]["backend"]["backend"]
    listed = {manifest["input"]["artifact"]["relative_path"]: manifest["input"]["artifact"]}
    for obj in manifest["objects"]:
        assert obj["status"] == "succeeded" and obj["error"] is None
        assert [s["stage"] for s in obj["stages"]] == ["matting", "shape", "texture"]
        assert all(s["backend"] and s["weights"] and s["seconds"] > 0 for s in obj["stages"])
        listed.update({a["relative_path"]: a for a in obj["artifacts"]})
    listed.update({manifest[k]["relative_path"]: manifest[k] for k in ("scene", "contact_sheet")})
    assert set(listed) == files - {"manifest.json"}
    for path, artifact in listed.items():
        assert (coffee.folder / path).stat().st_size == artifact["size_bytes"], path
    assert coffee.done.manifest.size_bytes == (coffee.folder / "manifest.json").stat().st_size


def test_large_artifact_downloads_in_chunks(
    coffee: Job, client: MeshpipeClient, meshpipe_system: LocalSystem, tmp_path: Path
) -> None:
    result = coffee.of_kind("result")[0].result
    glb = next(a for a in result.artifacts if a.kind == "textured_mesh")
    assert glb.size_bytes > MIB
    with grpc.insecure_channel(meshpipe_system.orchestrator_address) as channel:
        stub = orchestrator_pb2_grpc.OrchestratorStub(channel)
        chunks = list(
            stub.DownloadArtifact(pb.DownloadArtifactRequest(artifact_id=glb.artifact_id))
        )
    assert len(chunks) >= 2 and all(len(c.data) <= MIB for c in chunks)
    size = client.download(glb.artifact_id, tmp_path / "mesh.glb")
    assert size == glb.size_bytes
    assert (tmp_path / "mesh.glb").read_bytes() == (coffee.folder / glb.relative_path).read_bytes()


def test_prompt_notice_reaches_the_client(client: MeshpipeClient, out_dir: Path) -> None:
    job = run_job(
        client,
        out_dir,
        coffee_jpeg(),
        prompt="mug, lamp",
        options=job_options(texture=False, octree_resolution=64),
    )
    detections = job.of_kind("detections")[0].detections
    assert not detections.category_filtering_applied
    assert any("category filtering" in n and "VL" in n for n in detections.notices)
    assert job.done.summary.prompt == "mug, lamp"


def test_no_texture_stops_after_shape(client: MeshpipeClient, out_dir: Path) -> None:
    job = run_job(
        client, out_dir, coffee_jpeg(), options=job_options(texture=False, octree_resolution=64)
    )
    assert job.done.summary.state == pb.JOB_STATE_SUCCEEDED
    for event in job.of_kind("result"):
        assert [s.stage for s in event.result.stages] == [pb.STAGE_MATTING, pb.STAGE_SHAPE]
        mesh = next(a for a in event.result.artifacts if a.kind == "mesh")
        loaded = trimesh.load_mesh(job.folder / mesh.relative_path, file_type="glb")
        assert len(loaded.faces) == event.result.face_count
    assert not (job.folder / "textured").exists()


def test_synthetic_scene_with_three_objects_gives_three_results(
    client: MeshpipeClient, out_dir: Path
) -> None:
    job = run_job(
        client,
        out_dir,
        three_object_scene(),
        options=job_options(octree_resolution=64, texture_size=256),
    )
    results = [e.result for e in job.of_kind("result")]
    assert len(results) == 3 and job.done.summary.objects_succeeded == 3
    found = [(r.box.x1, r.box.y1, r.box.x2, r.box.y2) for r in results]
    for truth in SCENE_BOXES:
        assert max(iou(truth, box) for box in found) > 0.6, (truth, found)


def test_cancellation(client: MeshpipeClient, out_dir: Path) -> None:
    events: list[pb.JobEvent] = []

    def cancel_on_first_stage(event: pb.JobEvent) -> None:
        events.append(event)
        if event.HasField("progress") and len(events) == 3:
            assert client.cancel(event.job_id) == pb.JOB_STATE_CANCELLED

    done = client.submit(
        three_object_scene(),
        options=job_options(octree_resolution=64, texture_size=256),
        on_event=cancel_on_first_stage,
    )
    assert done.done.summary.state == pb.JOB_STATE_CANCELLED
    assert done.done.summary.objects_succeeded < 3
    assert {e.error.code for e in events if e.HasField("error")} == {"CANCELLED"}
    assert client.get(done.job_id).summary.state == pb.JOB_STATE_CANCELLED
    assert json.loads((out_dir / done.job_id / "manifest.json").read_text())["state"] == "cancelled"


def test_metrics_count_jobs(coffee: Job, meshpipe_system: LocalSystem) -> None:
    port = meshpipe_system.metrics_ports["orchestrator"]
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    succeeded = next(
        line
        for line in text.splitlines()
        if line.startswith('meshpipe_orchestrator_jobs_total{outcome="succeeded"}')
    )
    assert float(succeeded.split()[-1]) >= 1
    assert 'meshpipe_orchestrator_stage_seconds_bucket{code="OK",le="+Inf",stage="shape"}' in text
