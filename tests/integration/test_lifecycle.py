"""Stage lifecycle on a real process: idle -> parked -> cold observed through the admin RPCs
and /metrics; N concurrent first requests -> exactly one load; admin load/unload."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
from PIL import Image

from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc
from tests.support.metrics import scrape, value
from tests.support.stage_process import running_stage

TIMERS = {"MESHPIPE_MATTING_PARK_AFTER": "1.0", "MESHPIPE_MATTING_UNLOAD_AFTER": "1.0"}


def crop_png() -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", (96, 96), (30, 90, 200))
    img.paste((240, 200, 40), (24, 24, 72, 72))
    img.save(buf, "PNG")
    return buf.getvalue()


def wait_for_state(admin: stage_pb2_grpc.StageAdminStub, state: int, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if admin.GetStatus(stage_pb2.GetStatusRequest(), timeout=5).state == state:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"state {common_pb2.ModelState.Name(state)} not reached in {timeout}s")


def state_gauge(url: str) -> str:
    samples = scrape(url)
    on = [
        s
        for s in ("cold", "loading", "resident", "parked", "unloading")
        if value(samples, "meshpipe_stage_model_state", stage="matting", state=s) == 1
    ]
    assert len(on) == 1, f"exactly one state gauge must be 1, got {on}"
    return on[0]


def test_idle_model_parks_then_unloads_on_its_own() -> None:
    with (
        running_stage("matting", env=TIMERS) as stage,
        grpc.insecure_channel(stage.grpc_address) as ch,
    ):
        assert stage.metrics_url
        admin = stage_pb2_grpc.StageAdminStub(ch)
        assert admin.Describe(stage_pb2.DescribeRequest()).state == common_pb2.MODEL_STATE_COLD
        assert state_gauge(stage.metrics_url) == "cold"
        stage_pb2_grpc.MattingStub(ch).Matte(stage_pb2.MatteRequest(image=crop_png()), timeout=60)
        assert (
            admin.GetStatus(stage_pb2.GetStatusRequest()).state == common_pb2.MODEL_STATE_RESIDENT
        )
        assert state_gauge(stage.metrics_url) == "resident"
        wait_for_state(admin, common_pb2.MODEL_STATE_PARKED, 10)
        assert state_gauge(stage.metrics_url) == "parked"
        wait_for_state(admin, common_pb2.MODEL_STATE_COLD, 10)
        status = admin.GetStatus(stage_pb2.GetStatusRequest())
        assert (status.cold_loads, status.parks, status.unloads) == (1, 1, 1)
        samples = scrape(stage.metrics_url)
        assert state_gauge(stage.metrics_url) == "cold"
        for kind, source in (("load", "cold"), ("park", "resident"), ("unload", "parked")):
            assert (
                value(
                    samples,
                    "meshpipe_stage_transitions_total",
                    stage="matting",
                    kind=kind,
                    source=source,
                )
                == 1
            ), (kind, source)
        assert stage.stop() == 0


def test_concurrent_first_requests_load_once() -> None:
    env = {"MESHPIPE_MATTING_MAX_CONCURRENCY": "4"}
    with (
        running_stage("matting", env=env) as stage,
        grpc.insecure_channel(stage.grpc_address) as ch,
    ):
        assert stage.metrics_url
        matting = stage_pb2_grpc.MattingStub(ch)
        request = stage_pb2.MatteRequest(image=crop_png())
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda _: matting.Matte(request, timeout=120), range(8)))
        assert all(r.rgba_png for r in replies)
        waited = [r.report.load_wait_seconds for r in replies]
        assert max(waited) > 0
        status = stage_pb2_grpc.StageAdminStub(ch).GetStatus(stage_pb2.GetStatusRequest())
        assert status.cold_loads == 1 and status.requests == 8
        samples = scrape(stage.metrics_url)
        assert (
            value(
                samples,
                "meshpipe_stage_transitions_total",
                stage="matting",
                kind="load",
                source="cold",
            )
            == 1
        )
        assert (
            value(
                samples, "meshpipe_stage_requests_total", stage="matting", method="Matte", code="OK"
            )
            == 8
        )


def test_admin_load_park_wake_and_bad_target() -> None:
    with running_stage("matting") as stage, grpc.insecure_channel(stage.grpc_address) as ch:
        admin = stage_pb2_grpc.StageAdminStub(ch)
        loaded = admin.Load(stage_pb2.LoadRequest(), timeout=60)
        assert loaded.state == common_pb2.MODEL_STATE_RESIDENT and loaded.seconds > 0
        assert admin.Load(stage_pb2.LoadRequest(), timeout=60).seconds == 0
        parked = admin.Unload(stage_pb2.UnloadRequest(target=common_pb2.MODEL_STATE_PARKED))
        assert parked.state == common_pb2.MODEL_STATE_PARKED
        reply = stage_pb2_grpc.MattingStub(ch).Matte(
            stage_pb2.MatteRequest(image=crop_png()), timeout=60
        )
        assert reply.rgba_png
        status = admin.GetStatus(stage_pb2.GetStatusRequest())
        assert (status.cold_loads, status.wakes, status.parks) == (1, 1, 1)
        try:
            admin.Unload(stage_pb2.UnloadRequest(target=common_pb2.MODEL_STATE_LOADING))
            raise AssertionError("unload to LOADING must be refused")
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert admin.Unload(stage_pb2.UnloadRequest()).state == common_pb2.MODEL_STATE_COLD
