"""Direct marketing only on a valid consent to it (crm.services.consents, DESIGN §2, §9.8).

A marketer withdrew a person's only direct-marketing consent on the Consents tab and
the person stayed subscribed: in the audience, its CSV and the next Mailchimp sync.
Another set "Subscribed" on a contact from a purchased list with no consent at all.
Now losing the last valid consent unsubscribes, in the same transaction, recorded as
the consent-expiry job records a lapse; and "Subscribed" is refused without one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent, Consent, Contact, ContactChange, MarketingStatus
from crm.services.audience import audience_batches, export_csv
from crm.services.consents import LAPSED, NO_CONSENT, WITHDRAWN
from tests.conftest import csrf_token
from tests.factories import make_consent, make_contact, purpose
from tests.test_contact_consent_basis import on_consent, post
from tests.test_contact_forms import all_errors, field_errors, form_data
from tests.test_jobs import run
from tests.test_mailchimp import fake, sync  # noqa: F401 (the fake Mailchimp fixture)

ON_EDIT = ("Marketing: “Subscribed” needs a valid consent to direct marketing on record, "
           "and this person has none. Record their consent on the Consents tab first.")
ON_ADD = ("Marketing: “Subscribed” needs the person's consent to direct marketing: choose "
          "Consent as the legal basis and record their consent to direct marketing with "
          "the contact.")


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def withdraw(client, consent_id: int):
    """Withdraw a consent on its edit screen (the Consents tab's), as of a minute ago."""
    path = f"/consentview/edit/{consent_id}"
    typed = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    data = form_data(client.get(path).get_data(as_text=True), withdrawn_at=typed)
    response = client.post(path, data=data)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()


def in_audience(contact_id: int) -> bool:
    return any(m.contact_id == contact_id for batch in audience_batches(db.session)
               for m in batch)


def history(contact_id: int) -> list[tuple]:
    return [(c.field, c.old_value, c.new_value, c.changed_by, c.reason)
            for c in db.session.scalars(sa.select(ContactChange).where(
                ContactChange.contact_id == contact_id).order_by(ContactChange.id))]


def contact_events(contact_id: int) -> list[tuple]:
    return [(e.action, e.actor, e.fields, e.detail)
            for e in db.session.scalars(sa.select(AuditEvent).where(
                AuditEvent.object_type == "Contact", AuditEvent.object_id == str(contact_id))
                .order_by(AuditEvent.id))]


# -- withdrawing a consent -----------------------------------------------------------


def test_withdrawing_the_last_consent_unsubscribes_here_and_at_mailchimp(
        app, signed_in, session, fake):  # noqa: F811
    contact = make_contact(session, email="tilaaja@firma.example",
                           marketing_status=MarketingStatus.subscribed)
    consent = make_consent(session, contact, given_at=days_ago(30))
    session.commit()
    contact_id, version = contact.id, contact.version
    assert sync(app).counts["created"] == 1
    assert fake.status_of("tilaaja@firma.example") == "subscribed"

    withdraw(signed_in("marketing"), consent.id)

    stored = db.session.get(Contact, contact_id)
    assert stored.marketing_status is MarketingStatus.unsubscribed
    assert stored.version == version + 1  # an edit form opened before cannot undo it
    assert not in_audience(contact_id)
    assert b"tilaaja@firma.example" not in export_csv(db.session)[0]
    assert history(contact_id) == [("marketing_status", "subscribed", "unsubscribed",
                                    "marketing", WITHDRAWN)]
    assert ("update", "marketing", ["marketing_status"], WITHDRAWN) in contact_events(
        contact_id)
    page = signed_in("marketing").get(f"/contactview/show/{contact_id}").get_data(
        as_text=True)
    assert "Unsubscribed" in page
    outcome = sync(app)
    assert outcome.counts["unsubscribed"] == 1
    assert fake.status_of("tilaaja@firma.example") == "unsubscribed"


def test_the_change_history_says_why_in_words(signed_in, session):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    consent = make_consent(session, contact, given_at=days_ago(30))
    session.commit()
    contact_id = contact.id
    withdraw(signed_in("marketing"), consent.id)

    page = signed_in("privacy").get(
        f"/contactchangeview/list/?_flt_0_contact={contact_id}").get_data(as_text=True)
    assert "Unsubscribed: their last consent to direct marketing was withdrawn" in page
    assert WITHDRAWN not in page


@pytest.mark.parametrize("other, stays", [
    ("valid", True),
    ("lapsed", False),          # given longer ago than CRM_CONSENT_VALID_DAYS
    ("withdrawn", False),
    ("another purpose", False),  # a consent to be contacted about new business
])
def test_another_consent_keeps_the_subscription_only_while_valid(signed_in, session, other,
                                                                 stays):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    withdrawn = make_consent(session, contact, given_at=days_ago(30))
    values = {"valid": {"given_at": days_ago(10)},
              "lapsed": {"given_at": days_ago(800)},
              "withdrawn": {"given_at": days_ago(20), "withdrawn_at": days_ago(5)},
              "another purpose": {"given_at": days_ago(10),
                                  "purpose": purpose(session, "new_business")}}[other]
    make_consent(session, contact, **values)
    session.commit()
    contact_id = contact.id

    withdraw(signed_in("marketing"), withdrawn.id)

    assert db.session.get(Consent, withdrawn.id).withdrawn_at is not None
    status = db.session.get(Contact, contact_id).marketing_status
    assert status is (MarketingStatus.subscribed if stays else MarketingStatus.unsubscribed)
    assert in_audience(contact_id) is stays
    assert bool(history(contact_id)) is not stays


def test_withdrawing_a_consent_to_another_purpose_leaves_marketing_as_it_was(signed_in,
                                                                            session):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    make_consent(session, contact, given_at=days_ago(30))
    other = make_consent(session, contact, given_at=days_ago(30),
                         purpose=purpose(session, "new_business"))
    session.commit()
    contact_id = contact.id

    withdraw(signed_in("privacy"), other.id)

    assert db.session.get(Contact, contact_id).marketing_status is MarketingStatus.subscribed
    assert history(contact_id) == []


def test_a_lapsed_consent_is_recorded_as_a_withdrawn_one_is(app, session):
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    make_consent(session, contact, given_at=days_ago(800))
    session.commit()
    contact_id = contact.id

    assert run(app, "consent_expiry").counts["unsubscribed"] == 1

    db.session.remove()
    assert history(contact_id) == [("marketing_status", "subscribed", "unsubscribed",
                                    "consent_expiry", LAPSED)]
    assert contact_events(contact_id) == [("update", "consent_expiry", ["marketing_status"],
                                           LAPSED)]


def test_the_consent_expiry_job_unsubscribes_who_was_subscribed_with_no_consent(app,
                                                                                session):
    """As the reviewer's purchased-list person, subscribed before the form refused it."""
    bought = make_contact(session, marketing_status=MarketingStatus.subscribed)
    consented = make_contact(session, marketing_status=MarketingStatus.subscribed)
    make_consent(session, consented, given_at=days_ago(10))
    session.commit()
    bought_id, consented_id = bought.id, consented.id

    assert run(app, "consent_expiry", dry_run=True).counts["unsubscribed"] == 1
    assert run(app, "consent_expiry").counts["unsubscribed"] == 1

    db.session.remove()
    assert db.session.get(Contact, bought_id).marketing_status is MarketingStatus.unsubscribed
    assert history(bought_id) == [("marketing_status", "subscribed", "unsubscribed",
                                   "consent_expiry", NO_CONSENT)]
    assert db.session.get(Contact, consented_id).marketing_status is \
        MarketingStatus.subscribed
    assert not in_audience(bought_id) and in_audience(consented_id)


# -- subscribing ---------------------------------------------------------------------


def edit_marketing(client, contact_id: int, status: str = "subscribed"):
    path = f"/contactview/edit/{contact_id}"
    data = form_data(client.get(path).get_data(as_text=True), marketing_status=status)
    return client.post(path, data=data)


@pytest.mark.parametrize("consent", [
    None,
    {"given_at": days_ago(30), "withdrawn_at": days_ago(2)},
    {"given_at": days_ago(800)},
    {"given_at": days_ago(30), "purpose": "new_business"},
])
@pytest.mark.parametrize("user", ["marketing", "privacy"])
def test_subscribing_without_a_valid_consent_is_refused_on_edit(signed_in, session, user,
                                                                consent):
    contact = make_contact(session, marketing_status=MarketingStatus.never)
    if consent is not None:
        consent = dict(consent)
        if "purpose" in consent:
            consent["purpose"] = purpose(session, consent["purpose"])
        make_consent(session, contact, **consent)
    session.commit()
    contact_id, version = contact.id, contact.version

    response = edit_marketing(signed_in(user), contact_id)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "marketing_status") == [ON_EDIT]
    db.session.remove()
    stored = db.session.get(Contact, contact_id)
    assert (stored.marketing_status, stored.version) == (MarketingStatus.never, version)
    assert history(contact_id) == []
    assert not in_audience(contact_id)


def test_subscribing_with_a_valid_consent_is_saved(signed_in, session):
    contact = make_contact(session, marketing_status=MarketingStatus.unsubscribed)
    make_consent(session, contact, given_at=days_ago(3))
    session.commit()
    contact_id = contact.id

    response = edit_marketing(signed_in("marketing"), contact_id)

    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    assert db.session.get(Contact, contact_id).marketing_status is MarketingStatus.subscribed
    assert in_audience(contact_id)


def test_a_subscribed_contact_keeps_being_edited_as_before(signed_in, session):
    """The status is checked when it is set: a contact subscribed before the rule keeps
    its other fields editable (the consent-expiry job unsubscribes a lapsed one)."""
    contact = make_contact(session, marketing_status=MarketingStatus.subscribed)
    session.commit()
    path = f"/contactview/edit/{contact.id}"
    client = signed_in("marketing")
    data = form_data(client.get(path).get_data(as_text=True), title="Ostopäällikkö")
    response = client.post(path, data=data)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))


@pytest.mark.parametrize("fields", [
    {"legal_basis": "position"},
    {"legal_basis": "contract"},
    {"consent_purpose": "new_business"},  # on consent, but not to direct marketing
])
def test_a_new_contact_is_subscribed_only_with_its_consent_to_direct_marketing(signed_in,
                                                                              fields):
    fields = dict(fields)
    if "consent_purpose" in fields:
        fields["consent_purpose"] = str(purpose(db.session, fields["consent_purpose"]).id)
    client = signed_in("marketing")
    response = post(client, on_consent(marketing_status="subscribed", **fields))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "marketing_status") == [ON_ADD]
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 0


def test_a_new_contact_subscribed_with_its_consent_is_in_the_audience(signed_in):
    client = signed_in("marketing")
    response = post(client, on_consent(marketing_status="subscribed"))

    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    contact = db.session.scalar(sa.select(Contact))
    assert contact.marketing_status is MarketingStatus.subscribed
    assert [c.purpose.code for c in contact.consents] == ["direct_marketing"]
    assert in_audience(contact.id)


def test_the_edit_form_is_refused_by_a_post_made_up_too(signed_in, session):
    """The check is the server's: a post that never saw the form is refused alike."""
    contact = make_contact(session, marketing_status=MarketingStatus.never)
    session.commit()
    contact_id = contact.id
    client = signed_in("marketing")
    path = f"/contactview/edit/{contact_id}"
    response = client.post(path, data={
        "csrf_token": csrf_token(client, path), "first_name": contact.first_name,
        "last_name": contact.last_name, "country": "FI", "language": "fi",
        "legal_basis": "position", "marketing_status": "subscribed",
        "purposes": str(purpose(db.session, "customer_relationship").id)})
    assert response.status_code == 200
    assert ON_EDIT in all_errors(response.get_data(as_text=True))
    db.session.remove()
    assert db.session.get(Contact, contact_id).marketing_status is MarketingStatus.never
