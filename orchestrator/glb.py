"""Just enough of glTF-binary to count a mesh's vertices and triangles (no mesh library)."""

from __future__ import annotations

import json
import struct
from typing import Any

from meshpipe.errors import MeshpipeError

_MAGIC = b"glTF"
_JSON_CHUNK = 0x4E4F534A
_TRIANGLES = 4


def mesh_counts(glb: bytes) -> tuple[int, int]:
    """(vertices, triangles) summed over every triangle primitive of a GLB."""
    doc = _json_chunk(glb)
    accessors = doc.get("accessors", [])
    vertices = triangles = 0
    try:
        for mesh in doc.get("meshes", []):
            for prim in mesh.get("primitives", []):
                if prim.get("mode", _TRIANGLES) != _TRIANGLES:
                    continue
                count = int(accessors[prim["attributes"]["POSITION"]]["count"])
                vertices += count
                indices = prim.get("indices")
                triangles += (
                    int(accessors[indices]["count"]) if indices is not None else count
                ) // 3
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise MeshpipeError(f"GLB has an inconsistent mesh description: {exc!r}") from None
    return vertices, triangles


def _json_chunk(glb: bytes) -> dict[str, Any]:
    if len(glb) < 20 or glb[:4] != _MAGIC:
        raise MeshpipeError("stage returned something that is not a GLB file")
    length, kind = struct.unpack_from("<II", glb, 12)
    if kind != _JSON_CHUNK or 20 + length > len(glb):
        raise MeshpipeError("GLB file has no valid JSON chunk")
    try:
        doc = json.loads(glb[20 : 20 + length])
    except ValueError:
        raise MeshpipeError("GLB JSON chunk does not parse") from None
    if not isinstance(doc, dict):
        raise MeshpipeError("GLB JSON chunk is not an object")
    return doc
