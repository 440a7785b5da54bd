"""`meshpipe stage matting` as a real process: ready file, health, Matte over a socket,
graceful SIGTERM. Needs ~/.u2net/u2netp.onnx (`meshpipe weights fetch-default`)."""

from __future__ import annotations

import io

import grpc
import numpy as np
from PIL import Image

from meshpipe.images import encode_png
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from tests.support.stage_process import running_stage
from tests.unit.scenes.compose import mask_iou
from tests.unit.scenes.library import matting_crop


def test_matting_process_serves_matte_and_stops_cleanly() -> None:
    scene = matting_crop("coffee", "grass", (0.45, 0.75, 0.35))
    with running_stage("matting") as stage:
        with grpc.insecure_channel(stage.grpc_address) as channel:
            request = stage_pb2.MatteRequest(image=encode_png(Image.fromarray(scene.image)))
            reply = stage_pb2_grpc.MattingStub(channel).Matte(request, timeout=120)
        rgba = Image.open(io.BytesIO(reply.rgba_png))
        assert rgba.mode == "RGBA" and rgba.size == (scene.image.shape[1], scene.image.shape[0])
        alpha = np.asarray(rgba)[..., 3] >= 128
        assert mask_iou(alpha, scene.mask) >= 0.95
        assert abs(reply.foreground_fraction - alpha.mean()) < 0.01
        assert (reply.report.backend.backend, reply.report.backend.weights) == ("rembg", "u2netp")
        assert reply.report.load_wait_seconds > 0  # lazy: the first request loaded the model
        assert stage.stop() == 0, stage.log_tail()
