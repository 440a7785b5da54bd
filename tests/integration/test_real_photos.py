"""A phone photo stored sideways (EXIF orientation 6) gives upright boxes and crops, through
the five real processes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.v1 import orchestrator_pb2 as pb
from tests.integration.scenes import SCENE_BOXES, iou, three_object_scene
from tests.support.photos import exif_rotated_jpeg

pytestmark = pytest.mark.slow


def test_exif_rotated_photo_gives_upright_crops(client: MeshpipeClient, out_dir: Path) -> None:
    upright = Image.open(io.BytesIO(three_object_scene())).convert("RGB")  # 480x320
    sideways = exif_rotated_jpeg(upright, 6)
    assert Image.open(io.BytesIO(sideways)).size == (320, 480)  # as stored
    events: list[pb.JobEvent] = []
    client.submit(
        sideways,
        on_event=events.append,
        options=job_options(texture=False, octree_resolution=64),
    )
    assert events[0].accepted.image_width == 480 and events[0].accepted.image_height == 320
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    results = [e.result for e in events if e.WhichOneof("event") == "result"]
    found = [(r.box.x1, r.box.y1, r.box.x2, r.box.y2) for r in results]
    for truth in SCENE_BOXES:  # boxes in upright coordinates
        assert max(iou(truth, box) for box in found) > 0.6, (truth, found)
    folder = out_dir / events[0].job_id
    manifest = json.loads((folder / "manifest.json").read_text())
    for obj in manifest["objects"]:
        crop_rel = next(a["relative_path"] for a in obj["artifacts"] if a["kind"] == "crop")
        crop = np.asarray(Image.open(folder / crop_rel).convert("RGB")).astype(int)
        x1, y1, x2, y2 = (round(obj["crop_box"][k]) for k in ("x1", "y1", "x2", "y2"))
        expected = np.asarray(upright).astype(int)[y1:y2, x1:x2]
        assert crop.shape == expected.shape
        assert np.abs(crop - expected).mean() < 6  # the upright photo's pixels (JPEG noise)
