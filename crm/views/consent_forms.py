"""The fields of a consent recorded by hand: on the Consents tab and on a new contact's form.

A consent record is the evidence that the person agreed (GDPR Art. 7(1)): to what
wording, when, how and where it can be checked. By hand, then:

* "Import" is not offered, and a post naming it is refused: it is the way of a consent
  that came in with imported data, which no person can vouch for by hand (the
  purchased-list import of crm.services.imports records no consents today). A consent
  recorded so keeps its way of giving: the edit form changes only the withdrawal;
* given on the web form, the text version is one of the versions of the consent text
  that our form has shown (`crm.public.contact_text.CONSENT_TEXT_VERSIONS`), picked from
  a list: any other would point to no wording the person can have seen; and the
  consent is to what that wording asks, being contacted about the request (the
  callback's purpose, new business), not to direct marketing, say;
* given by phone or email, no published wording exists: the version field says in brief
  what the person agreed to (the script's version, the email's wording), and the
  evidence, required then, says where it can be checked (who spoke with them and when, the email
  and where it is kept).

The fields are ConsentView's; the contact form copies them under the prefix
"consent_" (crm.views.register, `CONSENT_FIELDS`), so a check finds its sibling field by
the same prefix.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget
from flask_babel import gettext
from markupsafe import Markup
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from crm.extensions import db
from crm.models import ConsentMethod, Purpose
from crm.public.contact_text import CONSENT_TEXT_VERSIONS
from crm.services.callbacks import PURPOSE as CALLBACK_PURPOSE

#: The ways of giving a consent that a person may record by hand.
HAND_ENTERED = (ConsentMethod.form, ConsentMethod.phone, ConsentMethod.email)
#: The ways of giving with no published wording: what was agreed and where it can be
#: checked are written down.
UNPUBLISHED = (ConsentMethod.phone, ConsentMethod.email)
#: The version field's length (Consent.text_version).
TEXT_VERSION_LENGTH = 50


def form_text_versions() -> list[tuple[str, str]]:
    """Return the web form's consent text versions as (version, how the list shows it),
    the newest first."""
    return [(version, gettext("%(version)s (callback form)", version=version))
            for version in reversed(CONSENT_TEXT_VERSIONS)]


def _sibling(form, field, name: str):
    """Return the field `name` ("given_how") of the same consent as `field`, or None."""
    own = next((c for c in ("text_version", "evidence") if field.name.endswith(c)), "")
    sibling = field.name[: len(field.name) - len(own)] + name
    return form[sibling] if sibling in form else None


def _method(form, field) -> ConsentMethod | None:
    method = _sibling(form, field, "given_how")
    if method is None or method.errors:
        return None
    return method.data if isinstance(method.data, ConsentMethod) else None


class HandEnteredMethodField(SelectField):
    """The way a consent was given, as a person records it: never "Import"."""

    def pre_validate(self, form):
        if self.data is ConsentMethod.import_:
            # Not StopValidation: on the contact form, the basis decides whether the
            # consent's fields are read at all (checks.only_for_consent_basis).
            raise ValidationError(gettext(
                "%(field)s: “%(way)s” is for consents that came with imported data, not "
                "for one recorded by hand. Choose how the person gave their consent: "
                "%(ways)s.",
                field=self.label.text, way=ConsentMethod.import_.label,
                ways=", ".join(m.label for m in HAND_ENTERED)))
        super().pre_validate(form)


def hand_entered_method_field(label, description="") -> HandEnteredMethodField:
    """Return the select of how a consent was given, offering only `HAND_ENTERED`."""
    return HandEnteredMethodField(
        label,
        choices=lambda: [(m.value, m.label) for m in HAND_ENTERED],
        coerce=lambda v: ConsentMethod(v) if v not in (None, "") else None,
        description=description,
        render_kw={"class": "form-control"},
    )


def version_for_method(form, field) -> None:
    """A consent given on the web form names a version of its consent text (this field)."""
    if field.errors or not field.data or _method(form, field) is not ConsentMethod.form:
        return
    if field.data not in CONSENT_TEXT_VERSIONS:
        raise ValidationError(gettext(
            "%(field)s: “%(version)s” is no version of our web form's consent text. Choose "
            "the version the person agreed to: %(versions)s.",
            field=field.label.text, version=field.data,
            versions=", ".join(reversed(CONSENT_TEXT_VERSIONS))))
    purpose = _sibling(form, field, "purpose")
    chosen = getattr(purpose.data, "code", None) if purpose is not None else None
    if chosen is not None and chosen != CALLBACK_PURPOSE:
        # The form's wording asks only to be contacted about the request: it is no
        # evidence of a consent to anything else (direct marketing, say).
        raise ValidationError(gettext(
            "%(field)s: our web form's consent text asks only to be contacted about the "
            "person's request, a consent to “%(covers)s”. A consent to “%(purpose)s” given "
            "otherwise is recorded as given by phone or by email, with its evidence.",
            field=field.label.text, covers=_purpose_name(CALLBACK_PURPOSE),
            purpose=str(purpose.data)))


def _purpose_name(code: str) -> str:
    found = db.session.scalar(sa.select(Purpose).where(Purpose.code == code))
    return str(found) if found is not None else code


def evidence_for_method(form, field) -> None:
    """A consent given by phone or email says where it can be checked (this field)."""
    if (field.data or "").strip() or _method(form, field) not in UNPUBLISHED:
        return
    raise ValidationError(gettext(
        "%(field)s: a consent given by phone or email needs its evidence: who spoke with "
        "the person and when, or the email's date and where it is kept.",
        field=field.label.text))


class TextVersionWidget(BS3TextFieldWidget):
    """The version's text box, and beside it the list of the web form's versions, which
    stands in for the box while "Web form" is chosen (crm/consent_version.html). Without
    JavaScript the box alone is shown, and the server checks what is typed."""

    def __call__(self, field, **kwargs):
        box = super().__call__(field, **kwargs)
        method_id = field.id[: len(field.id) - len("text_version")] + "given_how"
        options = [Markup('<option value="">—</option>')]
        for version, shown in form_text_versions():
            selected = Markup(" selected") if field.data == version else Markup("")
            options.append(Markup('<option value="%s"%s>%s</option>') % (
                version, selected, shown))
        choice = Markup(
            '<select class="form-control hidden" id="%s-choice" aria-label="%s" '
            'data-crm-version-of="%s" data-crm-method="%s">%s</select>') % (
            field.id, field.label.text, field.id, method_id, Markup("").join(options))
        return box + choice


def text_version_field(label, description="") -> StringField:
    """Return the field of the consent text's version: required, checked by the way of
    giving (`version_for_method`)."""
    return StringField(label, validators=[DataRequired(), Length(max=TEXT_VERSION_LENGTH),
                                          version_for_method],
                       widget=TextVersionWidget(), description=description)


def evidence_field(label, description="") -> TextAreaField:
    """Return the field of a consent's evidence: required by phone or email."""
    return TextAreaField(label, validators=[evidence_for_method],
                         widget=BS3TextAreaFieldWidget(), description=description)
