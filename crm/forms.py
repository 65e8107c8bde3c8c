"""WTForms' own messages in the CRM's words: its catalog first, WTForms' after it.

Flask-WTF translates WTForms' messages ("Not a valid integer value.") with WTForms'
catalog, whose Finnish has flaws: no full stops, "Täytyy olla välillä 0 - 365.", and
"This field cannot be edited." as "Pakollinen.". The CRM's forms (`CrmForm`, and the
model forms `with_crm_messages` makes of FAB's) look each message up in the CRM's
catalog (the "messages" domain of crm/translations) first; a message it does not
translate comes from WTForms' catalog as before.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import get_translations, gettext, ngettext
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations


def _listed_for_extraction() -> None:  # never called
    """WTForms' messages the CRM translates itself, written here so that extraction
    (scripts/translations.sh) keeps them in messages.pot. "This field is required."
    is FAB's message too, and translated as FAB's."""
    gettext("Not a valid integer value.")
    gettext("Not a valid decimal value.")
    gettext("Not a valid float value.")
    gettext("Not a valid choice.")
    gettext("Invalid Choice: could not coerce.")
    gettext("Number must be at least %(min)s.")
    gettext("Number must be at most %(max)s.")
    gettext("Number must be between %(min)s and %(max)s.")
    gettext("Field must be between %(min)d and %(max)d characters long.")
    gettext("This field cannot be edited.")
    gettext("This field is disabled and cannot have a value.")
    ngettext("Field must be at least %(min)d character long.",
             "Field must be at least %(min)d characters long.", 1)
    ngettext("Field cannot be longer than %(max)d character.",
             "Field cannot be longer than %(max)d characters.", 1)
    ngettext("Field must be exactly %(max)d character long.",
             "Field must be exactly %(max)d characters long.", 1)


class FormTranslations:
    """WTForms' translations object: the CRM's catalog, then WTForms' (via Flask-WTF).

    Nothing is formatted here: WTForms fills in the placeholders itself.
    """

    def gettext(self, string: str) -> str:
        translated = get_translations().ugettext(string)
        return translated if translated != string else wtforms_translations.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        translated = get_translations().ungettext(singular, plural, n)
        if translated not in (singular, plural):
            return translated
        return wtforms_translations.ngettext(singular, plural, n)


translations = FormTranslations()


class CrmMeta:
    """A form Meta that translates WTForms' messages with `translations`."""

    def get_translations(self, form):
        if not current_app.config.get("WTF_I18N_ENABLED", True):
            return super().get_translations(form)
        return translations


class CrmForm(FlaskForm):
    """The base of the CRM's forms: Flask-WTF's, with WTForms' messages in our words."""

    class Meta(CrmMeta):
        pass


def with_crm_messages(form_class: type[FlaskForm]) -> type[FlaskForm]:
    """Return a subclass of `form_class` (say, one FAB built) using `translations`."""
    return type(form_class.__name__, (form_class,), {"Meta": CrmMeta, "__module__": __name__})
