"""`meshpipe stage detector` as a real process: ready file, health, Detect over a socket,
metrics, graceful SIGTERM."""

from __future__ import annotations

import urllib.request

import grpc
from PIL import Image

from meshpipe.images import encode_png
from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc
from tests.support.stage_process import running_stage
from tests.unit.scenes.compose import box_iou
from tests.unit.scenes.library import three_objects


def test_detector_process_serves_detect_and_stops_cleanly() -> None:
    scene = three_objects(3)
    with running_stage("detector") as stage:
        with grpc.insecure_channel(stage.grpc_address) as channel:
            admin = stage_pb2_grpc.StageAdminStub(channel)
            assert admin.Describe(stage_pb2.DescribeRequest()).state == common_pb2.MODEL_STATE_COLD
            request = stage_pb2.DetectRequest(
                image=encode_png(Image.fromarray(scene.image)), prompt="mug, lamp"
            )
            reply = stage_pb2_grpc.DetectorStub(channel).Detect(request, timeout=60)
            described = admin.Describe(stage_pb2.DescribeRequest())
        boxes = [(d.box.x1, d.box.y1, d.box.x2, d.box.y2) for d in reply.detections]
        assert len(boxes) == 3
        assert all(max(box_iou(b, truth) for b in boxes) >= 0.8 for truth in scene.boxes)
        assert reply.category_filtering_applied is False and reply.notices
        assert reply.report.backend.backend == "embedded-saliency"
        assert described.state == common_pb2.MODEL_STATE_RESIDENT
        assert stage.metrics_url is not None
        with urllib.request.urlopen(stage.metrics_url, timeout=10) as resp:
            metrics = resp.read().decode()
        assert (
            'meshpipe_stage_requests_total{code="OK",method="Detect",stage="detector"} 1.0'
            in metrics
        )
        assert stage.stop() == 0, stage.log_tail()
