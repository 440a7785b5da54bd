"""Extra mesh formats of a job (`JobOptions.formats`), written with trimesh's exporters.

GLB is always made by the stages. `obj` is a zip of the .obj, its .mtl and the texture PNG;
`stl` is binary STL (geometry only); `ply` is binary PLY with the texture sampled into
vertex colours (PLY viewers rarely read textures). Every format holds the object in the
front-view frame of its GLB (x right, y up, z towards the viewer).
"""

from __future__ import annotations

import io
import zipfile

import trimesh

from orchestrator.meshes import base_colour_texture, fast_png

FORMATS = ("obj", "stl", "ply")
"""Formats a job may ask for next to the GLB."""
SUFFIXES = {"obj": ".obj.zip", "stl": ".stl", "ply": ".ply"}
REFUSED = {
    "usdz": "usdz is not supported: trimesh cannot write USD, and usd-core (Pixar's USD "
    "bindings, 217 MB installed) would dwarf the orchestrator image; convert the GLB with "
    "Apple's or Pixar's USD tools"
}
"""Formats refused with INVALID_ARGUMENT, and why."""


def export(meshes: list[trimesh.Trimesh], fmt: str, name: str) -> bytes:
    """The meshes as one file of format `fmt` (see FORMATS); `name` names the files inside
    an OBJ zip."""
    merged = meshes[0] if len(meshes) == 1 else trimesh.util.concatenate(meshes)
    if not isinstance(merged, trimesh.Trimesh):
        raise TypeError(f"expected one triangle mesh, got {type(merged).__name__}")
    if fmt == "obj":
        return _obj_zip(merged, name)
    if fmt == "stl":
        return _bytes(trimesh.Trimesh(merged.vertices, merged.faces, process=False), "stl")
    if fmt == "ply":
        return _ply(merged)
    raise ValueError(f"unknown format {fmt!r}")


def _bytes(mesh: trimesh.Trimesh, file_type: str) -> bytes:
    out = mesh.export(file_type=file_type)
    if not isinstance(out, bytes):
        raise TypeError(f"trimesh's {file_type} exporter returned {type(out).__name__}")
    return out


def _obj_zip(mesh: trimesh.Trimesh, name: str) -> bytes:
    """OBJ text and .mtl deflated (fast level), the texture PNG stored as it is."""
    fast_png(base_colour_texture(mesh))
    text, files = trimesh.exchange.obj.export_obj(
        mesh, include_texture=True, return_texture=True, mtl_name=f"{name}.mtl", digits=6
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr(f"{name}.obj", text)
        for file_name, data in files.items():
            stored = file_name.lower().endswith((".png", ".jpg", ".jpeg"))
            z.writestr(file_name, data, zipfile.ZIP_STORED if stored else None)
    return buf.getvalue()


def _ply(mesh: trimesh.Trimesh) -> bytes:
    coloured = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    if isinstance(mesh.visual, trimesh.visual.TextureVisuals) and mesh.visual.uv is not None:
        coloured.visual = mesh.visual.to_color()
    return _bytes(coloured, "ply")
