"""Erasure (DESIGN §9.3): nothing of the person remains anywhere; suppressed; processors told."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

import pytest
import sqlalchemy as sa
from flask_appbuilder import Model

from crm.models import (
    AuditEvent,
    Contact,
    DataSubjectRequest,
    RequestStatus,
    RequestType,
    SuppressionEntry,
)
from crm.models.base import utcnow
from crm.privacy import processors
from crm.privacy.processors import ErasureResult
from crm.privacy.suppression import suppression_hash
from crm.services.erasure import erase_subject
from crm.services.requests import RequestError
from tests.conftest import session_csrf_token
from tests.factories import make_contact
from tests.subject_data import PERSON, SECRETS, seed_subject


def dump(session) -> dict[str, dict[tuple, tuple]]:
    """Every row of every table: table -> primary key -> values."""
    session.expire_all()
    result = {}
    for table in Model.metadata.sorted_tables:
        rows = session.execute(sa.select(table)).all()
        result[table.name] = {tuple(r._mapping[c.name] for c in table.primary_key.columns):
                              tuple(r) for r in rows}
    return result


def leftovers(tables) -> list[str]:
    found = []
    for name, rows in tables.items():
        for pk, row in rows.items():
            text = " ".join(str(v) for v in row)
            text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
            text = f"{text} {unquote_plus(text)}".lower()
            found += [f"{name} {pk}: {s}" for s in SECRETS if s.lower() in text]
    return found


@pytest.fixture
def calls(monkeypatch):
    """A processor's erasure hook that records what it was given."""
    seen = []

    def hook(app, subject):
        seen.append(subject)
        return ErasureResult("Fakechimp", True, "204")

    monkeypatch.setattr(processors, "_HOOKS", {"Fakechimp": hook})
    return seen


def _erasure_request(session, seeded, **overrides) -> DataSubjectRequest:
    request = session.scalars(sa.select(DataSubjectRequest).where(
        DataSubjectRequest.contact_id == seeded.contact_id)).one()
    values = dict(type=RequestType.erasure, identity_verified_how="Signed letter",
                  identity_verified_at=utcnow(), status=RequestStatus.in_progress,
                  requester_email="xq.other@qvistmail.example")
    values.update(overrides)
    for key, value in values.items():
        setattr(request, key, value)
    session.commit()
    return request


def _erase(client, pk: int, **data):
    token = session_csrf_token(client)
    return client.post(f"/requests/{pk}/erase", data={"csrf_token": token, **data})


def test_erasure_leaves_nothing_of_the_person_anywhere(app, session, login_as, calls):
    seeded = seed_subject(session)
    request = _erasure_request(session, seeded)
    before = dump(session)
    assert leftovers(before)
    client = login_as("privacy")
    _erase(client, request.id)  # not confirmed: nothing happens
    assert session.get(Contact, seeded.contact_id).anonymised_at is None
    assert calls == []

    assert _erase(client, request.id, confirm="y").status_code == 302
    after = dump(session)
    assert leftovers(after) == []
    # The contact row stays, anonymised, for the counts; its children are gone or emptied.
    contact = session.get(Contact, seeded.contact_id)
    assert contact.anonymised_at is not None and contact.organisation_id == seeded.organisation_id
    for table in ("identifier", "consent", "contact_change", "contact_purpose"):
        assert not seeded.about[table] & set(after[table]), table
    # The colleague and the stranger are untouched (but for a callback left with the
    # person's phone number, which the anonymiser empties too: see crm.privacy.anonymise).
    switchboard = max(seeded.others["callback_request"])
    for table, keys in seeded.others.items():
        for key in keys:
            if table == "callback_request" and key == switchboard:
                continue
            assert after[table][key] == before[table][key], (table, key)


def test_erasure_suppresses_records_outcome_and_tells_processors(app, session, login_as,
                                                                 calls):
    seeded = seed_subject(session)
    request = _erasure_request(session, seeded)
    _erase(login_as("privacy"), request.id, confirm="y")

    # The processor got the snapshot taken before anonymising, the request's address too.
    (subject,) = calls
    assert subject.contact_id == seeded.contact_id
    assert subject.emails == tuple(sorted({PERSON["email"].lower(), PERSON["alt_email"],
                                           "xq.other@qvistmail.example"}))
    assert subject.phones == (PERSON["phone"], PERSON["mobile"])
    hashes = set(session.scalars(sa.select(SuppressionEntry.key_hash).where(
        SuppressionEntry.reason == "erasure")))
    for kind, value in [("email", PERSON["email"]), ("email", PERSON["alt_email"]),
                        ("email", "xq.other@qvistmail.example"), ("phone", PERSON["phone"]),
                        ("phone", PERSON["mobile"])]:
        assert suppression_hash(kind, value) in hashes, value

    session.expire_all()
    request = session.get(DataSubjectRequest, request.id)
    assert request.erasure_result == {"contacts": [seeded.contact_id], "processors": [
        {"processor": "Fakechimp", "ok": True, "detail": "204"}]}
    assert "Fakechimp" in request.outcome
    assert request.status is RequestStatus.in_progress  # until the answer is delivered
    assert request.requester_name == "" and request.requester_email is None
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "erase")).all()
    assert [(e.object_type, e.object_id, e.actor, e.detail) for e in events] == [
        ("Contact", str(seeded.contact_id), "privacy", f"request {request.id}")]

    # The answer: delivered, the request completed; and no second erasure.
    client = login_as("privacy")
    token = session_csrf_token(client)
    client.post(f"/requests/{request.id}/deliver", data={"csrf_token": token, "how": "letter"})
    session.expire_all()
    assert session.get(DataSubjectRequest, request.id).status is RequestStatus.completed
    with pytest.raises(RequestError):
        erase_subject(app, session, request.id, actor=(None, "test"))


def test_every_contact_with_the_persons_email_is_erased(app, session, login_as, calls):
    seeded = seed_subject(session)
    twin = make_contact(session, first_name="X.", last_name="Q.",
                        email=PERSON["alt_email"].upper())
    session.commit()
    request = _erasure_request(session, seeded)
    # The request's page names every contact the erasure will take, before it is confirmed.
    page = login_as("privacy").get(f"/datasubjectrequestview/show/{request.id}") \
        .get_data(as_text=True)
    listed = page.split('id="to-erase"')[1].split("</ul>")[0]
    assert f'data-contact="{seeded.contact_id}"' in listed
    assert f'data-contact="{twin.id}"' in listed
    assert f'data-contact="{seeded.colleague_id}"' not in listed
    result = erase_subject(app, session, request.id, actor=(None, "test"))
    assert sorted(result["contacts"]) == sorted([seeded.contact_id, twin.id])
    assert {s.contact_id for s in calls} == {seeded.contact_id, twin.id}
    session.expire_all()
    assert session.get(Contact, seeded.colleague_id).anonymised_at is None


def test_a_failing_processor_does_not_undo_the_erasure(app, session, monkeypatch):
    def broken(app, subject):
        raise ConnectionError("no route")

    monkeypatch.setattr(processors, "_HOOKS", {"Fakechimp": broken})
    seeded = seed_subject(session)
    request = _erasure_request(session, seeded)
    result = erase_subject(app, session, request.id, actor=(None, "test"))
    assert result["processors"] == [
        {"processor": "Fakechimp", "ok": False, "detail": "ConnectionError"}]
    session.expire_all()
    assert session.get(Contact, seeded.contact_id).anonymised_at is not None
    assert "Fakechimp" in session.get(DataSubjectRequest, request.id).outcome


@pytest.mark.parametrize("overrides, message", [
    ({"identity_verified_at": None}, "Verify"),
    ({"type": RequestType.access}, "does not apply"),
    ({"status": RequestStatus.rejected}, "closed"),
])
def test_erasure_needs_a_verified_open_erasure_request(app, session, calls, overrides,
                                                       message):
    seeded = seed_subject(session)
    request = _erasure_request(session, seeded, **overrides)
    with pytest.raises(RequestError):
        erase_subject(app, session, request.id, actor=(None, "test"))
    session.rollback()
    assert session.get(Contact, seeded.contact_id).anonymised_at is None
    assert calls == []


def test_the_outcome_names_processors_as_people_know_them(app):
    """The request's outcome reads "Mailchimp: poistettu", not the hook's key."""
    import crm.integrations.mailchimp  # noqa: F401  (registers its erasure hook)
    from crm.privacy.processors import ErasureResult, processor_title
    from crm.services.erasure import _outcome

    assert processor_title("mailchimp") == "Mailchimp"
    text = _outcome(1, [ErasureResult("mailchimp", True, "204")])
    assert "Mailchimp: poistettu" in text and "mailchimp:" not in text


def test_a_processor_not_in_use_is_not_said_to_have_deleted_anything(app, session,
                                                                     monkeypatch):
    """Mailchimp not configured: nothing was ever sent there, and the outcome says so."""
    from flask_babel import force_locale

    import crm.integrations.mailchimp as mailchimp

    monkeypatch.setattr(processors, "_HOOKS", {"mailchimp": mailchimp.erase_member})
    monkeypatch.setitem(app.config, "CRM_MAILCHIMP_API_KEY", None)
    seeded = seed_subject(session)
    session.execute(sa.delete(Model.metadata.tables["mailchimp_member"]))
    request = _erasure_request(session, seeded)
    with force_locale("en"):
        result = erase_subject(app, session, request.id, actor=(None, "test"))
    assert result["processors"] == [
        {"processor": "mailchimp", "ok": True, "detail": processors.NOTHING_SENT}]
    session.expire_all()
    outcome = session.get(DataSubjectRequest, request.id).outcome
    assert "Mailchimp: not in use, nothing was sent there" in outcome
    assert "deleted" not in outcome


def test_the_finnish_outcome_says_mailchimp_is_not_in_use(app):
    import crm.integrations.mailchimp  # noqa: F401  (registers its erasure hook)
    from crm.services.erasure import _outcome

    text = _outcome(1, [ErasureResult("mailchimp", True, processors.NOTHING_SENT)])
    assert "Mailchimp: ei käytössä, sinne ei ole lähetetty tietoja" in text
    assert "poistettu" not in text
