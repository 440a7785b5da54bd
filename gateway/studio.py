"""The studio page: `/` and `/jobs/{id}` serve one HTML page; its CSS and ES module are
package data under gateway/static; model-viewer comes from the vendor folder that
`make model-viewer` fills from the npm registry (never a CDN, never committed)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_VENDOR_DIR = Path(__file__).parent / "vendor"
MODEL_VIEWER_VERSION = "4.4.0"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def studio() -> FileResponse:
    """The studio page."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/jobs/{job_id}")
async def studio_job(job_id: str) -> FileResponse:
    """The studio page reopening one job (the page reads the id from its URL)."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def mount_static(app: FastAPI, vendor_dir: str) -> None:
    """Serve the page's files and the vendored model-viewer."""
    vendor = Path(vendor_dir) if vendor_dir else DEFAULT_VENDOR_DIR
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/vendor", StaticFiles(directory=vendor, check_dir=False), name="vendor")
