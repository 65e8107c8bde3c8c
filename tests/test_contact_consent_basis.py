"""A new contact on consent in one step, and contacts kept for no purpose (DESIGN §2, §6).

Whoever may record consents (the Consents tab's permission: Marketing and the privacy
team) adds a contact on consent with the consent itself, in one transaction: both or
neither, each in the audit trail as its own screen records it. Anyone else who adds
contacts is told who records consents, and a post made up to get past the form saves
nothing. Contacts saved before purposes were required are found by the purposes'
"has none" filter on the contacts list.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent, Consent, ConsentMethod, Contact, LegalBasis
from crm.security import roles
from crm.services.demo import DEMO_USERS
from tests.conftest import csrf_token
from tests.factories import make_consent, make_contact, purpose, purpose_ids
from tests.test_contact_forms import all_errors, contact_form, field_errors, form_data

ADD = "/contactview/add"
USER_OF = {role: user for user, (role, *_names) in DEMO_USERS.items()}
#: Every role, by what it may do: add contacts, and record consents (crm.security.roles).
CONTACT_ADDERS = [r for r in roles.ROLES
                  if (roles.ADD, roles.CONTACT) in roles.role_permissions(r)]
CONSENT_ADDERS = [r for r in roles.ROLES
                  if (roles.ADD, roles.CONSENT) in roles.role_permissions(r)]
WHO_RECORDS = ("Only Marketing and the privacy team record consents: save the contact on "
               "another basis and ask them to record the person's consent.")
CONSENT_COLUMNS = ["consent_purpose", "consent_text_version", "consent_given_at",
                   "consent_given_how", "consent_evidence"]


def _typed(days_ago: float) -> str:
    """A time about `days_ago` days back (the register's clock is hours off UTC), typed
    as ISO 8601, which every page reads."""
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M")


def on_consent(**fields) -> dict:
    """Return a new contact's form on consent, with the consent's fields, and `fields`."""
    return contact_form(**{
        "legal_basis": "consent",
        "consent_purpose": str(purpose(db.session, "direct_marketing").id),
        # Direct marketing by phone: what was agreed, and where it can be checked.
        "consent_text_version": "Markkinointilupa, soittokäsikirjoitus 3",
        "consent_given_at": _typed(3),
        "consent_given_how": "phone",
        "consent_evidence": "Soitti Myyjä M., muistiinpano puhelusta",
        **fields})


def field_names(html: str) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))


def post(client, data: dict):
    return client.post(ADD, data={**data, "csrf_token": csrf_token(client, ADD)})


def stored() -> tuple[list[Contact], list[Consent]]:
    db.session.remove()
    return (list(db.session.scalars(sa.select(Contact))),
            list(db.session.scalars(sa.select(Consent))))


def created_events() -> list[AuditEvent]:
    db.session.remove()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "create")
                                   .order_by(AuditEvent.id)))


# -- the one-step add, role by role ----------------------------------------------------


@pytest.mark.parametrize("role", CONTACT_ADDERS)
def test_a_new_contact_on_consent_in_one_step(signed_in, role):
    client = signed_in(USER_OF[role])
    page = client.get(ADD).get_data(as_text=True)
    response = post(client, on_consent())
    contacts, consents = stored()
    if role not in CONSENT_ADDERS:
        assert CONSENT_ADDERS == ["Marketing", "Privacy"]  # as WHO_RECORDS names them
        assert not set(CONSENT_COLUMNS) & field_names(page)  # no consent fields
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert field_errors(html, "legal_basis") == [WHO_RECORDS]
        assert all_errors(html) == [WHO_RECORDS]
        assert (contacts, consents) == ([], [])
        return
    assert set(CONSENT_COLUMNS) <= field_names(page)
    assert form_data(page).getlist("consent_purpose") == purpose_ids(db.session,
                                                                      "direct_marketing")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    [contact], [consent] = contacts, consents
    assert contact.legal_basis is LegalBasis.consent
    assert consent.contact_id == contact.id
    assert consent.purpose.code == "direct_marketing"
    assert (consent.text_version, consent.given_how, consent.evidence) == (
        "Markkinointilupa, soittokäsikirjoitus 3", ConsentMethod.phone,
        "Soitti Myyjä M., muistiinpano puhelusta")
    assert consent.withdrawn_at is None
    assert timedelta(days=2) < datetime.now(UTC) - consent.given_at < timedelta(days=4)
    assert response.headers["Location"].endswith(f"/contactview/show/{contact.id}")
    # Each in the audit trail as its own screen records it: names of fields, no values.
    events = [(e.actor, e.object_type, e.object_id) for e in created_events()]
    assert events == [(USER_OF[role], "Contact", str(contact.id)),
                      (USER_OF[role], "Consent", str(consent.id))]
    contact_event, consent_event = created_events()
    assert "legal_basis" in contact_event.fields
    assert not {f for f in contact_event.fields if f.startswith("consent_")}
    assert consent_event.fields == ["contact", "evidence", "given_at", "given_how", "purpose",
                                    "text_version"]


def test_on_another_basis_the_consent_fields_are_neither_required_nor_read(signed_in):
    """They are hidden then (crm/contact_add.html), and always shown without JavaScript:
    the browser must not ask for them, and the server does not read them."""
    client = signed_in("privacy")
    page = client.get(ADD).get_data(as_text=True)
    assert "Consent covers" in page and "Evidence of consent" in page
    assert set(CONSENT_COLUMNS) <= field_names(page)
    for name in CONSENT_COLUMNS:
        tag = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{name}"[^>]*>', page).group(0)
        assert "required" not in tag
    assert "[name^='consent_']" in page  # the script showing them on consent
    response = post(client, on_consent(legal_basis="position", consent_text_version=""))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    [contact], consents = stored()
    assert contact.legal_basis is LegalBasis.position
    assert consents == []
    assert [e.object_type for e in created_events()] == ["Contact"]


# -- a refused consent saves nothing --------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), [
    ("consent_text_version", "", "This field is required."),
    ("consent_text_version", "x" * 51, "Field cannot be longer than 50 characters."),
    ("consent_purpose", "", "This field is required."),
    ("consent_purpose", "999999", "This field is required."),  # no such purpose
    ("consent_given_how", "", "Not a valid choice."),
    ("consent_given_how", "carrier pigeon", "Invalid Choice: could not coerce."),
    ("consent_given_at", "", "This field is required."),
    ("consent_given_at", "eilen", None),  # unreadable: says how to write it
    ("consent_given_at", _typed(-2), "A consent cannot be given in the future."),
    ("consent_given_at", _typed(800),  # CRM_CONSENT_VALID_DAYS, 730 by default
     "A consent given more than 730 days ago has lapsed: it cannot be the contact's basis."),
    ("consent_evidence", "Henkilötunnus 131052-308T", "henkilötunnus"),
])
def test_a_refused_consent_field_saves_neither(signed_in, field, value, message):
    response = post(signed_in("marketing"), on_consent(**{field: value, "first_name": "Uusi"}))
    assert response.status_code == 200  # the form again, as typed
    html = response.get_data(as_text=True)
    errors = field_errors(html, field)
    assert len(errors) == 1 and all_errors(html) == errors
    if message is not None:
        assert message in errors[0]
    assert 'value="Uusi"' in html
    assert stored() == ([], [])
    assert created_events() == []


def test_a_consent_the_database_refuses_saves_no_contact_either(signed_in):
    """One transaction: a consent that cannot be stored leaves no contact without it."""

    def refuse(mapper, connection, target):
        raise sa.exc.OperationalError("INSERT INTO consent", {}, Exception("disk full"))

    sa.event.listen(Consent, "before_insert", refuse)
    try:
        response = post(signed_in("privacy"), on_consent())
    finally:
        sa.event.remove(Consent, "before_insert", refuse)
    # The form again, as it was sent, with a plain message (crm.views.save_refusals).
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Not saved because of a database error." in html and "disk full" not in html
    assert stored() == ([], [])
    assert created_events() == []


def test_the_consents_tab_refuses_a_consent_given_in_the_future_too(signed_in, session):
    """The contact form's consent is checked as the Consents tab checks one."""
    contact = make_contact(session)
    session.commit()
    client = signed_in("marketing")
    path = "/consentview/add"
    data = {"contact": str(contact.id), "purpose": purpose_ids(session, "direct_marketing")[0],
            "text_version": "2026-01", "given_at": _typed(-2), "given_how": "form",
            "csrf_token": csrf_token(client, path)}
    html = client.post(path, data=data).get_data(as_text=True)
    assert field_errors(html, "given_at") == ["A consent cannot be given in the future."]
    assert stored()[1] == []


@pytest.mark.parametrize("role", [r for r in CONTACT_ADDERS if r not in CONSENT_ADDERS])
def test_a_forged_consent_from_who_may_not_record_one_creates_nothing(signed_in, role):
    """The consent's fields posted by hand by a role that has none on its form."""
    client = signed_in(USER_OF[role])
    response = post(client, on_consent())
    assert field_errors(response.get_data(as_text=True), "legal_basis") == [WHO_RECORDS]
    assert stored() == ([], [])
    # On another basis the contact is saved and the forged consent is not.
    response = post(client, on_consent(legal_basis="position"))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    [contact], consents = stored()
    assert contact.legal_basis is LegalBasis.position and consents == []


def test_the_refusal_is_in_finnish_on_finnish_pages(login_as):
    client = login_as("support")  # Finnish by default
    html = post(client, on_consent()).get_data(as_text=True)
    assert field_errors(html, "legal_basis") == [
        "Vain markkinointi ja tietosuojatiimi kirjaavat suostumuksia: tallenna "
        "yhteyshenkilö toisella perusteella ja pyydä heitä kirjaamaan henkilön "
        "suostumus."]


# -- contacts kept for no purpose -----------------------------------------------------

NO_PURPOSES = "/contactview/list/?_flt_0_purposes="
#: The filter's name in the filter box's data, as the page writes it ("Ei yhtään").
FINNISH_HAS_NONE = '"Ei yht\\u00e4\\u00e4n"'
CONTACT_EDITORS = [r for r in roles.ROLES
                   if (roles.EDIT, roles.CONTACT) in roles.role_permissions(r)]


def _people(session):
    make_contact(session, last_name="Tarkoitukseton", purposes=[])
    make_contact(session, last_name="Vanhatapa", purposes=[])
    make_contact(session, last_name="Asiakas")
    make_contact(session, last_name="Kaksitarkoitus",
                 purposes=[purpose(session, "customer_relationship"),
                           purpose(session, "direct_marketing")])
    make_contact(session, last_name="Suostunut", purposes=[])
    make_consent(session, make_contact(session, last_name="Markkinointi",
                                       purposes=[purpose(session, "direct_marketing")]))
    session.commit()


@pytest.mark.parametrize("role", CONTACT_EDITORS)
def test_the_list_finds_exactly_the_contacts_with_no_purposes(signed_in, session, role):
    _people(session)
    client = signed_in(USER_OF[role])
    page = client.get("/contactview/list/").get_data(as_text=True)
    assert '"purposes": ["Has none"]' in page  # offered in the filter box
    page = client.get(NO_PURPOSES).get_data(as_text=True)
    listed = {n for n in ("Tarkoitukseton", "Vanhatapa", "Asiakas", "Kaksitarkoitus",
                          "Suostunut", "Markkinointi") if n in page}
    assert listed == {"Tarkoitukseton", "Vanhatapa", "Suostunut"}


def test_the_no_purposes_filter_is_in_finnish(login_as, session):
    page = login_as("privacy").get("/contactview/list/").get_data(as_text=True)
    assert FINNISH_HAS_NONE in page


def test_the_no_purposes_filter_is_one_not_exists(signed_in, session):
    """A probe of the link table's key per contact: no join, no count of purposes."""
    _people(session)
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    client = signed_in("privacy")
    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        client.get(NO_PURPOSES)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    listing = [s for s in statements if "FROM contact" in s and "contact_purpose" in s]
    assert listing
    for statement in listing:
        flat = " ".join(statement.split())
        assert "NOT (EXISTS (SELECT" in flat and "contact_purpose.contact_id = contact.id" in flat
        assert "JOIN purpose" not in flat and "count(contact_purpose" not in flat


# -- in a browser -----------------------------------------------------------------------


@pytest.mark.browser
def test_the_consent_fields_follow_the_basis_in_a_browser(page, session, screenshot_dir):
    from playwright.sync_api import expect

    from tests.test_browser import sign_in

    sign_in(page, "marketing")
    page.goto("/lang/en")
    page.goto(ADD)
    form = page.locator("form#model_form")
    rows = [form.locator(f"tr:has(#{name})") for name in CONSENT_COLUMNS]
    for row in rows:
        expect(row).to_be_hidden()
    form.locator("select#legal_basis").select_option("consent")
    for row in rows:
        expect(row).to_be_visible()
    form.locator("input#first_name").fill("Selma")
    form.locator("input#last_name").fill("Suostuja")
    form.locator("input#email").fill("selma.suostuja@esimerkki.fi")
    # A consent to direct marketing given by phone: what was agreed and where it can be
    # checked are typed (tests/test_consent_hand_entered.py).
    form.locator("select#consent_given_how").select_option("phone")
    form.locator("input#consent_text_version").fill("Markkinointilupa, soittokäsikirjoitus 3")
    form.locator("textarea#consent_evidence").fill("Soitti Myyjä M.")
    page.screenshot(path=str(screenshot_dir / "contact-add-on-consent.png"), full_page=True)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/contactview/show/\d+"))
    session.expire_all()
    [contact], [consent] = stored()
    assert contact.legal_basis is LegalBasis.consent
    assert (consent.contact_id, consent.text_version, consent.purpose.code) == (
        contact.id, "Markkinointilupa, soittokäsikirjoitus 3", "direct_marketing")

    # On another basis they are hidden again, and the form saves without them.
    page.goto(ADD)
    form.locator("select#legal_basis").select_option("consent")
    form.locator("select#legal_basis").select_option("position")
    for row in rows:
        expect(row).to_be_hidden()
    form.locator("input#first_name").fill("Pekka")
    form.locator("input#last_name").fill("Perusteltu")
    form.locator("input#email").fill("pekka.perusteltu@esimerkki.fi")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/contactview/show/\d+"))
    contacts, consents = stored()
    assert len(contacts) == 2 and len(consents) == 1

    # The list's filter box finds the contacts kept for no purpose.
    make_contact(session, last_name="Tarkoitukseton", purposes=[])
    session.commit()
    page.goto("/contactview/list/")
    page.locator('a.accordion-toggle[href="#accordion1_href"]').click()  # "Search"
    filters = page.locator("form#filter_form")
    filters.locator("button.dropdown-toggle").click()
    filters.locator('a.filter[name="purposes"]').click()
    filters.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"_flt_0_purposes="))
    listing = page.locator("table.table").last
    expect(listing).to_contain_text("Tarkoitukseton")
    expect(listing).not_to_contain_text("Suostuja")
    page.screenshot(path=str(screenshot_dir / "contacts-with-no-purposes.png"), full_page=True)
