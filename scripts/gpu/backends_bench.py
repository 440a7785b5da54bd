"""GPU benchmark of the production backends through the real stage services (prepared for
the lead's GPU run; see scripts/gpu/run_backends_bench.sh for the install).

Models: real architectures with RANDOM weights (scripts/gpu/random_models.py): Qwen3-VL-2B
(detector), Hunyuan3D-DiT v2-mini and v2-0 (shape), and for matting rembg's u2net / u2netp
with their real weights (whichever .onnx is in --u2net-dir) plus BiRefNet when its code
folder is given. For every
(backend, memory profile), a fresh `meshpipe stage` process is started and driven over
gRPC: Describe, Load (cold load + warm-up), a first and N warm requests, park, wake, a
request after the wake, unload. Recorded per run:

* footprint estimate (profile) vs. torch allocated/reserved when resident (GetStatus),
  NVML process memory resident / after requests / parked / cold, /metrics gauges;
* first and warm request latency (wall, and the stage's own inference seconds);
* peak reserved per request (StageReport.peak_device_bytes) and, from a separate probe
  process running the same backend class directly, peak allocated and peak reserved;
* load (cold, incl. warm-up), park, wake and unload seconds.

    python -m scripts.gpu.backends_bench                       # everything, all profiles
    python -m scripts.gpu.backends_bench --stages shape --profiles high,minimal
    python -m scripts.gpu.backends_bench --qwen-config config.json --birefnet-code BiRefNet/

Writes <out>.json and <out>.md (default $OUT/backends_bench, else
benchmarks/results/backends_gpu). Every number is labelled "random weights".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIB = float(1 << 30)
PROFILES = "high,balanced,medium,low,minimal"
METHODS = {"detector": "Detect", "matting": "Matte", "shape": "GenerateShape"}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass
class Case:
    """One backend configuration of one stage."""

    stage: str
    label: str
    values: dict[str, str]
    profiles: list[str] = field(default_factory=list)


def photo() -> Any:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1024, 768), (228, 226, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((180, 300, 420, 640), fill=(170, 50, 40))
    draw.ellipse((600, 120, 880, 560), fill=(60, 90, 160))
    return image


def rgba_object() -> Any:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((96, 64, 416, 448), fill=(190, 110, 60, 255))
    return image


def png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def request_for(stage: str) -> Any:
    from meshpipe.v1 import stage_pb2

    if stage == "detector":
        return stage_pb2.DetectRequest(image=png(photo()), prompt="mug, lamp")
    if stage == "matting":
        return stage_pb2.MatteRequest(image=png(photo()))
    return stage_pb2.GenerateShapeRequest(rgba_png=png(rgba_object()), seed=0)


def timed_call(stage: Any, request: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    reply = getattr(stage.infer, METHODS[stage.stage])(request, timeout=1800)
    return time.perf_counter() - t0, reply


def lifecycle(stage: Any, repeats: int) -> dict[str, Any]:
    """Load, requests, park, wake, unload of a running stage; the measurements."""
    from meshpipe.v1 import common_pb2, stage_pb2

    rec: dict[str, Any] = {"nvml_before_load_gib": stage.nvml_gib()}
    described = stage.admin.Describe(stage_pb2.DescribeRequest())
    rec.update(
        backend=described.backend.backend,
        weights=described.backend.weights,
        device=described.backend.device,
        estimate_gib=described.footprint_estimate_bytes / GIB,
    )
    rec["load_s"] = stage.admin.Load(stage_pb2.LoadRequest(), timeout=1800).seconds
    status = stage.admin.GetStatus(stage_pb2.GetStatusRequest())
    rec.update(
        resident_allocated_gib=status.device_allocated_bytes / GIB,
        resident_reserved_gib=status.device_reserved_bytes / GIB,
        nvml_resident_gib=stage.nvml_gib(),
    )
    request = request_for(stage.stage)
    rec["first_s"], first = timed_call(stage, request)
    warm = [timed_call(stage, request) for _ in range(repeats)]
    rec.update(
        first_inference_s=first.report.inference_seconds,
        warm_s=statistics.median(w for w, _ in warm),
        warm_inference_s=statistics.median(r.report.inference_seconds for _, r in warm),
        peak_reserved_gib=max(r.report.peak_device_bytes for _, r in warm) / GIB,
        nvml_after_requests_gib=stage.nvml_gib(),
        metrics=stage.metrics(),
    )
    parked = common_pb2.MODEL_STATE_PARKED
    rec["park_s"] = stage.admin.Unload(stage_pb2.UnloadRequest(target=parked)).seconds
    rec["nvml_parked_gib"] = stage.nvml_gib()
    rec["wake_s"] = stage.admin.Load(stage_pb2.LoadRequest()).seconds
    rec["after_wake_s"] = timed_call(stage, request)[0]
    cold = common_pb2.MODEL_STATE_COLD
    rec["unload_s"] = stage.admin.Unload(stage_pb2.UnloadRequest(target=cold)).seconds
    rec["nvml_cold_gib"] = stage.nvml_gib()
    return rec


def probe(stage_name: str) -> dict[str, float]:
    """In this process: the stage's backend run directly once, torch's peak counters."""
    import torch

    from meshpipe.runtime.registry import load_spec
    from services.shape.backends import ShapeRequest

    spec = load_spec(stage_name)
    settings_cls: Any = spec.settings_cls
    settings = settings_cls()
    backend: Any = spec.build_backend(settings)
    backend.load()
    backend.warmup()
    resident = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    if stage_name == "detector":
        from services.detector.options import DetectOptions

        backend.detect(photo(), "mug, lamp", DetectOptions.resolve(0, 0, 0, backend.settings))
    elif stage_name == "matting":
        backend.matte(photo())
    else:
        backend.generate(ShapeRequest(rgba_object(), seed=0))
    torch.cuda.synchronize()
    return {
        "probe_resident_allocated_gib": resident / GIB,
        "probe_peak_allocated_gib": torch.cuda.max_memory_allocated() / GIB,
        "probe_peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB,
    }


def run_probe(case: Case, env: dict[str, str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--probe", case.stage]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        return {"probe_error": " | ".join(done.stderr.strip().splitlines()[-3:])}
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def run_case(case: Case, profile: str, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    from scripts.gpu.stage_process import StageProcess, stage_env

    values = {
        "device": args.device,
        "park_after": "0",
        "unload_after": "0",
        "memory_profile": profile,
        **case.values,
    }
    env = stage_env(case.stage, values)
    log = logs / f"{case.stage}-{case.label.replace(' ', '_')}-{profile}.log"
    rec: dict[str, Any] = {"stage": case.stage, "model": case.label, "profile": profile}
    if case.stage == "shape":  # off where pymeshlab could not be carried (run script)
        rec["postprocess"] = env.get("MESHPIPE_SHAPE_POSTPROCESS", "true")
    try:
        with StageProcess(case.stage, env, log) as stage:
            rec.update(lifecycle(stage, args.repeats))
    except Exception as exc:  # one failed configuration must not end the benchmark
        rec["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        rec["log_tail"] = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
        return rec
    if not args.skip_probe:
        rec.update(run_probe(case, env, args.timeout))
    return rec


def cases(args: argparse.Namespace, models: Path) -> list[Case]:
    from scripts.gpu import random_models

    profiles = args.profiles.split(",")
    stages = args.stages.split(",")
    found: list[Case] = []
    if "detector" in stages:
        qwen = models / "Qwen3-VL-2B-random"
        if not (qwen / "config.json").is_file():
            random_models.build_qwen(qwen, args.qwen_config)
        found.append(
            Case(
                "detector",
                "qwen3-vl-2b",
                {
                    "backend": "qwen-vl",
                    "qwen_model": str(qwen),
                    "max_new_tokens": str(args.max_new_tokens),
                },
                profiles,
            )
        )
    if "shape" in stages:
        hy = models / "hy3dgen"
        for variant in args.variants.split(","):
            repo, sub = random_models.HUNYUAN[variant][:2]
            if not (hy / repo / sub / "config.yaml").is_file():
                random_models.build_hunyuan(hy, variant)
            values = {"backend": "hunyuan3d", "hunyuan_variant": variant, "models_dir": str(hy)}
            found.append(Case("shape", f"hunyuan3d {variant}", values, profiles))
    if "matting" in stages:
        found += matting_cases(args, models, profiles)
    return found


def matting_cases(args: argparse.Namespace, models: Path, profiles: list[str]) -> list[Case]:
    from scripts.gpu import random_models

    found: list[Case] = []
    u2net_dir = Path(args.u2net_dir).expanduser()
    for name in ("u2net", "u2netp"):
        if (u2net_dir / f"{name}.onnx").is_file():
            values = {"backend": "rembg", "model": name, "weights_dir": str(u2net_dir)}
            found.append(Case("matting", f"rembg {name} (real weights)", values, ["none"]))
        else:
            say(f"matting: no {name}.onnx in {u2net_dir}; that rembg case is skipped")
    if args.birefnet_code:
        folder = models / "BiRefNet-random"
        if not (folder / "config.json").is_file():
            random_models.build_birefnet(Path(args.birefnet_code), folder)
        values = {"backend": "birefnet", "birefnet_model": str(folder)}
        found.append(Case("matting", "birefnet", values, profiles))
    return found


COLUMNS = (
    ("model", "model", "{}"),
    ("profile", "profile", "{}"),
    ("est GiB", "estimate_gib", "{:.2f}"),
    ("load s", "load_s", "{:.2f}"),
    ("resident alloc GiB", "resident_allocated_gib", "{:.2f}"),
    ("NVML resident GiB", "nvml_resident_gib", "{:.2f}"),
    ("first s", "first_s", "{:.2f}"),
    ("warm s", "warm_s", "{:.2f}"),
    ("peak alloc GiB", "probe_peak_allocated_gib", "{:.2f}"),
    ("peak reserved GiB", "peak_reserved_gib", "{:.2f}"),
    ("NVML after req GiB", "nvml_after_requests_gib", "{:.2f}"),
    ("park s", "park_s", "{:.2f}"),
    ("NVML parked GiB", "nvml_parked_gib", "{:.2f}"),
    ("wake s", "wake_s", "{:.3f}"),
    ("after wake s", "after_wake_s", "{:.2f}"),
    ("unload s", "unload_s", "{:.2f}"),
    ("NVML cold GiB", "nvml_cold_gib", "{:.2f}"),
)


def table_row(rec: dict[str, Any]) -> str:
    if "error" in rec:
        return f"| {rec['model']} | {rec['profile']} | error: {rec['error']} |"
    cells = [fmt.format(rec[key]) if key in rec else "-" for _, key, fmt in COLUMNS]
    return "| " + " | ".join(cells) + " |"


def save(records: list[dict[str, Any]], out: Path, device: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(records, indent=1))
    lines = [
        f"Production backends through the stage services on {device}: real architectures, "
        "RANDOM weights (rembg u2net: real weights). 'peak alloc' comes from a probe process "
        "running the same backend directly; 'peak reserved' from the services' StageReport.",
        "",
        "| " + " | ".join(title for title, _, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *[table_row(r) for r in records],
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stages", default="detector,matting,shape")
    p.add_argument("--profiles", default=PROFILES)
    p.add_argument("--variants", default="v2-mini,v2-0", help="Hunyuan3D shape variants")
    p.add_argument("--repeats", type=int, default=3, help="warm requests per run")
    p.add_argument("--max-new-tokens", type=int, default=256, help="detector answer bound")
    p.add_argument("--models-dir", default=os.path.join(tempfile.gettempdir(), "meshpipe-bench"))
    p.add_argument("--qwen-config", type=Path, help="published Qwen3-VL config.json to use")
    p.add_argument("--u2net-dir", default="~/.u2net", help="folder holding u2net.onnx")
    p.add_argument("--birefnet-code", help="BiRefNet code folder (config.json + *.py)")
    p.add_argument("--skip-probe", action="store_true", help="no direct peak-allocated probe")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--device", default="cuda", help="stage device (cpu: a smoke test only)")
    default_out = (
        Path(os.environ["OUT"]) / "backends_bench"
        if os.environ.get("OUT")
        else (Path("benchmarks/results/backends_gpu"))
    )
    p.add_argument("--out", type=Path, default=default_out)
    p.add_argument("--probe", help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> int:
    args = parse_args()
    from meshpipe.torchcompat import ensure_torchvision

    ensure_torchvision()
    if args.probe:
        say(json.dumps(probe(args.probe)))
        return 0
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    device = f"{gpu}, torch {torch.__version__}"
    models = Path(args.models_dir)
    logs = models / "logs"  # stage process logs; errors quote their tails
    logs.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HOME", str(models / "hf_home"))  # trust_remote_code copies
    records: list[dict[str, Any]] = []
    for case in cases(args, models):
        for profile in case.profiles:
            records.append(run_case(case, profile, args, logs))
            records[-1].update(machine=device, label="real architectures, random weights")
            say(table_row(records[-1]))
            save(records, args.out, device)
    say(f"wrote {args.out.with_suffix('.md')} and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
