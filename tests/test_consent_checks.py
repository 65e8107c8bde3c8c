"""A consent's withdrawal is dated no earlier than the consent: the record is evidence.

The Consents tab's edit form changes only the withdrawal. A withdrawal typed before the
consent was given (a slip of the month: 1.11. for 1.12.) was saved, and the record then
said the person withdrew a consent before giving it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest

from crm.extensions import db
from crm.models import Consent
from crm.models.base import register_today
from tests.factories import make_consent, make_contact, purpose
from tests.test_contact_forms import all_errors, field_errors, form_data


@pytest.mark.parametrize("typed, refused", [
    ("2026-11-01 10:00", True),   # before the consent
    ("2026-11-24 08:59", True),   # a minute before
    ("2026-11-24 09:00", False),  # the minute it was given
    ("2026-11-24 10:00", False),
])
def test_a_consent_is_not_withdrawn_before_it_was_given(signed_in, session, typed, refused):
    given = datetime(2026, 11, 24, 7, 0, 42, tzinfo=UTC)  # 9.00 on the register's clock
    consent = make_consent(session, make_contact(session), given_at=given)
    session.commit()
    client = signed_in("marketing")
    path = f"/consentview/edit/{consent.id}"
    data = form_data(client.get(path).get_data(as_text=True), withdrawn_at=typed)
    response = client.post(path, data=data)
    db.session.remove()
    stored = db.session.get(Consent, consent.id)
    if refused:
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert field_errors(html, "withdrawn_at") == [
            "A consent cannot be withdrawn before it was given."]
        assert stored.withdrawn_at is None
    else:
        assert response.status_code == 302, all_errors(response.get_data(as_text=True))
        assert stored.withdrawn_at is not None


def test_the_calendar_of_a_new_contacts_consent_ends_today(signed_in):
    """The contact form's consent cannot be given in the future (checks.given_by_now):
    its calendar offers no later day, as the calendar of a request's receipt."""
    page = signed_in("marketing").get("/contactview/add").get_data(as_text=True)
    match = re.search(r'<div class="input-group date crm-date" data-crm-date="([^"]*)">'
                      r'<input[^>]*id="consent_given_at"', page)
    assert match
    assert f'"latest": "{register_today().isoformat()}"' in unescape(match.group(1))


def test_a_consent_added_on_the_consents_tab_starts_as_one_to_direct_marketing(
        signed_in, session):
    """The tab's form offered the first purpose of the list (customer relationship): a
    consent saved as offered was none to direct marketing, which the marketing audience
    and the consent-expiry job count."""
    contact = make_contact(session)
    session.commit()
    page = signed_in("marketing").get(
        f"/consentview/add?_flt_0_contact={contact.id}").get_data(as_text=True)
    select = re.search(r'<select[^>]*id="purpose"[^>]*>(.*?)</select>', page, re.S)
    assert select
    chosen = re.findall(r'<option selected value="(\d+)">', select.group(1))
    assert chosen == [str(purpose(session, "direct_marketing").id)]
