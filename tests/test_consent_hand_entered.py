"""A consent recorded by hand is evidence of what the person agreed to (DESIGN §5, §9).

Where a person records a consent (the Consents tab of a contact, a new contact's form on
consent), "Import" is not a way of giving it: it is the way of consents that came with
imported data, and a post naming it is refused; a consent recorded so keeps its way when
withdrawn. Given on the web form, its text version is one the form has shown, picked
from a list; by phone or email the version says what was agreed, in brief, and the
evidence where it can be checked.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Consent, ConsentMethod, Contact, Purpose
from crm.models.base import utcnow
from crm.public.contact_text import CONSENT_TEXT_VERSION, CONSENT_TEXT_VERSIONS
from tests.conftest import csrf_token
from tests.factories import make_consent, make_contact
from tests.test_contact_consent_basis import _typed, on_consent
from tests.test_contact_forms import all_errors, field_errors, form_data

#: Where consents are recorded by hand: the Consents tab, and a new contact's form, whose
#: consent fields are the tab's under the prefix "consent_" (crm.views.consent_forms).
SCREENS = {"tab": "", "contact form": "consent_"}
IMPORT_REFUSED = ("{label}: “Import” is for consents that came with imported data, not for "
                  "one recorded by hand. Choose how the person gave their consent: Web "
                  "form, Phone, Email.")
LABELS = {"tab": {"given_how": "Given how", "text_version": "Consent text version",
                  "evidence": "Evidence"},
          "contact form": {"given_how": "Consent given how",
                           "text_version": "Consent text version",
                           "evidence": "Evidence of consent"}}


@pytest.fixture
def contact(session) -> Contact:
    contact = make_contact(session)
    session.commit()
    return contact


def _tab(contact_id: int) -> str:
    return f"/consentview/add?_flt_0_contact={contact_id}"


def form_page(client, screen: str, contact_id: int) -> str:
    return client.get(_tab(contact_id) if screen == "tab" else "/contactview/add").get_data(
        as_text=True)


def record(client, screen: str, contact_id: int, **fields: str):
    """Post a consent with `fields` (named as the Consent's columns) on `screen`."""
    if screen == "tab":
        path = _tab(contact_id)
        data = form_data(client.get(path).get_data(as_text=True), given_at=_typed(3),
                         **fields)
        return client.post(path, data=data)
    data = on_consent(first_name="Uusi", **{f"consent_{k}": v for k, v in fields.items()})
    return client.post("/contactview/add",
                       data={**data, "csrf_token": csrf_token(client, "/contactview/add")})


def consents() -> list[Consent]:
    db.session.remove()
    return list(db.session.scalars(sa.select(Consent)))


def contacts() -> int:
    db.session.remove()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Contact))


def options(html: str, select_id: str) -> list[str]:
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no list {select_id} on the page"
    return re.findall(r'<option[^>]*value="([^"]*)"', select.group(1))


# -- "Import" is the import's alone --------------------------------------------------


@pytest.mark.parametrize("screen", SCREENS)
def test_import_is_not_offered_where_consents_are_recorded_by_hand(signed_in, contact,
                                                                    screen):
    html = form_page(signed_in("marketing"), screen, contact.id)
    assert options(html, f"{SCREENS[screen]}given_how") == ["form", "phone", "email"]


@pytest.mark.parametrize("screen", SCREENS)
def test_a_forged_import_consent_is_refused_and_saves_nothing(signed_in, contact, screen):
    response = record(signed_in("marketing"), screen, contact.id, given_how="import",
                      text_version="Ostolista 2026-10", evidence="Tuotu listalta")
    assert response.status_code == 200  # the form again, as typed
    html = response.get_data(as_text=True)
    message = IMPORT_REFUSED.format(label=LABELS[screen]["given_how"])
    assert field_errors(html, f"{SCREENS[screen]}given_how") == [message]
    assert all_errors(html) == [message]
    assert consents() == []
    assert contacts() == 1  # the tab's contact only: no new contact either


def test_a_consent_the_import_recorded_keeps_its_way_when_withdrawn(signed_in, session,
                                                                    contact):
    """The edit form changes only the withdrawal: the way of giving, shown above it,
    stays "Import"."""
    consent = make_consent(session, contact, given_how=ConsentMethod.import_,
                           given_at=utcnow() - timedelta(days=5),
                           text_version="Ostolista 2026-10", evidence="Tuotu listalta")
    session.commit()
    client = signed_in("privacy")
    path = f"/consentview/edit/{consent.id}"
    html = client.get(path).get_data(as_text=True)
    assert "<dt>Given how</dt><dd>Import</dd>" in html  # above the form, not on it
    assert 'name="given_how"' not in html
    response = client.post(path, data=form_data(html, withdrawn_at=_typed(1)))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    [stored] = consents()
    assert stored.given_how is ConsentMethod.import_ and stored.withdrawn_at is not None
    page = client.get(f"/consentview/show/{consent.id}").get_data(as_text=True)
    assert re.search(r"Given how\s*</th>\s*<td>(?:\s|<[^>]+>)*Import\s*<", page)


# -- on the web form: a version of its consent text ----------------------------------


@pytest.mark.parametrize("screen", SCREENS)
def test_the_web_forms_versions_are_offered_as_a_list(signed_in, contact, screen):
    html = form_page(signed_in("marketing"), screen, contact.id)
    versions = options(html, f"{SCREENS[screen]}text_version-choice")
    assert versions == ["", *reversed(CONSENT_TEXT_VERSIONS)]


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("version", ["2020-01", "Uutiskirjeen tilauslomake"])
def test_a_web_form_consent_naming_no_version_of_the_forms_text_is_refused(
        signed_in, contact, screen, version):
    response = record(signed_in("marketing"), screen, contact.id, given_how="form",
                      text_version=version)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    message = (f"{LABELS[screen]['text_version']}: “{version}” is no version of our web "
               f"form's consent text. Choose the version the person agreed to: "
               f"{', '.join(reversed(CONSENT_TEXT_VERSIONS))}.")
    assert field_errors(html, f"{SCREENS[screen]}text_version") == [message]
    assert all_errors(html) == [message]
    assert consents() == []


def _purpose_id(code: str) -> str:
    return str(db.session.scalar(sa.select(Purpose.id).where(Purpose.code == code)))


@pytest.mark.parametrize("screen", SCREENS)
def test_a_web_form_consent_naming_a_version_of_the_forms_text_is_saved(signed_in, contact,
                                                                         screen):
    response = record(signed_in("marketing"), screen, contact.id, given_how="form",
                      text_version=CONSENT_TEXT_VERSION, evidence="",
                      purpose=_purpose_id("new_business"))
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    [consent] = consents()
    assert (consent.given_how, consent.text_version, consent.purpose.code) == (
        ConsentMethod.form, CONSENT_TEXT_VERSION, "new_business")


@pytest.mark.parametrize("screen", SCREENS)
def test_the_web_forms_text_is_no_evidence_of_a_consent_to_direct_marketing(
        signed_in, contact, screen):
    # The form's wording asks only to be contacted about the request.
    response = record(signed_in("marketing"), screen, contact.id, given_how="form",
                      text_version=CONSENT_TEXT_VERSION, evidence="",
                      purpose=_purpose_id("direct_marketing"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    message = (f"{LABELS[screen]['text_version']}: our web form's consent text asks only "
               f"to be contacted about the person's request, a consent to “Creating new "
               f"customer and partner relationships”. A consent to “Direct marketing "
               f"and other addressed mailings” given otherwise is recorded as given by "
               f"phone or by email, with its evidence.")
    assert field_errors(html, f"{SCREENS[screen]}text_version") == [message]
    assert consents() == []


# -- by phone or email: what was agreed, and where it can be checked ------------------


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("way", ["phone", "email"])
def test_a_consent_by_phone_or_email_needs_its_evidence(signed_in, contact, screen, way):
    client = signed_in("marketing")
    response = record(client, screen, contact.id, given_how=way,
                      text_version="Markkinointilupa, soittokäsikirjoitus 3", evidence=" ")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    message = (f"{LABELS[screen]['evidence']}: a consent given by phone or email needs its "
               f"evidence: who spoke with the person and when, or the email's date and "
               f"where it is kept.")
    assert field_errors(html, f"{SCREENS[screen]}evidence") == [message]
    assert all_errors(html) == [message]
    assert consents() == []

    response = record(client, screen, contact.id, given_how=way,
                      text_version="Markkinointilupa, soittokäsikirjoitus 3",
                      evidence="Soitti Myyjä M. 12.11.2026 klo 10")
    assert response.status_code == 302, all_errors(response.get_data(as_text=True))
    [consent] = consents()
    assert (consent.given_how.value, consent.text_version) == (
        way, "Markkinointilupa, soittokäsikirjoitus 3")


def test_the_fields_say_what_each_way_of_giving_needs(signed_in, contact):
    html = unescape(form_page(signed_in("marketing"), "tab", contact.id))
    assert ("Web form: choose the version of its consent text that the person agreed to. "
            "Phone or email: say in brief what they agreed to") in html
    assert "Required for a consent by phone or email" in html
    # How it was given comes first: it decides what the version must be.
    assert html.index('id="given_how"') < html.index('id="text_version"')


# -- in a browser ---------------------------------------------------------------------


@pytest.mark.browser
def test_the_version_is_picked_from_a_list_for_the_web_form_in_a_browser(
        page, session, contact, screenshot_dir):
    from playwright.sync_api import expect

    from tests.test_browser import sign_in

    sign_in(page, "marketing")
    page.goto("/lang/en")
    page.goto(_tab(contact.id))
    form = page.locator("form#model_form")
    box, choice = form.locator("input#text_version"), form.locator(
        "select#text_version-choice")
    method = form.locator("select#given_how")
    # "Web form" is chosen first: its versions are a list, the text box is not shown.
    expect(method).to_have_value("form")
    expect(choice).to_be_visible()
    expect(box).to_be_hidden()
    expect(method.locator("option")).to_have_text(["Web form", "Phone", "Email"])

    # By phone: what was agreed is typed, and given back after a look at the web form.
    method.select_option("phone")
    expect(box).to_be_visible()
    expect(choice).to_be_hidden()
    box.fill("Soittokäsikirjoitus 3")
    method.select_option("form")
    expect(choice).to_have_value("")
    method.select_option("phone")
    expect(box).to_have_value("Soittokäsikirjoitus 3")

    # On the web form, the version picked is what is saved: a consent to what the form's
    # wording asks, being contacted about the request.
    form.locator("select#purpose").select_option(_purpose_id("new_business"), force=True)
    method.select_option("form")
    choice.select_option(CONSENT_TEXT_VERSION)
    form.locator("textarea#evidence").fill("Soittopyyntö #12")
    page.screenshot(path=str(screenshot_dir / "consent-add-web-form.png"), full_page=True)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-danger")).to_have_count(0)
    [consent] = consents()
    assert (consent.given_how, consent.text_version, consent.evidence) == (
        ConsentMethod.form, CONSENT_TEXT_VERSION, "Soittopyyntö #12")
