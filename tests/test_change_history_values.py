"""A contact's change history shows old and new values as the rest of the CRM does:
choices by their labels, yes or no in words, times in the reader's language and the
CRM's time zone; never the stored codes, "true" or UTC timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
import sqlalchemy as sa

from crm.models import Language, MarketingStatus
from crm.services.rectification import change_context
from tests.factories import make_contact, purpose

#: 22.06 UTC on 25 November is 0.06 on 26 November in Helsinki.
OBJECTED_AT = datetime(2026, 11, 25, 22, 6, 9, 233087, tzinfo=UTC)

SHOWN = {
    "fi": {"marketing_status": ("Tilannut", "Perunut tilauksen"),
           "legal_hold": ("Ei", "Kyllä"), "objected_at": ("", "26.11.2026 0.06"),
           "language": ("Suomi", "Englanti"), "country": ("Suomi", "Ruotsi"),
           "phone": ("+358 40 1234567", "+358 50 7654321")},
    "en": {"marketing_status": ("Subscribed", "Unsubscribed"),
           "legal_hold": ("No", "Yes"), "objected_at": ("", "26/11/2026, 00:06"),
           "language": ("Finnish", "English"), "country": ("Finland", "Sweden"),
           "phone": ("+358 40 1234567", "+358 50 7654321")},
}
#: What the history stores, as a word of its own (not "Unsubscribed"'s end).
STORED = re.compile(r"\b(subscribed|unsubscribed|true|false|fi|en|SE|direct_marketing)\b"
                    r"|2026-11-25T22|\+358507654321")


def _changed_contact(session):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed,
                           legal_hold=False, language=Language.fi, country="FI",
                           phone="+358401234567")
    session.commit()
    session.refresh(contact)  # as a screen reads the contact before it changes it
    with change_context(session, actor=(None, "test")):
        contact.marketing_status = MarketingStatus.unsubscribed
        contact.objected_at = OBJECTED_AT
        contact.legal_hold = True
        contact.language = Language.en
        contact.country = "SE"
        contact.phone = "+358507654321"
        contact.purposes = [purpose(session, "direct_marketing")]
        session.commit()
    return contact


def _history_rows(html: str) -> list[str]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_change_history_shows_values_in_the_readers_words(session, login_as, lang):
    contact = _changed_contact(session)
    client = login_as("privacy")
    client.get(f"/lang/{lang}")
    pages = [client.get(f"/contactview/show/{contact.id}"),
             client.get("/contactchangeview/list/", query_string={"psize_ContactChangeView": 50})]
    for page in pages:
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        rows = _history_rows(html)
        for field, (old, new) in SHOWN[lang].items():
            assert any(f"{old} {new}".strip() in row for row in rows), (field, old, new, rows)
        assert not [row for row in rows if STORED.search(row)], rows
        purpose_name = "Suoramarkkinointi" if lang == "fi" else "Direct marketing"
        assert any(purpose_name in row for row in rows)


def test_a_change_shows_its_values_in_the_readers_words(session, login_as):
    from crm.models import ContactChange

    contact = _changed_contact(session)
    change = session.scalar(sa.select(ContactChange).where(
        ContactChange.contact_id == contact.id, ContactChange.field == "legal_hold"))
    client = login_as("dpo")
    page = client.get(f"/contactchangeview/show/{change.id}").get_data(as_text=True)
    rows = _history_rows(page)
    assert any(row.endswith(" Ei") for row in rows) and any(row.endswith(" Kyllä")
                                                           for row in rows), rows
    assert not [row for row in rows if STORED.search(row)], rows
