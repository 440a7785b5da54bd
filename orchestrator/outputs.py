"""A job's outputs beyond the stages' files: per object a preview and the extra formats the
job asked for, the scene of every finished object (rebuilt as each one finishes) and, at
the end, the contact sheet. Everything here runs in the orchestrator, on its CPU, off the
event loop; nothing is a stage call."""

from __future__ import annotations

import asyncio

import trimesh

from orchestrator.domain import Artifact, ObjectRecord, ObjectStatus
from orchestrator.exports import SUFFIXES, export
from orchestrator.ids import slug
from orchestrator.job import ActiveJob
from orchestrator.meshes import load_meshes
from orchestrator.previews import contact_sheet_png, preview_png
from orchestrator.scene import Placed, SceneAssembler

FINAL_MESH_KINDS = ("textured_mesh", "mesh")  # the final mesh of an object, best first


def object_name(obj: ObjectRecord) -> str:
    """`NNN_label`, the stem of an object's files and its node name in the scene."""
    return f"{obj.index:03d}_{slug(obj.label)}"


def final_mesh(obj: ObjectRecord) -> Artifact | None:
    """The object's final mesh artifact (textured when it was textured)."""
    return next((a for k in FINAL_MESH_KINDS if (a := obj.artifact(k)) is not None), None)


class JobOutputs:
    """The outputs of one run of one job (a resumed job gets a new one)."""

    def __init__(self, job: ActiveJob) -> None:
        self._job = job
        r = job.record
        self.scene = SceneAssembler(r.image_width, r.image_height, self._write_scene)

    async def restore(self) -> None:
        """Put the objects that finished before this run (a resumed job) into the scene."""
        for obj in self._job.objects.values():
            mesh = final_mesh(obj)
            if obj.status is ObjectStatus.SUCCEEDED and mesh is not None:
                glb = await self._job.read(mesh.relative_path)
                self.scene.add(Placed(obj.index, object_name(obj), obj.crop_box, glb))

    async def finish_object(self, obj: ObjectRecord, glb: bytes) -> None:
        """Preview, extra formats and the rebuilt scene of an object whose stages are done."""
        meshes = await asyncio.to_thread(load_meshes, glb)
        self.scene.add(Placed(obj.index, object_name(obj), obj.crop_box, glb, meshes))
        await asyncio.gather(
            self._preview(obj, meshes), self._formats(obj, meshes), self.scene.rebuild()
        )

    async def finish_job(self) -> None:
        """The contact sheet of the objects' previews (none when no object has one)."""
        items = []
        for _, obj in sorted(self._job.objects.items()):
            preview = obj.artifact("preview")
            if obj.status is ObjectStatus.SUCCEEDED and preview is not None:
                items.append((object_name(obj), await self._job.read(preview.relative_path)))
        if not items:
            return
        data = await asyncio.to_thread(contact_sheet_png, items)
        job = self._job

        async def step() -> None:
            job.record.contact_sheet = await job.write(
                "contact_sheet.png", data, "contact_sheet", replace=True
            )
            await job.save()

        await job.commit(step())

    async def _preview(self, obj: ObjectRecord, meshes: list[trimesh.Trimesh]) -> None:
        if obj.artifact("preview") is None:
            data = await asyncio.to_thread(preview_png, meshes)
            await self._job.keep_output(
                obj, f"previews/{object_name(obj)}.png", data, "preview", None
            )

    async def _formats(self, obj: ObjectRecord, meshes: list[trimesh.Trimesh]) -> None:
        name = object_name(obj)
        for fmt in self._job.record.options.formats:
            if obj.artifact(fmt) is None:
                data = await asyncio.to_thread(export, meshes, fmt, name)
                await self._job.keep_output(obj, f"exports/{name}{SUFFIXES[fmt]}", data, fmt, None)

    async def _write_scene(self, data: bytes) -> Artifact:
        job = self._job

        async def step() -> Artifact:
            job.record.scene = await job.write("scene.glb", data, "scene", replace=True)
            await job.save()
            return job.record.scene

        return await job.commit(step())
