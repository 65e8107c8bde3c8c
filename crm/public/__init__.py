"""Public pages outside the admin UI: `/health`, `/privacy`, `/favicon.ico` (and `/contact`)."""

from __future__ import annotations

from babel import Locale
from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory

from crm.extensions import db
from crm.privacy.notice import LANGUAGES, build_notice
from crm.public.notice_text import LABELS, TEXT, purpose_name

bp = Blueprint("public", __name__)


def page_language() -> str:
    """Return `?lang=` when it is fi, en or sv; else the browser's best match; else Finnish."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or "fi"


@bp.get("/health")
def health():
    """Liveness: the process answers. No data, no database."""
    return jsonify(status="ok")


@bp.get("/favicon.ico")
def favicon():
    """The CRM's icon (an SVG, which browsers accept at this address), cached for a day."""
    return send_from_directory(current_app.static_folder, "favicon.svg",
                               mimetype="image/svg+xml", max_age=86400)


@bp.get("/privacy")
def privacy():
    """The privacy notice, generated from the live configuration and registers."""
    lang = page_language()
    notice = build_notice(db.session, current_app.config)
    return render_template("public/privacy.html", notice=notice, lang=lang, t=TEXT[lang],
                           labels=LABELS[lang], purpose_name=purpose_name,
                           country_name=_country_names(lang),
                           controller_name=notice.controller["name"])


def _country_names(lang: str):
    """Return a function naming a country by its code in `lang` ("US": "Yhdysvallat",
    "United States", "USA"); a code Babel does not know, as it is."""
    territories = Locale.parse(lang).territories
    return lambda code: territories.get((code or "").upper()) or code or ""


# The callback form and the Mailchimp webhook add their routes to this blueprint.
from crm.public import contact, webhooks  # noqa: E402, F401
