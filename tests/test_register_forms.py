"""What the register's forms require and offer (DESIGN §2, §5): from a screen review
as Sales, Receivables and Support.

Every contact is kept for named purposes, and a new one starts with those of the
adder's role; consent is a legal basis only with a consent on record; Receivables
find billing contacts by their role in the customer relationship, on the list and
on an organisation's Contacts tab; a new organisation is a prospect; a saved new
record opens on its own page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    ActivityKind,
    Contact,
    CustomerStatus,
    LegalBasis,
    Organisation,
    RelationshipRole,
)
from tests import factories
from tests.conftest import csrf_token
from tests.factories import make_consent, make_contact, make_organisation
from tests.test_contact_forms import all_errors, contact_form, count, field_errors, form_data

NO_PURPOSE = "Choose at least one purpose for which the contact's details are kept."
NEW_CONSENT = ("Only Marketing and the privacy team record consents: save the contact on "
               "another basis and ask them to record the person's consent.")
NO_CONSENT = ("This contact has no valid consent on record. Record the consent on the "
              "Consents tab first, or choose another basis.")


def purpose_ids(*codes: str) -> list[str]:
    return factories.purpose_ids(db.session, *codes)


def post_contact(client, **fields):
    data = {**contact_form(**fields), "csrf_token": csrf_token(client, "/contactview/add")}
    return client.post("/contactview/add", data=data)


def edit_contact(client, pk: int, purposes=None, **changes):
    """Post the contact's edit form as the page fills it, with `changes`."""
    path = f"/contactview/edit/{pk}"
    data = form_data(client.get(path).get_data(as_text=True), **changes)
    if purposes is not None:
        data.setlist("purposes", purposes)
    return client.post(path, data=data)


def stored_contact(pk: int) -> Contact:
    db.session.remove()
    return db.session.get(Contact, pk)


# -- purposes -----------------------------------------------------------------------


def test_contact_without_purposes_is_refused_next_to_the_field(signed_in):
    response = post_contact(signed_in("sales"), purposes=[])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "purposes") == [NO_PURPOSE]
    assert all_errors(html) == [NO_PURPOSE]
    assert 'value="Aaltonen"' in html  # what was typed is kept
    assert count(Contact) == 0


def test_contact_with_purposes_is_stored_with_them(signed_in):
    response = post_contact(signed_in("sales"),
                            purposes=purpose_ids("customer_relationship", "invoicing"))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    contact = db.session.scalars(sa.select(Contact)).one()
    assert sorted(p.code for p in contact.purposes) == ["customer_relationship", "invoicing"]


def test_edit_taking_away_every_purpose_is_refused(signed_in, session):
    contact = make_contact(session, title="CIO")
    session.commit()
    response = edit_contact(signed_in("support"), contact.id, purposes=[], title="CTO")
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "purposes") == [NO_PURPOSE]
    stored = stored_contact(contact.id)
    assert [p.code for p in stored.purposes] == ["customer_relationship"]
    assert stored.title == "CIO"


@pytest.mark.parametrize("user, codes", [
    ("sales", ["customer_relationship"]),
    ("support", ["customer_support"]),
    ("marketing", ["new_business"]),
    ("privacy", []),  # the privacy officer adds people for any purpose: no guess
])
def test_add_form_starts_with_the_purposes_of_the_role(signed_in, user, codes):
    page = signed_in(user).get("/contactview/add").get_data(as_text=True)
    assert form_data(page).getlist("purposes") == purpose_ids(*codes)


def test_preselected_purpose_saves_with_no_extra_clicks(signed_in):
    sales = signed_in("sales")
    page = sales.get("/contactview/add").get_data(as_text=True)
    data = form_data(page, first_name="Aino", last_name="Aaltonen",
                     email="aino.aaltonen@esimerkki.fi")
    response = sales.post("/contactview/add", data=data)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    contact = db.session.scalars(sa.select(Contact)).one()
    assert [p.code for p in contact.purposes] == ["customer_relationship"]


# -- consent as the legal basis -----------------------------------------------------


def test_new_contact_on_consent_is_refused_next_to_the_basis(signed_in):
    # Who may record consents adds the consent with the contact
    # (tests/test_contact_consent_basis.py); Sales may not.
    response = post_contact(signed_in("sales"), legal_basis="consent")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "legal_basis") == [NEW_CONSENT]
    assert all_errors(html) == [NEW_CONSENT]
    assert count(Contact) == 0


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@pytest.mark.parametrize("consent", [
    None,
    {"withdrawn_at": _days_ago(1)},
    {"given_at": _days_ago(800)},  # lapsed (CRM_CONSENT_VALID_DAYS, 730 by default)
])
def test_consent_without_a_valid_record_is_refused(signed_in, session, consent):
    contact = make_contact(session)
    if consent is not None:
        make_consent(session, contact, **consent)
    session.commit()
    response = edit_contact(signed_in("marketing"), contact.id, legal_basis="consent")
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "legal_basis") == [NO_CONSENT]
    assert stored_contact(contact.id).legal_basis is LegalBasis.position


def test_consent_on_record_makes_consent_the_basis(signed_in, session):
    contact = make_contact(session)
    make_consent(session, contact, given_at=_days_ago(10))
    session.commit()
    response = edit_contact(signed_in("marketing"), contact.id, legal_basis="consent")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert stored_contact(contact.id).legal_basis is LegalBasis.consent


def test_contact_on_consent_is_edited_after_the_consent_ended(signed_in, session):
    # Their basis is for whoever handles the withdrawal: a phone number may still be fixed.
    contact = make_contact(session, legal_basis=LegalBasis.consent)
    make_consent(session, contact, withdrawn_at=_days_ago(1))
    session.commit()
    response = edit_contact(signed_in("support"), contact.id, title="CTO")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert stored_contact(contact.id).title == "CTO"


# -- billing contacts for Receivables -------------------------------------------------


def _people(session):
    organisation = make_organisation(session, name="Laskutettava Oy")
    make_contact(session, organisation=organisation, first_name="Lasse", last_name="Laskuttaja",
                 relationship_role=RelationshipRole.billing)
    make_contact(session, organisation=organisation, first_name="Teija", last_name="Tekninen",
                 relationship_role=RelationshipRole.technical)
    session.commit()
    return organisation


def test_receivables_filter_the_contacts_by_their_role(signed_in, session):
    _people(session)
    ar = signed_in("ar")
    page = ar.get("/contactview/list/").get_data(as_text=True)
    assert "Role in the customer relationship" in page  # offered in the filter box
    page = ar.get("/contactview/list/?_flt_0_relationship_role=billing").get_data(as_text=True)
    assert "Laskuttaja" in page and "Tekninen" not in page


def test_role_filter_is_not_offered_to_who_may_not_read_it(signed_in, session):
    _people(session)
    comms = signed_in("comms")  # Communications read no customer-relationship information
    page = comms.get("/contactview/list/").get_data(as_text=True)
    assert "Role in the customer relationship" not in page
    page = comms.get("/contactview/list/?_flt_0_relationship_role=billing").get_data(
        as_text=True)
    assert "Laskuttaja" in page and "Tekninen" in page  # the filter is dropped, not applied


def _contacts_tab(page: str) -> str:
    """Return the organisation page's Contacts tab (FAB's related list of ContactView)."""
    match = re.search(r'id="ContactView".*?</table>', page, re.S)
    assert match, "no Contacts tab on the page"
    return match.group(0)


@pytest.mark.parametrize("user", ["ar", "sales", "support"])
def test_organisation_contacts_tab_shows_their_role(signed_in, session, user):
    organisation = _people(session)
    page = signed_in(user).get(f"/organisationview/show/{organisation.id}").get_data(
        as_text=True)
    tab = _contacts_tab(page)
    assert "Role in the customer relationship" in tab
    row = next(r for r in re.findall(r"<tr.*?</tr>", tab, re.S) if "Laskuttaja" in r)
    assert "Billing contact" in row
    # The contact list itself keeps its columns.
    listing = signed_in(user).get("/contactview/list/").get_data(as_text=True)
    header = re.search(r"<thead>.*?</thead>", listing, re.S).group(0)
    assert "Last name" in header and "Role in the customer relationship" not in header


def test_contacts_tab_hides_the_role_from_who_may_not_read_it(signed_in, session):
    organisation = _people(session)
    page = signed_in("comms").get(f"/organisationview/show/{organisation.id}").get_data(
        as_text=True)
    tab = _contacts_tab(page)
    assert "Laskuttaja" in tab
    assert "Role in the customer relationship" not in tab and "Billing contact" not in tab


# -- a new organisation is a prospect -------------------------------------------------


def test_new_organisation_form_starts_as_a_prospect(signed_in):
    page = signed_in("sales").get("/organisationview/add").get_data(as_text=True)
    assert form_data(page).getlist("customer_status") == ["prospect"]


def test_new_organisation_is_stored_as_a_prospect(signed_in):
    sales = signed_in("sales")
    page = sales.get("/organisationview/add").get_data(as_text=True)
    response = sales.post("/organisationview/add", data=form_data(page, name="Uusi Oy"))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    organisation = db.session.scalars(sa.select(Organisation)).one()
    assert organisation.customer_status is CustomerStatus.prospect


# -- a saved new record opens on its own page -----------------------------------------


def test_new_contact_opens_on_its_page(signed_in):
    response = post_contact(signed_in("sales"))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    pk = db.session.scalar(sa.select(Contact.id))
    assert response.headers["Location"] == f"/contactview/show/{pk}"


def test_new_organisation_opens_on_its_page(signed_in):
    sales = signed_in("sales")
    response = sales.post("/organisationview/add", data={
        "name": "Uusi Oy", "customer_status": "prospect",
        "csrf_token": csrf_token(sales, "/organisationview/add")})
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    pk = db.session.scalar(sa.select(Organisation.id))
    assert response.headers["Location"] == f"/organisationview/show/{pk}"
    assert "Uusi Oy" in sales.get(response.headers["Location"]).get_data(as_text=True)


def test_activity_added_from_a_contacts_page_goes_back_there(signed_in, session):
    contact = make_contact(session)
    session.commit()
    sales = signed_in("sales")
    sales.get(f"/contactview/show/{contact.id}")  # the page the tab's "add" is on
    path = f"/activityview/add?_flt_0_contact={contact.id}"
    page = sales.get(path).get_data(as_text=True)
    response = sales.post(path, data=form_data(page, contact=str(contact.id),
                                               kind=ActivityKind.call.value, subject="Soitto"))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    assert response.headers["Location"].endswith(f"/contactview/show/{contact.id}")


# -- days that cannot be in the future ---------------------------------------------


@pytest.mark.parametrize("typed, refused", [
    ("2030-01-01 10:00", True),
    (None, False),  # a minute ago
])
def test_a_consent_is_not_withdrawn_in_the_future(signed_in, session, typed, refused):
    # Given yesterday: a withdrawal may not precede it (checks.withdrawn_after_given).
    consent = make_consent(session, make_contact(session),
                           given_at=datetime.now(UTC) - timedelta(days=1))
    session.commit()
    if typed is None:
        typed = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    client = signed_in("marketing")
    path = f"/consentview/edit/{consent.id}"
    data = form_data(client.get(path).get_data(as_text=True), withdrawn_at=typed)
    response = client.post(path, data=data)
    db.session.remove()
    stored = db.session.get(type(consent), consent.id)
    if refused:
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert field_errors(html, "withdrawn_at") == [
            "A consent cannot be withdrawn in the future."]
        assert f'value="{typed}"' in html  # what was typed is kept
        assert stored.withdrawn_at is None
    else:
        assert response.status_code == 302, all_errors(response.get_data(as_text=True))
        assert stored.withdrawn_at is not None


def test_the_calendar_of_a_requests_receipt_ends_today(signed_in):
    from html import unescape

    from crm.services.requests import today

    page = signed_in("privacy").get("/datasubjectrequestview/add").get_data(as_text=True)
    match = re.search(r'<div class="input-group date crm-date" data-crm-date="([^"]*)">'
                      r'<input[^>]*id="received_on"', page)
    assert match
    assert f'"latest": "{today().isoformat()}"' in unescape(match.group(1))


# -- whose record an edit form is for ------------------------------------------------


def _details(html: str) -> dict[str, str]:
    """The read-only details above an edit form, by label."""
    block = re.search(r'<dl class="dl-horizontal crm-edit-details">(.*?)</dl>', html, re.S)
    assert block, "no details above the form"
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block.group(1), re.S)
    return {label: re.sub(r"<[^>]+>", "", value).strip() for label, value in pairs}


def test_the_callback_edit_form_shows_who_called_and_a_post_cannot_change_it(signed_in,
                                                                             session):
    from crm.models import CallbackRequest

    callback = factories.make_callback_request(session, name="Eija Esimerkki",
                                               organisation_name="Esimerkki Oy",
                                               phone="+358401234567")
    session.commit()
    client = signed_in("sales")
    path = f"/callbackrequestview/edit/{callback.id}"
    html = client.get(path).get_data(as_text=True)
    details = _details(html)
    assert details["Name"] == "Eija Esimerkki"
    assert details["Organisation"] == "Esimerkki Oy"
    assert details["Phone"].replace(" ", "").endswith("401234567")
    assert 'name="name"' not in html  # shown, not a field of the form

    data = form_data(html)
    data["name"] = "Forged Name"
    response = client.post(path, data=data)
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    db.session.remove()
    assert db.session.get(CallbackRequest, callback.id).name == "Eija Esimerkki"


def test_the_consent_edit_form_shows_whose_consent_for_what(signed_in, session):
    contact = make_contact(session, first_name="Eija", last_name="Esimerkki")
    consent = make_consent(session, contact)
    session.commit()
    html = signed_in("marketing").get(f"/consentview/edit/{consent.id}").get_data(as_text=True)
    details = _details(html)
    assert details["Contact"] == "Eija Esimerkki"
    assert details["Purpose"] == "Direct marketing and other addressed mailings"
    assert 'name="contact"' not in html
