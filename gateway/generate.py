"""The serverless contract, shared by `POST /v1/generate` and the RunPod worker:
`{"image": base64, "generate_texture", "remove_background", "profile", "prompt"}` in,
`{"model_base64", "file_size", "format", "textured", "execution_time", "job_id",
"objects": [...]}` out. One job, followed to its end; the GLBs come back as base64."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any, Literal

import grpc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.artifacts import read_all
from gateway.client import Metadata, Orchestrator
from gateway.convert import state_name
from gateway.options import JobFields, decode_base64, submit_request
from gateway.problems import ApiProblem, from_rpc_error
from meshpipe.v1 import orchestrator_pb2 as pb

ProgressCallback = Callable[[pb.JobEvent], None]
MESH_KINDS = ("textured_mesh", "mesh")


class GenerateInput(BaseModel):
    """The contract's input (unknown keys are refused, so that a typo is not ignored)."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(min_length=1, description="The photo, base64 PNG/JPEG/WebP.")
    generate_texture: bool = Field(default=True, description="Texture the meshes.")
    remove_background: bool = Field(default=True, description="Run the matting stage.")
    profile: int = Field(default=3, ge=1, le=5, description="Memory profile 1-5.")
    prompt: str = Field(default="", description='Categories, e.g. "mug, lamp".')
    seed: int | None = Field(default=None, ge=0, lt=2**64, description="Seed; unset = random.")
    max_objects: int = Field(default=0, ge=0, description="At most N objects (0 = default).")
    quality: Literal["", "draft", "standard", "high"] = Field(
        default="", description="draft, standard or high."
    )


def parse_input(payload: Any) -> GenerateInput:
    """The contract's input from a decoded JSON body, a `{"input": {...}}` wrapper allowed;
    ApiProblem(400/422) when it is wrong."""
    if isinstance(payload, dict) and set(payload) == {"input"}:
        payload = payload["input"]
    if not isinstance(payload, dict):
        raise ApiProblem(400, 'expected a JSON object {"input": {"image": "<base64>", ...}}')
    try:
        return GenerateInput.model_validate(payload)
    except ValidationError as err:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise ApiProblem(422, detail) from None


async def generate(
    client: Orchestrator,
    spec: GenerateInput,
    metadata: Metadata,
    *,
    max_bytes: int,
    deployment_profile: int,
    on_event: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Run one job to its end and return the contract's output (ApiProblem on failure)."""
    started = time.perf_counter()
    image = decode_base64(spec.image, max_bytes, field="image")
    fields = JobFields(
        prompt=spec.prompt,
        texture=spec.generate_texture,
        remove_background=spec.remove_background,
        seed=spec.seed,
        max_objects=spec.max_objects,
        quality=spec.quality,
        memory_profile=spec.profile,
    )
    done = await _follow(client, submit_request(image, fields), metadata, on_event)
    reply = await client.get(done.job_id, metadata)
    if not reply.results:
        reason = reply.summary.error or _first_error(reply) or "no object finished"
        raise ApiProblem(422, f"job {done.job_id} {state_name(reply.summary.state)}: {reason}")
    objects = [await _object(client, result, metadata) for result in reply.results]
    model, notices = await _model(client, done.done, objects, metadata)
    kinds = [o.pop("_kind") for o in objects]
    if spec.profile != deployment_profile:
        notices.append(
            f"profile {spec.profile} asked; this deployment's stages run profile "
            f"{deployment_profile} (a stage setting, MESHPIPE_<STAGE>_MEMORY_PROFILE)"
        )
    return {
        "model_base64": base64.b64encode(model).decode(),
        "file_size": len(model),
        "format": "glb",
        "textured": all(kind == "textured_mesh" for kind in kinds),
        "execution_time": round(time.perf_counter() - started, 3),
        "job_id": done.job_id,
        "state": state_name(reply.summary.state),
        "profile": deployment_profile,
        "objects": objects,
        "notices": notices,
    }


async def _follow(
    client: Orchestrator,
    request: pb.SubmitJobRequest,
    metadata: Metadata,
    on_event: ProgressCallback | None,
) -> pb.JobEvent:
    try:
        async for event in client.submit(request, metadata):
            if on_event is not None:
                on_event(event)
            if event.HasField("done"):
                return event
    except grpc.RpcError as err:
        raise from_rpc_error(err) from None
    raise ApiProblem(502, "the orchestrator's event stream ended before the job did")


async def _object(
    client: Orchestrator, result: pb.ObjectResult, metadata: Metadata
) -> dict[str, Any]:
    mesh = _mesh_artifact(result)
    data = await read_all(client, mesh.artifact_id, metadata) if mesh else b""
    box = result.box
    return {
        "object_index": result.object_index,
        "label": result.label,
        "box": {"x1": box.x1, "y1": box.y1, "x2": box.x2, "y2": box.y2},
        "model_base64": base64.b64encode(data).decode(),
        "file_size": len(data),
        "vertex_count": result.vertex_count,
        "face_count": result.face_count,
        "_kind": mesh.kind if mesh else "",
        "_data": data,
    }


async def _model(
    client: Orchestrator, done: pb.JobDone, objects: list[dict[str, Any]], metadata: Metadata
) -> tuple[bytes, list[str]]:
    """One object: its GLB. Several: the orchestrator's scene GLB of all of them."""
    datas = [o.pop("_data") for o in objects]
    if len(objects) == 1:
        return datas[0], []
    if done.scene.artifact_id:
        return await read_all(client, done.scene.artifact_id, metadata), []
    return datas[0], [
        f"{len(objects)} objects but the orchestrator made no scene GLB: model_base64 is "
        "object 0's; every object's GLB is in `objects`"
    ]


def _mesh_artifact(result: pb.ObjectResult) -> pb.Artifact | None:
    for kind in MESH_KINDS:
        for artifact in result.artifacts:
            if artifact.kind == kind:
                return artifact
    return None


def _first_error(reply: pb.GetJobResponse) -> str:
    for error in reply.errors:
        return f"object {error.object_index}: {error.code} {error.message}"
    for skipped in reply.skipped:
        return f"object {skipped.object_index} skipped: {skipped.reason}"
    return ""
