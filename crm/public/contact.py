"""The public callback form at `/contact` (DESIGN §9.7), in Finnish and English.

Protected by the app-wide CSRF check, a honeypot field that people never see (a
post that fills it is answered like any other and stored nowhere) and a rate limit
per client address (`CRM_CONTACT_RATE_LIMIT`). The checks and the storing are in
`crm.services.callbacks`.
"""

from __future__ import annotations

import logging

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_wtf.csrf import CSRFError
from wtforms import BooleanField, EmailField, StringField, TelField, TextAreaField

from crm.extensions import db
from crm.forms import CrmForm
from crm.models.base import utcnow
from crm.public import bp
from crm.public.contact_text import CONSENT_TEXT, CONSENT_TEXT_VERSION, LANGUAGES, TEXT
from crm.services.callbacks import check_details, notify_sales, receive

log = logging.getLogger(__name__)

LANGUAGE_NAMES = [("fi", "Suomeksi"), ("en", "In English")]


class CallbackForm(CrmForm):
    """The form's fields and CSRF token; the checks are the service's, in the page's language."""

    name = StringField()
    organisation = StringField()
    phone = TelField()
    email = EmailField()
    message = TextAreaField()
    consent = BooleanField()
    #: The honeypot: hidden from people by CSS, filled in by form-filling robots.
    website = StringField()


def contact_language() -> str:
    """Return `?lang=` when it is fi or en; else the browser's best match; else Finnish."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or "fi"


def _page(form: CallbackForm, lang: str, errors: dict[str, str] | None = None,
          notice: str | None = None, status: int = 200):
    config = current_app.config
    return render_template(
        "public/contact.html", form=form, lang=lang, t=TEXT[lang], errors=errors or {},
        notice=notice, languages=LANGUAGE_NAMES,
        consent_text=CONSENT_TEXT[lang].format(controller=config["CRM_CONTROLLER_NAME"]),
        controller_name=config["CRM_CONTROLLER_NAME"]), status


@bp.route("/contact", methods=["GET", "POST"])
def contact():
    lang = contact_language()
    form = CallbackForm()
    if request.method == "GET":
        return _page(form, lang)
    thanks = redirect(url_for("public.contact_thanks", lang=lang), 303)
    if form.website.data:
        log.info("callback form: the hidden field was filled in; nothing stored")
        return thanks
    with force_locale(lang):
        details, errors = check_details({
            "name": form.name.data, "organisation": form.organisation.data,
            "phone": form.phone.data, "email": form.email.data,
            "message": form.message.data})
    if not form.consent.data:
        errors["consent"] = TEXT[lang]["consent_required"]
    if errors:
        return _page(form, lang, errors, status=400)
    callback = receive(db.session, details, language=lang, now=utcnow(),
                       consent_version=CONSENT_TEXT_VERSION)
    notify_sales(current_app._get_current_object(), db.session, callback.id)
    return thanks


@bp.get("/contact/thanks")
def contact_thanks():
    lang = contact_language()
    return render_template("public/contact_thanks.html", lang=lang, t=TEXT[lang],
                           languages=LANGUAGE_NAMES,
                           controller_name=current_app.config["CRM_CONTROLLER_NAME"])


@bp.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError):
    """A post without a valid token (forged, or the form expired): nothing is stored."""
    lang = contact_language()
    return _page(CallbackForm(), lang, notice=TEXT[lang]["expired"], status=400)


@bp.errorhandler(429)
def _too_many(error):
    lang = contact_language()
    return _page(CallbackForm(), lang, notice=TEXT[lang]["too_many"], status=429)


@bp.errorhandler(413)
def _too_large(error):
    """A post past the form's size (crm.security.request_size), refused unread."""
    lang = contact_language()
    return _page(CallbackForm(formdata=None), lang, notice=TEXT[lang]["too_large"],
                 status=413)


def _limit_posts(state) -> None:
    """Rate-limit posts to the form per client address, with the app's own limiter."""
    app = state.app
    limiter = app.appbuilder.sm.limiter
    endpoint = "public.contact"
    app.view_functions[endpoint] = limiter.limit(
        lambda: current_app.config["CRM_CONTACT_RATE_LIMIT"], methods=["POST"],
    )(app.view_functions[endpoint])


bp.record_once(_limit_posts)
