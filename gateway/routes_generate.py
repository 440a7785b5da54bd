"""`POST /v1/generate`: the serverless contract over HTTP (synchronous). Errors are
`{"error": "..."}` with the HTTP status (the contract's shape, not problem+json)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from gateway import deps
from gateway.client import Metadata, Orchestrator
from gateway.generate import GenerateInput, generate, parse_input
from gateway.problems import ApiProblem
from gateway.settings import GatewaySettings

router = APIRouter(tags=["serverless"])
CONTRACT_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"input": GenerateInput.model_json_schema()},
                    "required": ["input"],
                },
                "example": {
                    "input": {
                        "image": "<base64 PNG/JPEG>",
                        "generate_texture": True,
                        "remove_background": True,
                        "profile": 3,
                    }
                },
            }
        },
        "required": True,
    }
}


@router.post("/v1/generate", openapi_extra=CONTRACT_BODY)
async def generate_route(
    request: Request,
    client: Annotated[Orchestrator, Depends(deps.orchestrator)],
    settings: Annotated[GatewaySettings, Depends(deps.settings)],
    metadata: Annotated[Metadata, Depends(deps.call_metadata)],
) -> JSONResponse:
    """Photo in, GLB out, in one call: `model_base64` is the object's GLB (one object) or
    the scene of all objects (several); `objects` has each one's label, box and GLB."""
    try:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.max_upload_bytes * 4 // 3 + 64 * 1024:
            raise ApiProblem(
                413, f"request body over the upload limit ({settings.max_upload_bytes} bytes)"
            )
        try:
            payload = json.loads(await request.body())
        except ValueError:
            raise ApiProblem(400, "the body is not JSON") from None
        spec = parse_input(payload)
        try:
            async with asyncio.timeout(settings.generate_timeout_seconds):
                output = await generate(
                    client,
                    spec,
                    metadata,
                    max_bytes=settings.max_upload_bytes,
                    deployment_profile=settings.memory_profile,
                )
        except TimeoutError:
            limit = settings.generate_timeout_seconds
            raise ApiProblem(
                504, f"the job took longer than {limit:.0f}s; follow it under /v1/jobs"
            ) from None
    except ApiProblem as problem:
        return JSONResponse({"error": problem.detail}, problem.status, headers=problem.headers)
    return JSONResponse(output)
