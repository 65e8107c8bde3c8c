"""The record of processing activities (GDPR Art. 30(1)), generated like the privacy notice.

It is built by `crm.privacy.notice.build_notice` from the live configuration and
registers (controller, purposes, sources, recipients, retention policies), so it
says what the system does today; a transfer resting on the invalidated EU–US
Privacy Shield is flagged. The wording is fixed per language (Finnish, English).
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale, get_locale
from sqlalchemy.orm import Session

from crm.models.base import utcnow
from crm.privacy.notice import build_notice
from crm.public.notice_text import LABELS, TEXT
from crm.security.roles import role_label
from crm.views.locale import formatting_locale

RECORD_TEXT: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Seloste käsittelytoimista (EU:n tietosuoja-asetuksen 30 artikla)",
        "generated": "Muodostettu järjestelmän nykyisistä asetuksista ja rekistereistä",
        "subjects": "Rekisteröityjen ryhmät",
        "subjects_list": "Asiakasyritysten yhteyshenkilöt|Potentiaalisten asiakkaiden "
                         "yhteyshenkilöt|Yhteistyökumppaneiden yhteyshenkilöt|"
                         "Soittopyynnön jättäneet henkilöt",
        "legal_bases": "Oikeusperusteet",
        "recipients_none": "Ei vastaanottajia.",
        "erasure": "Tietojen poistamisen määräajat",
        "security": "Teknisten ja organisatoristen turvatoimien yleinen kuvaus",
        "roles": "Roolit, joilla on pääsy tietoihin",
        "invalid": "Siirtoperuste ei ole pätevä",
    },
    "en": {
        "title": "Record of processing activities (GDPR Article 30)",
        "generated": "Generated from the system's current configuration and registers",
        "subjects": "Categories of data subjects",
        "subjects_list": "Contact persons of customer companies|Contact persons of "
                         "prospects|Contact persons of partners|People who leave a callback "
                         "request",
        "legal_bases": "Legal bases",
        "recipients_none": "No recipients.",
        "erasure": "Time limits for erasure",
        "security": "General description of the technical and organisational security "
                    "measures",
        "roles": "Roles with access to the data",
        "invalid": "The transfer safeguard is not valid",
    },
}


def country_name(code: str | None) -> str:
    """Return a country's name in the current language ("US" -> "Yhdysvallat" on Finnish
    pages, "United States" on English ones); a code Babel does not know, as it is."""
    if not code:
        return ""
    locale = get_locale()
    return (locale.territories.get(code.upper()) if locale else None) or code


def render_record_of_processing(session: Session, config, lang: str) -> str:
    """Return the Art. 30 record as a self-contained HTML page in `lang` ("fi" or "en")."""
    notice = build_notice(session, config)
    # In the record's language throughout, whichever the reader's screens are in: the
    # roles by their names there (not the codes "Sales", "DPO"), the date as written there.
    with force_locale(formatting_locale(lang)):
        return render_template("privacy/record_of_processing.html", notice=notice,
                               lang=lang, t=TEXT[lang], r=RECORD_TEXT[lang],
                               labels=LABELS[lang], generated_at=utcnow(),
                               staff_roles=[role_label(name) for name in notice.staff_roles],
                               country_name=country_name)
