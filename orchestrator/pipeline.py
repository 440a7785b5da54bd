"""The job flow: detect -> crop -> per object matting -> shape -> texture -> outputs.

Objects move independently (object 2 can be in matting while object 1 is in shape); every
stage call goes through the Dispatcher; every output is written before the next stage uses
it, so a resumed job skips what already exists. A failed object does not stop its siblings;
an object whose matte is empty is skipped, not failed. After its stages each object gets
its preview and extra formats and joins the job's scene (orchestrator.outputs); the contact
sheet comes last.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from PIL import Image

from meshpipe.errors import MeshpipeError, to_status
from meshpipe.images import decode_image
from meshpipe.v1 import stage_pb2
from orchestrator.crops import crop_box, crop_png
from orchestrator.dispatch import Dispatcher
from orchestrator.domain import (
    Box,
    DetectedObject,
    Detections,
    MatteSource,
    ObjectRecord,
    Stage,
    StageRun,
)
from orchestrator.events import DetectionsFound, ObjectProgress
from orchestrator.glb import mesh_counts
from orchestrator.job import ActiveJob
from orchestrator.mattes import EmptyObject, own_matte, require_foreground
from orchestrator.outputs import JobOutputs, object_name
from orchestrator.sending import JobKey
from orchestrator.stages import (
    DetectOutput,
    Found,
    MatteOutput,
    ShapeOutput,
    TextureOutput,
    detect_request,
    shape_request,
    texture_request,
)

log = logging.getLogger(__name__)

WHOLE_IMAGE_NOTICE = "no object was detected: the whole image is processed as one object"


def _key(job: ActiveJob) -> JobKey:
    """How the dispatcher ranks the job's requests: by creation time and size."""
    return JobKey(job.job_id, job.record.created_at, max(1, job.record.objects_total))


def _output_bytes(out: MatteOutput | ShapeOutput | TextureOutput) -> bytes:
    """The artifact a stage's answer carries."""
    if isinstance(out, MatteOutput):
        return out.rgba_png
    if isinstance(out, ShapeOutput):
        return out.mesh_glb
    return out.textured_glb


class JobFailed(MeshpipeError):
    """The job cannot go on at all (e.g. the detector failed); the message says why."""


class JobPipeline:
    """Runs one job's stages; state lives in the ActiveJob, policy in the Dispatcher."""

    def __init__(self, dispatcher: Dispatcher, max_image_pixels: int) -> None:
        self._dispatcher = dispatcher
        self._max_pixels = max_image_pixels

    async def run(self, job: ActiveJob) -> None:
        """Work on every pending object of the job until each succeeded or failed."""
        data = await job.read(job.record.input.relative_path)
        image = await asyncio.to_thread(decode_image, data, self._max_pixels)
        if job.record.detections is None:
            await self._detect(job, data)
        outputs = JobOutputs(job)
        pending = job.pending_objects()
        if pending:
            await outputs.restore()
        # A TaskGroup: if one object's task fails outright (a bug), its siblings are cancelled
        # rather than left running after the job has ended.
        async with asyncio.TaskGroup() as group:
            for obj in pending:
                group.create_task(self._object(job, obj, image, outputs))
        await outputs.finish_job()

    async def _detect(self, job: ActiveJob, image: bytes) -> None:
        r, o = job.record, job.record.options
        t0 = time.monotonic()
        try:
            request = detect_request(image, r.prompt, o.max_objects, o.min_area_fraction, o.nms_iou)
            out: DetectOutput = await self._dispatcher.run(Stage.DETECTOR, _key(job), request)
        except MeshpipeError as exc:
            code, message, _ = to_status(exc)
            raise JobFailed(f"detector failed: {code.name}: {message}") from exc
        found = out.found[: o.max_objects]
        notices = list(out.notices)
        if not found and not r.prompt:
            found = [Found("object", Box(x1=0, y1=0, x2=r.image_width, y2=r.image_height), 1.0)]
            notices.append(WHOLE_IMAGE_NOTICE)
        detected = [
            DetectedObject(index=i, label=f.label, box=f.box, score=f.score)
            for i, f in enumerate(found)
        ]
        r.detections = Detections(
            objects=detected,
            category_filtering_applied=out.category_filtering_applied,
            notices=notices,
            backend=out.report.backend,
            seconds=time.monotonic() - t0,
            report=out.report,
        )
        r.objects_total = len(detected)
        await job.commit(self._keep_detections(job, r.detections))
        if not detected:
            raise JobFailed(f"the detector found no object for the prompt {r.prompt!r}")

    async def _keep_detections(self, job: ActiveJob, detections: Detections) -> None:
        for d in detections.objects:
            await job.save_object(self._new_object(job, d))
        await job.save()
        await job.emit(DetectionsFound(detections=detections))

    def _new_object(self, job: ActiveJob, d: DetectedObject) -> ObjectRecord:
        r = job.record
        return ObjectRecord(
            index=d.index,
            label=d.label,
            box=d.box,
            score=d.score,
            crop_box=crop_box(d.box, r.options.crop_padding, r.image_width, r.image_height),
            seed=(r.options.seed + d.index) % 2**63,
        )

    async def _object(
        self, job: ActiveJob, obj: ObjectRecord, image: Image.Image, outputs: JobOutputs
    ) -> None:
        try:
            glb = await self._stages_of(job, obj, image)
            await outputs.finish_object(obj, glb)
            await job.succeed_object(obj)
        except EmptyObject as empty:
            await job.skip_object(obj, empty.stage, empty.reason)
        except MeshpipeError as exc:
            code, message, _ = to_status(exc)
            await job.fail_object(obj, code.name, message)
        except Exception as exc:  # a bug or a broken stage answer: fail this object only
            code, message, _ = to_status(exc)
            log.error("job %s object %d: %s", job.job_id, obj.index, message, exc_info=exc)
            await job.fail_object(obj, code.name, message)

    async def _stages_of(self, job: ActiveJob, obj: ObjectRecord, image: Image.Image) -> bytes:
        """The object's stages; its final GLB."""
        o = job.record.options
        name = object_name(obj)
        crop = await self._crop(job, obj, image, f"crops/{name}.png")
        rgba = await self._matte(job, obj, image, crop, f"mattes/{name}.png")
        await asyncio.to_thread(require_foreground, rgba, obj.matte_source or MatteSource.MATTING)
        shape = shape_request(
            rgba, obj.seed, o.steps, o.octree_resolution, o.guidance_scale, o.target_faces
        )
        mesh = await self._step(job, obj, Stage.SHAPE, "mesh", f"meshes/{name}.glb", shape)
        if o.texture:
            texture = texture_request(mesh, rgba, o.texture_size, obj.seed)
            mesh = await self._step(
                job, obj, Stage.TEXTURE, "textured_mesh", f"textured/{name}.glb", texture
            )
        obj.vertex_count, obj.face_count = mesh_counts(mesh)
        return mesh

    async def _matte(
        self, job: ActiveJob, obj: ObjectRecord, image: Image.Image, crop: bytes, path: str
    ) -> bytes:
        """The object's matte: from the matting stage, or (remove_background=false) from the
        crop itself."""
        if job.record.options.remove_background:
            obj.matte_source = MatteSource.MATTING
            matte = stage_pb2.MatteRequest(image=crop)
            return await self._step(job, obj, Stage.MATTING, "matte", path, matte)
        done = obj.artifact("matte")
        if done is not None:
            return await job.read(done.relative_path)
        data, obj.matte_source = await asyncio.to_thread(own_matte, image, obj.crop_box)
        await job.keep_output(obj, path, data, "matte", None)
        return data

    async def _crop(
        self, job: ActiveJob, obj: ObjectRecord, image: Image.Image, path: str
    ) -> bytes:
        done = obj.artifact("crop")
        if done is not None:
            return await job.read(done.relative_path)
        data = await asyncio.to_thread(crop_png, image, obj.crop_box)
        await job.keep_output(obj, path, data, "crop", None)
        return data

    async def _step(
        self, job: ActiveJob, obj: ObjectRecord, stage: Stage, kind: str, path: str, request: Any
    ) -> bytes:
        """One stage for one object: skipped when its artifact exists (resumed job)."""
        done = obj.artifact(kind)
        if done is not None:
            return await job.read(done.relative_path)
        await job.emit(ObjectProgress(index=obj.index, stage=stage, finished=False))
        t0 = time.monotonic()
        out = await self._dispatcher.run(stage, _key(job), request)
        data = _output_bytes(out)
        run = StageRun(stage=stage, seconds=time.monotonic() - t0, report=out.report)
        await job.keep_output(obj, path, data, kind, run)
        return data
