"""`meshpipe submit IMAGE --address HOST:PORT`: submit a photo to a running orchestrator and
show the job's progress; also the job-option flags and the progress printer `run` shares."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.errors import InvalidInput, MeshpipeError
from meshpipe.v1 import orchestrator_pb2 as pb

STAGE_NAMES = {
    pb.STAGE_DETECTOR: "detector",
    pb.STAGE_MATTING: "matting",
    pb.STAGE_SHAPE: "shape",
    pb.STAGE_TEXTURE: "texture",
}
DEFAULT_ADDRESS = "127.0.0.1:50051"
TOKEN_VARIABLE = "MESHPIPE_TOKEN"


def register(sub: Any) -> None:
    """Add `meshpipe submit` to the parser."""
    p = sub.add_parser("submit", help="submit a photo to a running orchestrator")
    p.add_argument("image", type=Path, help="photo (PNG, JPEG or WebP)")
    add_connection_arguments(p)
    p.add_argument("--download", type=Path, metavar="DIR", help="also download the artifacts")
    add_job_arguments(p)
    p.set_defaults(func=run)


def add_connection_arguments(p: argparse.ArgumentParser) -> None:
    """--address, --tls-ca and --token (shared by `submit` and `jobs`)."""
    p.add_argument("--address", default=DEFAULT_ADDRESS, help="orchestrator host:port")
    p.add_argument(
        "--tls-ca", type=Path, help="PEM CA of the orchestrator's certificate (connect with TLS)"
    )
    p.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE, ""),
        help=f"bearer token (default: ${TOKEN_VARIABLE})",
    )


def connect(args: argparse.Namespace) -> MeshpipeClient:
    """A client from the connection flags."""
    return MeshpipeClient(args.address, tls_ca=args.tls_ca, token=args.token or None)


def add_job_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of a job's options (shared by `run` and `submit`)."""
    p.add_argument("--prompt", default="", help='comma-separated categories, e.g. "mug, lamp"')
    p.add_argument("--no-texture", action="store_true", help="stop after the shape stage")
    p.add_argument("--seed", type=int, help="seed (default: random, recorded in the manifest)")
    p.add_argument("--max-objects", type=int, default=0, help="process at most N objects")
    p.add_argument("--quality", default="", help="draft, standard (default) or high")
    p.add_argument("--steps", type=int, default=0, help="shape diffusion steps")
    p.add_argument("--octree-resolution", type=int, default=0, help="shape grid resolution")
    p.add_argument("--texture-size", type=int, default=0, help="texture side in pixels")
    p.add_argument(
        "--format",
        default="",
        metavar="LIST",
        help="extra mesh formats next to the GLB, comma-separated: obj, stl, ply",
    )
    p.add_argument(
        "--target-faces", type=int, default=0, help="decimate each mesh to about N triangles"
    )
    p.add_argument(
        "--keep-background",
        action="store_true",
        help="skip matting: the photo's alpha (or the whole crop) is the object",
    )


def options_from_args(args: argparse.Namespace) -> pb.JobOptions:
    """JobOptions from the job flags."""
    return job_options(
        texture=not args.no_texture,
        seed=args.seed,
        max_objects=args.max_objects,
        steps=args.steps,
        octree_resolution=args.octree_resolution,
        texture_size=args.texture_size,
        quality=args.quality,
        formats=[f.strip() for f in args.format.split(",") if f.strip()],
        target_faces=args.target_faces,
        remove_background=not args.keep_background,
    )


FINAL_MESH_KINDS = ("textured_mesh", "mesh")
EXTRA_KINDS = ("preview", "obj", "stl", "ply")  # listed under an object's result line


def final_mesh(result: pb.ObjectResult) -> str:
    """Relative path of an object's final mesh (textured when it was textured)."""
    for kind in FINAL_MESH_KINDS:
        for a in result.artifacts:
            if a.kind == kind:
                return a.relative_path
    return "?"


def read_image(path: Path) -> bytes:
    """The photo's bytes, or InvalidInput with a one-line reason."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"image file not found: {path}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read image file {path}: {exc.strerror}") from None


def fail(exc: BaseException) -> int:
    """Print a one-line reason on stderr; the exit status for it."""
    if isinstance(exc, MeshpipeError):
        print(f"meshpipe: error: {exc.code.name}: {exc}", file=sys.stderr)
    else:
        print(f"meshpipe: error: {exc}", file=sys.stderr)
    return 2 if isinstance(exc, InvalidInput) else 1


class EventPrinter:
    """Prints one line per job event: acceptance, detections, each object's stages, result."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self.t0 = time.monotonic()
        self.labels: dict[int, str] = {}

    def __call__(self, event: pb.JobEvent) -> None:
        kind = event.WhichOneof("event")
        line = getattr(self, f"_{kind}")(getattr(event, kind))
        print(f"[{time.monotonic() - self.t0:6.1f}s] {line}", file=self.stream, flush=True)

    def _who(self, index: int) -> str:
        return f"object {index} ({self.labels.get(index, 'object')})"

    def _accepted(self, e: pb.JobAccepted) -> str:
        return f"accepted: {e.image_width}x{e.image_height} photo, seed {e.seed}"

    def _queued(self, e: pb.JobQueued) -> str:
        return f"queued: {e.position} job(s) ahead"

    def _detections(self, e: pb.Detections) -> str:
        self.labels = {o.object_index: o.label for o in e.objects}
        lines = [f"detector ({e.backend.backend}): {len(e.objects)} object(s)"]
        lines += [f"  notice: {n}" for n in e.notices]
        return "\n".join(lines)

    def _progress(self, e: pb.ObjectProgress) -> str:
        stage = STAGE_NAMES.get(e.stage, "?")
        if e.finished:
            return f"{self._who(e.object_index)}: {stage} done in {e.seconds:.1f}s"
        return f"{self._who(e.object_index)}: {stage}..."

    def _result(self, e: pb.ObjectResult) -> str:
        extras = [a.relative_path for a in e.artifacts if a.kind in EXTRA_KINDS]
        return (
            f"{self._who(e.object_index)}: done -> {final_mesh(e)} "
            f"({e.vertex_count} vertices, {e.face_count} faces)"
            + "".join(f"\n  + {path}" for path in extras)
        )

    def _skipped(self, e: pb.ObjectSkipped) -> str:
        stage = STAGE_NAMES.get(e.stage, "?")
        return f"{self._who(e.object_index)}: skipped at {stage}: {e.reason}"

    def _error(self, e: pb.ObjectError) -> str:
        stage = STAGE_NAMES.get(e.stage, "?")
        return f"{self._who(e.object_index)}: FAILED at {stage}: {e.code}: {e.message}"

    def _done(self, e: pb.JobDone) -> str:
        s = e.summary
        state = pb.JobState.Name(s.state).removeprefix("JOB_STATE_").lower()
        line = (
            f"job {state}: {s.objects_succeeded}/{s.objects_total} object(s) "
            f"in {e.total_seconds:.1f}s"
        )
        if s.objects_skipped:
            line += f", {s.objects_skipped} skipped"
        return line + (f" ({s.error})" if s.error else "")


def report_done(done: pb.JobEvent, folder: Path | None = None) -> int:
    """Print where the results are (the local `folder` when known, else the job id, whose
    artifacts `--download` fetches); exit status 0 when every object succeeded."""
    d = done.done
    s = d.summary
    where = str(folder) if folder is not None else f"job {s.job_id}"
    print(f"results: {where} (manifest: {d.manifest.relative_path})")
    if d.HasField("scene"):
        print(f"scene: {d.scene.relative_path} (every object in place)")
    if d.HasField("contact_sheet"):
        print(f"previews: previews/ (contact sheet: {d.contact_sheet.relative_path})")
    if s.state == pb.JOB_STATE_SUCCEEDED:
        return 0
    reason = s.error or f"{s.objects_failed} of {s.objects_total} object(s) failed"
    state = pb.JobState.Name(s.state).removeprefix("JOB_STATE_").lower()
    print(f"meshpipe: error: job {state}: {reason}", file=sys.stderr)
    return 1


def download_all(client: MeshpipeClient, done: pb.JobEvent, target: Path) -> int:
    """Download the manifest and every object's artifacts into target/<job_id>/."""
    view = client.get(done.job_id)
    artifacts = [a for r in view.results for a in r.artifacts]
    for field in ("manifest", "scene", "contact_sheet"):
        if done.done.HasField(field):
            artifacts.append(getattr(done.done, field))
    folder = target / done.job_id
    for artifact in artifacts:
        client.download(artifact.artifact_id, folder / artifact.relative_path)
    print(f"downloaded {len(artifacts)} file(s) to {folder}")
    return len(artifacts)


def run(args: argparse.Namespace) -> int:
    """Submit a photo and follow the job; optionally download its artifacts."""
    try:
        image = read_image(args.image)
        with connect(args) as client:
            done = client.submit(
                image, args.prompt, options_from_args(args), args.image.name, EventPrinter()
            )
            code = report_done(done)
            if args.download:
                download_all(client, done, args.download)
        return code
    except MeshpipeError as exc:
        return fail(exc)
