"""WTForms' messages: the CRM's catalog first, WTForms' own after it (crm.forms)."""

from __future__ import annotations

from io import BytesIO

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from flask_babel import force_locale
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange

import crm.forms
from crm.forms import CrmForm, CrmMeta, translations

LONG = ("Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.")


@pytest.mark.parametrize("locale, required, email", [
    # The CRM's catalog has "This field is required." (FAB's message); WTForms' has the
    # email message, which the CRM leaves to it.
    ("fi", "Tämä kenttä on pakollinen.", "Virheellinen sähköpostiosoite."),
    ("en", "This field is required.", "Invalid email address."),
])
def test_the_crms_catalog_first_then_wtforms(app, locale, required, email):
    with app.test_request_context(), force_locale(locale):
        assert translations.gettext("This field is required.") == required
        assert translations.gettext("Invalid email address.") == email


def _catalog_with(msgid: str | tuple[str, str], msgstr: str | tuple[str, str]
                  ) -> Translations:
    """A Finnish catalog of one message, standing in for the CRM's."""
    catalog = Catalog(locale="fi")
    catalog.add(msgid, msgstr)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def test_plural_messages_too(app, monkeypatch):
    with app.test_request_context(), force_locale("fi"):
        # Not in the CRM's catalog: WTForms' Finnish.
        wtforms = translations.ngettext(*LONG, 5)
        assert wtforms not in LONG and "%(max)d" in wtforms
        ours = _catalog_with(LONG, ("Enintään %(max)d merkki.", "Enintään %(max)d merkkiä."))
        monkeypatch.setattr(crm.forms, "get_translations", lambda: ours)
        assert translations.ngettext(*LONG, 1) == "Enintään %(max)d merkki."
        assert translations.ngettext(*LONG, 5) == "Enintään %(max)d merkkiä."


def test_a_form_fills_in_the_crms_message(app, monkeypatch):
    """WTForms formats the message the CRM's catalog gives, placeholders and all."""
    class DaysForm(CrmForm):
        class Meta:
            csrf = False

        days = IntegerField(validators=[NumberRange(min=0, max=365)])

    ours = _catalog_with("Number must be between %(min)s and %(max)s.",
                         "Luvun on oltava välillä %(min)s–%(max)s.")
    monkeypatch.setattr(crm.forms, "get_translations", lambda: ours)
    with app.test_request_context(method="POST", data={"days": "400"}), force_locale("fi"):
        form = DaysForm()
        assert not form.validate()
        assert form.days.errors == ["Luvun on oltava välillä 0–365."]


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_form_of_the_crm_uses_the_crms_messages(app, login_as):
    """The CRM's own forms and the model forms it builds of FAB's (crm.views.base)."""
    login_as("sales").get("/contactview/add")  # builds the contact form
    forms = {f for f in _subclasses(FlaskForm) if f.__module__.startswith("crm.")}
    assert {f.__name__ for f in forms} >= {"CallbackForm", "RunForm", "UploadForm",
                                           "DynamicForm", "LoginForm_db"}
    for form in forms:
        # The form's Meta as WTForms makes it: of every Meta along the form's bases.
        meta = type("Meta", tuple(c.__dict__["Meta"] for c in form.__mro__
                                  if "Meta" in c.__dict__), {})
        assert meta.get_translations is CrmMeta.get_translations, form
