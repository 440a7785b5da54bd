"""Stage placement on GPUs: a stage on cuda:N joins ledger N, the orchestrator learns each
stage's GPU from `<stage>.device_index` (one nested field can be set alone), and keeps
one arbiter ledger per GPU in use."""

from __future__ import annotations

import pytest

from meshpipe.cli.arbiter_cmd import _indices
from meshpipe.runtime.settings import StageSettings
from orchestrator.arbiter.settings import ArbiterSettings
from orchestrator.domain import Stage
from orchestrator.settings import OrchestratorSettings


def test_a_stage_on_cuda_n_takes_its_leases_from_ledger_n() -> None:
    assert StageSettings(device="cuda:1").device_index == 1
    assert StageSettings(device="cuda:1", device_index=0).device_index == 0, "explicit wins"
    assert StageSettings(device="cuda").device_index == 0
    assert StageSettings(device="cpu").device_index == 0


def test_placement_from_one_nested_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHPIPE_ORCHESTRATOR_TEXTURE__DEVICE_INDEX", "1")
    settings = OrchestratorSettings()
    assert settings.texture.address == "127.0.0.1:50064", "the default address stays"
    assert settings.placement() == {
        Stage.DETECTOR: 0, Stage.MATTING: 0, Stage.SHAPE: 0, Stage.TEXTURE: 1
    }  # fmt: skip
    assert settings.arbiter_devices() == [0, 1]


def test_unplaced_stages_follow_the_arbiter_s_device() -> None:
    settings = OrchestratorSettings(arbiter=ArbiterSettings(device_index=2))
    assert set(settings.placement().values()) == {2}
    assert settings.arbiter_devices() == [2]


def test_an_arbiter_process_keeps_one_ledger_per_listed_gpu() -> None:
    assert ArbiterSettings().device_indices() == [0]
    settings = ArbiterSettings(devices=[1, 0, 1], budget_bytes=8 << 30)
    assert settings.device_indices() == [0, 1]
    one = settings.for_device(1)
    assert one.device_index == 1 and one.device_indices() == [1]
    assert one.config(16 << 30).budget_bytes == settings.config(16 << 30).budget_bytes
    assert _indices("0, 1") == [0, 1]
