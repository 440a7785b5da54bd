"""manifest.json of a job: what was asked, what each stage did, and every file produced."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.domain import JobRecord, ObjectRecord

MANIFEST_VERSION = 1


def build_manifest(job: JobRecord, objects: list[ObjectRecord]) -> dict[str, Any]:
    """The manifest document (JSON-ready) of a job in its current state."""
    detections = job.detections
    return {
        "manifest_version": MANIFEST_VERSION,
        "job_id": job.job_id,
        "name": job.name,
        "prompt": job.prompt,
        "state": job.state.value,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "seed": job.options.seed,
        "options": job.options.model_dump(mode="json"),
        "input": {
            "width": job.image_width,
            "height": job.image_height,
            "artifact": job.input.model_dump(mode="json"),
        },
        "detector": None
        if detections is None
        else {
            "backend": detections.backend.model_dump(mode="json"),
            "seconds": detections.seconds,
            "inference_seconds": detections.report.inference_seconds,
            "load_wait_seconds": detections.report.load_wait_seconds,
            "category_filtering_applied": detections.category_filtering_applied,
            "notices": detections.notices,
        },
        "objects": [_object(o) for o in objects],
        "objects_skipped": job.objects_skipped,
        "scene": None if job.scene is None else job.scene.model_dump(mode="json"),
        "contact_sheet": None
        if job.contact_sheet is None
        else job.contact_sheet.model_dump(mode="json"),
    }


def _object(obj: ObjectRecord) -> dict[str, Any]:
    return {
        "index": obj.index,
        "label": obj.label,
        "score": obj.score,
        "box": obj.box.model_dump(mode="json"),
        "crop_box": obj.crop_box.model_dump(mode="json"),
        "seed": obj.seed,
        "status": obj.status.value,
        "stages": [
            {
                "stage": run.stage.value,
                "backend": run.report.backend.backend,
                "weights": run.report.backend.weights,
                "device": run.report.backend.device,
                "seconds": run.seconds,
                "inference_seconds": run.report.inference_seconds,
                "load_wait_seconds": run.report.load_wait_seconds,
                "step_seconds": run.report.step_seconds,
                "peak_device_bytes": run.report.peak_device_bytes,
            }
            for run in obj.stages
        ],
        "artifacts": [a.model_dump(mode="json") for a in obj.artifacts],
        "vertex_count": obj.vertex_count,
        "face_count": obj.face_count,
        "error": None if obj.failure is None else obj.failure.model_dump(mode="json"),
        "skipped": None if obj.skip is None else obj.skip.model_dump(mode="json"),
        "matte_source": None if obj.matte_source is None else obj.matte_source.value,
    }


def manifest_bytes(job: JobRecord, objects: list[ObjectRecord]) -> bytes:
    """The manifest as pretty-printed UTF-8 JSON."""
    return (json.dumps(build_manifest(job, objects), indent=2) + "\n").encode()
