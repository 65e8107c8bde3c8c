"""A contact's change history says why in the reader's language (DESIGN §9.2).

The system stores its reasons for a change as codes ("objection", "Mailchimp webhook:
unsubscribe"), which the Finnish history showed as such, in English. Now every reason
the system writes is read out, on the history's screens and in the access export in
the export's language; a reason a user typed is shown as typed.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm.extensions import db
from crm.models import ContactChange, MarketingStatus
from crm.models.base import utcnow
from crm.privacy.export import build_access_export, render_access_export_html
from crm.services.audience import record_unsubscribe
from crm.services.audit_details import SYSTEM_REASONS, reason_text
from crm.services.consents import LAPSED, NO_CONSENT, WITHDRAWN
from crm.services.objection import object_to_marketing
from crm.services.rectification import change_context
from tests.factories import make_contact

READ_OUT = {
    "objection": ("Henkilö vastusti suoramarkkinointia",
                  "The person objected to direct marketing"),
    "Mailchimp webhook: unsubscribe": ("Mailchimpin webhook: peruttu tilaus",
                                       "Mailchimp webhook: unsubscribed"),
    "Mailchimp webhook: cleaned": ("Mailchimpin webhook: osoite poistettu toimimattomana",
                                   "Mailchimp webhook: address cleaned"),
    WITHDRAWN: ("Markkinointitilaus päättyi: henkilön viimeinen suoramarkkinointisuostumus "
                "peruttiin",
                "Unsubscribed: their last consent to direct marketing was withdrawn"),
    LAPSED: ("Markkinointitilaus päättyi: henkilön viimeinen suoramarkkinointisuostumus "
             "vanheni", "Unsubscribed: their last consent to direct marketing lapsed"),
    NO_CONSENT: ("Markkinointitilaus päättyi: suoramarkkinointisuostumusta ei ole kirjattu",
                 "Unsubscribed: no consent to direct marketing on record"),
}


def test_every_reason_the_system_writes_is_read_out():
    assert set(READ_OUT) == SYSTEM_REASONS


@pytest.mark.parametrize("stored", sorted(READ_OUT))
def test_a_system_reason_reads_in_the_readers_language(app, stored):
    fi, en = READ_OUT[stored]
    with app.test_request_context():
        with force_locale("fi"):
            assert reason_text(stored) == fi
        with force_locale("en"):
            assert reason_text(stored) == en


@pytest.mark.parametrize("typed", ["objection by phone", "Objection", "sso", "json",
                                   "Mailchimp webhook: unsubscribed by hand"])
def test_a_reason_typed_by_a_user_is_shown_as_typed(app, typed):
    with app.test_request_context(), force_locale("fi"):
        assert reason_text(typed) == typed
        assert reason_text(None) == ""


def _history_page(client, contact_id: int) -> str:
    html = client.get(f"/contactchangeview/list/?_flt_0_contact={contact_id}").get_data(
        as_text=True)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _objected(session) -> int:
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    session.commit()
    object_to_marketing(session, contact.id, actor=(None, "privacy"))
    session.commit()
    return contact.id


def _unsubscribed_at_mailchimp(session) -> int:
    contact = make_contact(session, email="lahtija@firma.example",
                           marketing_status=MarketingStatus.subscribed)
    session.commit()
    record_unsubscribe(session, "lahtija@firma.example", how="unsubscribe", now=utcnow())
    return contact.id


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize("made, stored", [(_objected, "objection"),
                                          (_unsubscribed_at_mailchimp,
                                           "Mailchimp webhook: unsubscribe")])
def test_the_history_page_says_why_the_system_changed_a_contact(
        session, login_as, lang, made, stored):
    contact_id = made(session)
    assert stored in {c.reason for c in db.session.scalars(
        sa.select(ContactChange).where(ContactChange.contact_id == contact_id))}
    client = login_as("privacy")
    client.get(f"/lang/{lang}")
    page = _history_page(client, contact_id)
    fi, en = READ_OUT[stored]
    assert (fi if lang == "fi" else en) in page
    assert f" {stored} " not in page


def test_a_reason_typed_by_a_user_stays_as_typed_on_the_history_page(session, login_as):
    contact = make_contact(session, city="Turku")
    session.commit()
    with change_context(session, actor=(None, "privacy"), reason="Muutti Ouluun"):
        contact.city = "Oulu"
        session.commit()
    assert "Muutti Ouluun" in _history_page(login_as("privacy"), contact.id)


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_access_export_says_why_in_its_language(session, lang):
    contact_id = _objected(session)
    html = render_access_export_html(build_access_export(session, contact_id, lang=lang),
                                     lang)
    found = re.search(r'<section data-table="contact_change">(.*?)</section>', html, re.S)
    history = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))))
    fi, en = READ_OUT["objection"]
    assert (fi if lang == "fi" else en) in history
    assert " objection " not in history
