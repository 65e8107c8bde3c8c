"""Public pages outside the admin UI: `/health` (and later `/contact`, `/privacy`)."""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("public", __name__)


@bp.get("/health")
def health():
    """Liveness: the process answers. No data, no database."""
    return jsonify(status="ok")
