"""Generate the Grafana dashboard and the Kubernetes PrometheusRule of meshpipe.

    python deploy/monitoring/generate.py           # rewrite the generated files
    python deploy/monitoring/generate.py --check   # fail if they are stale (CI)

Sources: the panel list below, and the alert rules in prometheus/meshpipe-alerts.yaml
(hand-written). Outputs: grafana/meshpipe-dashboard.json and
deploy/k8s/base/prometheusrule.yaml (the same rule groups wrapped for the Prometheus
Operator).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
RULES = HERE / "prometheus" / "meshpipe-alerts.yaml"
DASHBOARD = HERE / "grafana" / "meshpipe-dashboard.json"
PROMETHEUS_RULE = HERE.parent / "k8s" / "base" / "prometheusrule.yaml"
RI = "$__rate_interval"
STAGE = 'stage=~"$stage"'


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: a title, PromQL targets (expr, legend) and a unit."""

    title: str
    targets: list[tuple[str, str]]
    unit: str = "short"
    kind: str = "timeseries"
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def q(metric: str, by: str, rate: bool = False, sel: str = STAGE) -> str:
    """sum by (labels) of a metric (its per-second rate when asked)."""
    series = f"{metric}{{{sel}}}" if sel else metric
    inner = f"rate({series}[{RI}])" if rate else series
    return f"sum by ({by}) ({inner})"


def pct(p: float, metric: str, by: str, sel: str = STAGE) -> str:
    """A latency percentile of a histogram."""
    series = f"{metric}_bucket{{{sel}}}" if sel else f"{metric}_bucket"
    return f"histogram_quantile({p}, sum by (le, {by}) (rate({series}[{RI}])))"


STATE_CODE = " + ".join(
    f'{i} * sum by (stage) (meshpipe_stage_model_state{{state="{s}", {STAGE}}})'
    for i, s in enumerate(("cold", "loading", "resident", "parked", "unloading"))
)
STATE_MAPPINGS = [
    {
        "type": "value",
        "options": {
            str(i): {"text": s, "color": c, "index": i}
            for i, (s, c) in enumerate(
                (
                    ("cold", "blue"),
                    ("loading", "yellow"),
                    ("resident", "green"),
                    ("parked", "purple"),
                    ("unloading", "orange"),
                )
            )
        },
    }
]
PERCENTILES = ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))

ROWS: list[tuple[str, list[Panel]]] = [
    (
        "GPU memory",
        [
            Panel(
                "Budget vs granted vs NVML used (per GPU)",
                [
                    ("meshpipe_arbiter_budget_bytes", "budget gpu{{device}}"),
                    ("meshpipe_arbiter_granted_bytes", "granted gpu{{device}}"),
                    (
                        'meshpipe_arbiter_device_used_bytes{source="nvml"}',
                        "NVML used gpu{{device}}",
                    ),
                    ("meshpipe_arbiter_device_total_bytes", "device total gpu{{device}}"),
                ],
                "bytes",
                description="What the arbiter may grant, what it granted, and what NVML sees.",
            ),
            Panel(
                "Granted by stage (stacked) and ledger drift",
                [
                    ("sum by (stage) (meshpipe_arbiter_stage_granted_bytes)", "{{stage}}"),
                    ("meshpipe_arbiter_drift_bytes", "drift gpu{{device}} (used - granted)"),
                ],
                "bytes",
                options={"stack": True},
            ),
            Panel(
                "Stage device memory: torch reserved, NVML process, footprint",
                [
                    (q("meshpipe_stage_torch_reserved_bytes", "stage"), "{{stage}} reserved"),
                    (q("meshpipe_stage_nvml_process_bytes", "stage"), "{{stage}} NVML"),
                    (q("meshpipe_stage_footprint_bytes", "stage"), "{{stage}} footprint"),
                ],
                "bytes",
            ),
            Panel(
                "Learned footprints and learning reserve",
                [
                    ("max by (stage) (meshpipe_arbiter_learned_footprint_bytes)", "{{stage}}"),
                    ("meshpipe_arbiter_reserved_by_learning_bytes", "learning gpu{{device}}"),
                ],
                "bytes",
            ),
        ],
    ),
    (
        "Stage lifecycle",
        [
            Panel(
                "Model state over time",
                [(STATE_CODE, "{{stage}}")],
                kind="state-timeline",
                options={"mappings": STATE_MAPPINGS},
            ),
            Panel(
                "Residency (share of the range resident)",
                [
                    (
                        "avg by (stage) (avg_over_time(meshpipe_stage_model_state"
                        f'{{state="resident", {STAGE}}}[$__range]))',
                        "{{stage}}",
                    )
                ],
                "percentunit",
                kind="bargauge",
            ),
            Panel(
                "Loads, parks, unloads, lost models (per minute)",
                [
                    (
                        "60 * "
                        + q("meshpipe_stage_transitions_total", "stage, kind, source", True),
                        "{{stage}} {{kind}} from {{source}}",
                    ),
                    (
                        "60 * " + q("meshpipe_stage_model_lost_total", "stage", True),
                        "{{stage}} lost (worker died)",
                    ),
                ],
            ),
            Panel(
                "Transition durations (p50, p95)",
                [
                    (
                        pct(p, "meshpipe_stage_transition_seconds", "stage, kind"),
                        f"{{{{stage}}}} {{{{kind}}}} {n}",
                    )
                    for p, n in PERCENTILES[:2]
                ],
                "s",
            ),
        ],
    ),
    (
        "Leases and queues",
        [
            Panel(
                "Lease wait (p50, p95) by stage",
                [
                    (pct(p, "meshpipe_arbiter_wait_seconds", "stage"), f"{{{{stage}}}} {n}")
                    for p, n in PERCENTILES[:2]
                ],
                "s",
            ),
            Panel(
                "Lease queue, holders, evictions and denials",
                [
                    ("meshpipe_arbiter_queue_depth", "queued gpu{{device}}"),
                    ("meshpipe_arbiter_holders", "holders gpu{{device}}"),
                    (
                        "60 * sum by (stage) (rate(meshpipe_arbiter_evictions_total[$__rate_interval]))",
                        "evictions/min {{stage}}",
                    ),
                    (
                        "60 * sum by (stage, code) (rate(meshpipe_arbiter_denials_total[$__rate_interval]))",
                        "denials/min {{stage}} {{code}}",
                    ),
                ],
            ),
            Panel(
                "Queue depths",
                [
                    (
                        q("meshpipe_orchestrator_stage_queue_depth", "stage"),
                        "orchestrator -> {{stage}}",
                    ),
                    (q("meshpipe_stage_queued_requests", "stage"), "{{stage}} queued"),
                    (q("meshpipe_stage_in_flight_requests", "stage"), "{{stage}} in flight"),
                    ("sum by (state) (meshpipe_orchestrator_jobs_in_progress)", "jobs {{state}}"),
                ],
            ),
            Panel(
                "Stage call retries (per minute)",
                [
                    (
                        "60 * " + q("meshpipe_orchestrator_stage_retries_total", "stage", True),
                        "{{stage}}",
                    )
                ],
            ),
        ],
    ),
    (
        "Latency",
        [
            Panel(
                "Job latency",
                [
                    (
                        pct(p, "meshpipe_orchestrator_job_seconds", "outcome", sel=""),
                        f"{{{{outcome}}}} {n}",
                    )
                    for p, n in PERCENTILES
                ],
                "s",
            ),
            Panel(
                "Stage latency seen by the orchestrator (p50, p95)",
                [
                    (pct(p, "meshpipe_orchestrator_stage_seconds", "stage"), f"{{{{stage}}}} {n}")
                    for p, n in PERCENTILES[:2]
                ],
                "s",
            ),
            Panel(
                "Stage request latency incl. load wait (p95)",
                [
                    (
                        pct(0.95, "meshpipe_stage_request_seconds", "stage, method"),
                        "{{stage}} {{method}}",
                    )
                ],
                "s",
            ),
            Panel(
                "Orchestrator queue wait per stage (p95)",
                [
                    (
                        pct(0.95, "meshpipe_orchestrator_stage_queue_wait_seconds", "stage"),
                        "{{stage}}",
                    )
                ],
                "s",
            ),
        ],
    ),
    (
        "Outcomes and errors",
        [
            Panel(
                "Stage errors by code (per minute)",
                [
                    (
                        "60 * sum by (stage, code) (rate(meshpipe_stage_requests_total"
                        f'{{code!="OK", {STAGE}}}[{RI}]))',
                        "{{stage}} {{code}}",
                    ),
                    (
                        "60 * sum by (stage, code) (rate(meshpipe_orchestrator_stage_seconds_count"
                        f'{{code!="OK", {STAGE}}}[{RI}]))',
                        "orchestrator -> {{stage}} {{code}}",
                    ),
                ],
            ),
            Panel(
                "Submissions by code, jobs and objects by outcome (per minute)",
                [
                    (
                        "60 * " + q("meshpipe_orchestrator_submissions_total", "code", True, ""),
                        "submit {{code}}",
                    ),
                    (
                        "60 * " + q("meshpipe_orchestrator_jobs_total", "outcome", True, ""),
                        "jobs {{outcome}}",
                    ),
                    (
                        "60 * " + q("meshpipe_orchestrator_objects_total", "outcome", True, ""),
                        "objects {{outcome}}",
                    ),
                ],
            ),
        ],
    ),
    (
        "HTTP gateway",
        [
            Panel(
                "Gateway requests by route and status (per minute)",
                [
                    (
                        "60 * sum by (route, status) "
                        f"(rate(meshpipe_gateway_requests_total[{RI}]))",
                        "{{route}} {{status}}",
                    )
                ],
                description="Every HTTP request the gateway answered; 4xx are the callers', "
                "5xx the gateway's or the orchestrator's (429/503 come with Retry-After).",
            ),
            Panel(
                "Gateway latency by route (p50, p95)",
                [
                    (
                        pct(p, "meshpipe_gateway_request_seconds", "route", sel=""),
                        f"{{{{route}}}} {n}",
                    )
                    for p, n in PERCENTILES[:2]
                ],
                "s",
                description="Arrival to the end of the response body: event streams and "
                "/v1/generate last as long as their jobs.",
            ),
            Panel(
                "Open event streams (SSE)",
                [("sum(meshpipe_gateway_event_streams)", "streams")],
            ),
        ],
    ),
]


def panel_json(panel: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    """Grafana JSON of one panel at grid position (x, y), 12 wide and 8 high."""
    defaults: dict[str, Any] = {"unit": panel.unit}
    if "mappings" in panel.options:
        defaults["mappings"] = panel.options["mappings"]
    custom = (
        {"stacking": {"mode": "normal"}, "fillOpacity": 30} if panel.options.get("stack") else {}
    )
    if custom:
        defaults["custom"] = custom
    return {
        "id": pid,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "expr": expr,
                "legendFormat": legend,
            }
            for i, (expr, legend) in enumerate(panel.targets)
        ],
    }


def dashboard() -> dict[str, Any]:
    """The whole dashboard: collapsible-free rows of two panels each."""
    panels: list[dict[str, Any]] = []
    y, pid = 0, 1
    for title, row in ROWS:
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})  # fmt: skip
        pid, y = pid + 1, y + 1
        for i, panel in enumerate(row):
            panels.append(panel_json(panel, pid, 12 * (i % 2), y + 8 * (i // 2)))
            pid += 1
        y += 8 * ((len(row) + 1) // 2)
    return {
        "uid": "meshpipe-overview",
        "title": "meshpipe",
        "description": "GPU leases, stage lifecycle, queues, latency and errors of meshpipe.",
        "tags": ["meshpipe"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "templating": {"list": _variables()},
        "annotations": {"list": []},
        "panels": panels,
    }


def _variables() -> list[dict[str, Any]]:
    return [
        {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
        {
            "name": "stage",
            "type": "query",
            "label": "Stage",
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": {"query": "label_values(meshpipe_stage_model_state, stage)", "refId": "stage"},
            "definition": "label_values(meshpipe_stage_model_state, stage)",
            "includeAll": True,
            "multi": True,
            "allValue": ".*",
            "current": {"text": "All", "value": "$__all"},
            "refresh": 2,
        },
    ]


def prometheus_rule() -> str:
    """The alert rules wrapped in a Prometheus Operator PrometheusRule."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "meshpipe", "labels": {"app.kubernetes.io/name": "meshpipe"}},
        "spec": {"groups": groups},
    }
    header = "# Generated by deploy/monitoring/generate.py from prometheus/meshpipe-alerts.yaml.\n"
    return header + yaml.safe_dump(rule, sort_keys=False, width=100)


def outputs() -> dict[Path, str]:
    """Every generated file and its content."""
    return {
        DASHBOARD: json.dumps(dashboard(), indent=2) + "\n",
        PROMETHEUS_RULE: prometheus_rule(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = parser.parse_args()
    stale = []
    for path, content in outputs().items():
        if args.check:
            if not path.is_file() or path.read_text() != content:
                stale.append(str(path))
        else:
            path.write_text(content)
    if stale:
        sys.stderr.write(f"stale: {', '.join(stale)}; run python {Path(__file__).name}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
