"""The dashboard and alert rules parse, are up to date, and use only exported metrics.

Exported metrics are read by scraping real processes (a stage, the arbiter and the
orchestrator) started on free ports; families appear in /metrics with their HELP and TYPE
lines even before they have samples.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.processes import serving
from tests.support.gateway_process import running_gateway

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "meshpipe-dashboard.json"
RULES = MONITORING / "prometheus" / "meshpipe-alerts.yaml"
# Series that come from Prometheus itself or kube-state-metrics, not from meshpipe.
EXTERNAL = re.compile(r"^(up|kube_.*)$")
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "6h", "$stage": ".*"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def rule_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r["expr"] for g in groups for r in g["rules"]]


def scaled_object_exprs() -> list[str]:
    path = ROOT / "deploy" / "k8s" / "overlays" / "node-pools" / "scaledobjects.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return [t["metadata"]["query"] for d in docs for t in d["spec"]["triggers"]]


def parse(expr: str) -> Any:
    for var, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(var, value)
    return promql_parser.parse(expr)


def metric_names(node: Any) -> Iterator[str]:
    """Every metric name a parsed PromQL expression selects."""
    if isinstance(node, promql_parser.VectorSelector) and node.name:
        yield node.name
    for attr in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, (str, int, float)):
            yield from metric_names(child)
    for arg in getattr(node, "args", None) or ():
        yield from metric_names(arg)


def used_metrics() -> set[str]:
    exprs = dashboard_exprs() + rule_exprs() + scaled_object_exprs()
    return {name for expr in exprs for name in metric_names(parse(expr))}


def exported(url: str) -> set[str]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + s for s in SUFFIXES.get(family.type, ("",)))
    return names


def test_generated_files_are_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(MONITORING / "generate.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_every_expression_parses_and_the_walker_finds_names() -> None:
    exprs = dashboard_exprs() + rule_exprs()
    assert len(exprs) > 30
    for expr in exprs:
        assert list(metric_names(parse(expr))), f"no metric found in {expr}"
    assert set(metric_names(parse("sum(rate(a_total[5m])) / on () b"))) == {"a_total", "b"}
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(a_total[5m])")


def test_dashboard_covers_the_design_s_panels() -> None:
    text = DASHBOARD.read_text()
    for metric in ("meshpipe_arbiter_budget_bytes", "meshpipe_arbiter_granted_bytes",
                   "meshpipe_arbiter_device_used_bytes", "meshpipe_stage_model_state",
                   "meshpipe_stage_transitions_total", "meshpipe_stage_transition_seconds_bucket",
                   "meshpipe_arbiter_wait_seconds_bucket", "meshpipe_orchestrator_stage_queue_depth",
                   "meshpipe_orchestrator_job_seconds_bucket", "meshpipe_stage_requests_total"):  # fmt: skip
        assert metric in text, metric
    ids = [p["id"] for p in json.loads(text)["panels"]]
    assert len(ids) == len(set(ids))


def test_alerts_cover_drift_waits_ooms_stuck_jobs_and_restarts() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    alerts = {r["alert"]: r for g in groups for r in g["rules"]}
    for name in ("MeshpipeLedgerDrift", "MeshpipeLeaseWaitsHigh", "MeshpipeStageOutOfMemory",
                 "MeshpipeJobsStuck", "MeshpipeStageRestarting"):  # fmt: skip
        assert name in alerts
    for rule in alerts.values():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


@pytest.mark.slow
def test_every_metric_used_is_exported_by_a_real_process(tmp_path: Path) -> None:
    names: set[str] = set()
    with (
        serving(["stage", "matting", "--host", "127.0.0.1"]) as stage,
        serving(["arbiter", "--host", "127.0.0.1", "--device-kind", "simulated"]) as arbiter,
        serving(["orchestrator", "--host", "127.0.0.1", "--out", str(tmp_path)]) as orch,
        running_gateway(orch.grpc_address) as gateway,
    ):
        for served in (stage, arbiter, orch):
            names |= exported(served.metrics_url)
        names |= exported(f"{gateway.url}/metrics")
    missing = {m for m in used_metrics() - names if not EXTERNAL.match(m)}
    assert not missing, f"used but not exported: {sorted(missing)}"
    assert "meshpipe_stage_model_state" in names and "meshpipe_arbiter_drift_bytes" in names
