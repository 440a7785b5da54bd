"""Budget sizing, settings from the environment, simulated devices and metric labels."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from meshpipe.runtime.settings import StageSettings
from meshpipe.runtime.simdevice import SimulatedDeviceBackend, simulate_device
from orchestrator.arbiter.ledger import GIB, MIB, HolderView, LedgerSnapshot
from orchestrator.arbiter.metrics import ArbiterMetrics, stage_label
from orchestrator.arbiter.settings import ArbiterSettings
from orchestrator.arbiter.truth import SimulatedProbe, open_probe
from tests.unit.runtime.fakes import FakeBackend


def test_budget_is_bytes_or_a_fraction_minus_the_margin() -> None:
    by_bytes = ArbiterSettings(budget_bytes="20GiB", safety_margin_bytes="512MiB")
    assert by_bytes.budget_for(80 * GIB) == 20 * GIB - 512 * MIB
    by_fraction = ArbiterSettings(budget_fraction=0.5, safety_margin_bytes=0)
    assert by_fraction.budget_for(80 * GIB) == 40 * GIB
    with pytest.raises(ValueError, match="exceeds"):
        ArbiterSettings(budget_bytes="100GiB").budget_for(80 * GIB)
    with pytest.raises(ValueError, match="nothing to grant"):
        ArbiterSettings(budget_bytes="256MiB").budget_for(80 * GIB)


def test_arbiter_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHPIPE_ARBITER_BUDGET_BYTES", "24GiB")
    monkeypatch.setenv("MESHPIPE_ARBITER_ESTIMATES", '{"shape": "10GiB", "texture": 1024}')
    monkeypatch.setenv("MESHPIPE_ARBITER_TTL_SECONDS", "3")
    config = ArbiterSettings().config(80 * GIB)
    assert config.budget_bytes == 24 * GIB - 512 * MIB
    assert config.estimates == {"shape": 10 * GIB, "texture": 1024}
    assert config.ttl_seconds == 3.0


def test_without_nvml_auto_falls_back_to_the_simulated_device() -> None:
    probe = open_probe("auto", 0, 16 * GIB)
    if probe.source == "nvml":
        pytest.skip("this machine has NVML")
    assert isinstance(probe, SimulatedProbe) and probe.total_bytes() == 16 * GIB
    with pytest.raises(RuntimeError, match="NVML unavailable"):
        open_probe("nvml", 0, 16 * GIB)


def test_simulated_truth_is_what_holders_report() -> None:
    holder = HolderView("a", "shape", 1, 4 * GIB, GIB, 4 * GIB, 1.0, False, False, 0.0, 5 * GIB)
    snap = LedgerSnapshot(0, 10 * GIB, 5 * GIB, 5 * GIB, (holder, holder), (), {})
    reading = SimulatedProbe(16 * GIB).read(snap)
    assert (reading.total, reading.used) == (16 * GIB, 10 * GIB)


def test_drift_beyond_the_threshold_is_counted_by_direction() -> None:
    metrics = ArbiterMetrics(CollectorRegistry())
    metrics.publish_truth(0, "nvml", 80 * GIB, 12 * GIB, 2 * GIB, GIB)
    metrics.publish_truth(0, "nvml", 80 * GIB, 10 * GIB, GIB // 2, GIB)
    metrics.publish_truth(0, "nvml", 80 * GIB, 10 * GIB, -3 * GIB, GIB)

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"device": "0", **labels})

    assert value("meshpipe_arbiter_drift_events_total", direction="over") == 1
    assert value("meshpipe_arbiter_drift_events_total", direction="under") == 1
    assert value("meshpipe_arbiter_drift_bytes") == -3 * GIB


def test_stage_labels_stay_bounded() -> None:
    assert stage_label("shape") == "shape"
    assert stage_label("my-experiment-42") == "other"


def test_simulated_device_reports_model_and_context_like_nvidia_smi() -> None:
    settings = StageSettings(sim_device_bytes="4GiB", sim_context_bytes="617MiB")
    backend = simulate_device(FakeBackend(), settings)
    assert isinstance(backend, SimulatedDeviceBackend)
    assert backend.footprint_bytes == 4 * GIB and backend.memory().reserved == 0
    backend.load()
    mem = backend.memory()
    assert (mem.allocated, mem.reserved, mem.peak_reserved) == (
        4 * GIB,
        4 * GIB + 617 * MIB,
        4 * GIB,
    )
    backend.park()
    assert backend.memory().reserved == 617 * MIB, "an in-process park leaves the context"
    assert backend.infer(1) == 2, "inference methods are the wrapped backend's"
    assert backend.info.device == "sim:0"
    assert simulate_device(FakeBackend(), StageSettings()).info.device == "cpu"
