"""The register's screens as Sales, Receivables and Support read them day to day.

What a record's page shows (purposes by name, phone numbers grouped for reading, a
link to edit it), what the forms look like and refuse, and what closing a callback
request records. In English (the tests switch language), unless a test says otherwise.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from crm.extensions import db
from crm.models import (
    Activity,
    CallbackRequest,
    CallbackStatus,
    Consent,
    Contact,
    Identifier,
    Organisation,
    Provenance,
    Purpose,
)
from crm.security import roles
from crm.services.demo import DEMO_USERS, load_demo
from crm.services.validation import format_phone
from tests.conftest import PASSWORD, csrf_token
from tests.factories import (
    make_activity,
    make_callback_request,
    make_contact,
    make_organisation,
)


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def panel_title(html: str) -> str:
    return re.search(r'<h1 class="panel-title">\s*(.*?)\s*</h1>', html, re.S).group(1)


# -- what a record's page shows --------------------------------------------------


def test_contact_page_names_its_purposes(signed_in, session):
    codes = ["customer_relationship", "customer_support"]
    purposes = session.scalars(select(Purpose).where(Purpose.code.in_(codes))
                               .order_by(Purpose.code)).all()
    contact = make_contact(session, purposes=purposes)
    session.commit()

    page = text(signed_in("sales").get(f"/contactview/show/{contact.id}"))
    assert "&lt;Purpose" not in page and "[&lt;" not in page
    assert "Keeping the customer relationship, Customer support" in page


@pytest.mark.parametrize("stored, shown", [
    ("+358401234567", "+358 40 1234567"),
    ("+35891234567", "+358 9 1234567"),
    ("+46701234567", "+46 70 123 45 67"),
    ("", ""),
    (None, ""),
    ("not a number", "not a number"),
])
def test_phone_numbers_are_grouped_for_reading(stored, shown):
    assert format_phone(stored) == shown


def test_contact_list_and_page_show_phone_numbers_grouped(signed_in, session):
    contact = make_contact(session, last_name="Puhelinnumero", phone="+358401234567",
                           mobile="+358457651129")
    session.commit()
    sales = signed_in("sales")

    listed = text(sales.get("/contactview/list/?q=Puhelinnumero"))
    assert "+358 40 1234567" in listed and "+358401234567" not in listed
    assert '<span class="text-nowrap">+358 40 1234567</span>' in listed  # never broken
    page = text(sales.get(f"/contactview/show/{contact.id}"))
    assert "+358 40 1234567" in page and "+358 45 7651129" in page
    # The edit form keeps the number as stored, which is what a save writes back.
    assert 'value="+358401234567"' in text(sales.get(f"/contactview/edit/{contact.id}"))


def test_callback_requests_show_the_number_to_call_grouped(signed_in, session):
    callback = make_callback_request(session, phone="+358401234567")
    session.commit()
    sales = signed_in("sales")
    assert "+358 40 1234567" in text(sales.get("/callbackrequestview/list/"))
    assert "+358 40 1234567" in text(sales.get(f"/callbackrequestview/show/{callback.id}"))


@pytest.mark.parametrize("path, title", [
    ("/callbackrequestview/show/{callback}", "Callback request"),
    ("/activityview/show/{activity}", "Activity"),
])
def test_one_records_page_is_titled_in_the_singular(signed_in, session, path, title):
    callback = make_callback_request(session)
    activity = make_activity(session, make_contact(session))
    session.commit()
    page = text(signed_in("sales").get(path.format(callback=callback.id,
                                                   activity=activity.id)))
    assert panel_title(page) == title


@pytest.mark.parametrize("username, path, editable", [
    ("sales", "/contactview/show/{contact}", True),
    ("support", "/contactview/show/{contact}", True),
    ("ar", "/contactview/show/{contact}", False),
    ("ar", "/organisationview/show/{organisation}", True),  # its invoicing details
    ("support", "/organisationview/show/{organisation}", False),
    ("sales", "/callbackrequestview/show/{callback}", True),
])
def test_record_page_links_to_its_edit_form_for_who_may_edit(signed_in, session, username,
                                                             path, editable):
    organisation = make_organisation(session)
    ids = {"contact": make_contact(session, organisation=organisation).id,
           "organisation": organisation.id, "callback": make_callback_request(session).id}
    session.commit()
    path = path.format(**ids)
    page = text(signed_in(username).get(path))
    assert (f'href="{path.replace("/show/", "/edit/")}"' in page) is editable


def test_read_only_record_page_has_no_edit_link(signed_in, session):
    contact = make_contact(session)
    provenance = Provenance(contact=contact, source=contact.source)
    session.add(provenance)
    session.commit()
    page = text(signed_in("sales").get(f"/provenanceview/show/{provenance.id}"))
    assert "/provenanceview/edit/" not in page


# -- what the forms look like -------------------------------------------------------


def test_selects_are_styled_like_the_text_fields(signed_in):
    page = text(signed_in("sales").get("/activityview/add"))
    select_tag = re.search(r'<select[^>]*id="kind"[^>]*>', page).group(0)
    assert 'class="form-control"' in select_tag


def test_reason_for_the_change_is_styled_like_the_fields_above(signed_in, session):
    contact = make_contact(session)
    session.commit()
    page = text(signed_in("sales").get(f"/contactview/edit/{contact.id}"))
    reason = re.search(r'<input[^>]*id="change_reason"[^>]*>', page).group(0)
    assert "form-control" in reason


@pytest.mark.parametrize("days, accepted", [("-5", False), ("400", False), ("0", True),
                                            ("30", True)])
def test_payment_terms_are_a_sensible_number_of_days(signed_in, session, days, accepted):
    organisation = make_organisation(session, payment_terms_days=14)
    session.commit()
    receivables = signed_in("ar")
    path = f"/organisationview/edit/{organisation.id}"
    token = csrf_token(receivables, path)
    response = receivables.post(path, data={"csrf_token": token, "version": "1",
                                            "payment_terms_days": days})
    db.session.remove()
    stored = db.session.get(Organisation, organisation.id).payment_terms_days
    if accepted:
        assert response.status_code == 302 and stored == int(days)
    else:
        assert response.status_code == 200 and stored == 14
        assert "Number must be between 0 and 365" in text(response)


# -- callback requests ----------------------------------------------------------------


def _set_status(client, callback_id: int, status: str):
    path = f"/callbackrequestview/edit/{callback_id}"
    token = csrf_token(client, path)
    response = client.post(path, data={"csrf_token": token, "status": status,
                                       "contact": "", "message": "Soittakaa"})
    assert response.status_code == 302
    db.session.remove()
    return db.session.get(CallbackRequest, callback_id)


@pytest.mark.parametrize("status", ["done", "no_result"])
def test_closing_a_callback_request_records_when_and_by_whom(signed_in, session, status):
    callback = make_callback_request(session)
    session.commit()
    sales = signed_in("sales")

    assert _set_status(sales, callback.id, "in_progress").handled_at is None
    closed = _set_status(sales, callback.id, status)
    assert closed.status is CallbackStatus(status)
    assert closed.handled_at is not None and closed.handled_by.username == "sales"
    first_closed = closed.handled_at

    # Saving the closed request again keeps the day it was closed; reopening clears it.
    assert _set_status(sales, callback.id, status).handled_at == first_closed
    assert _set_status(sales, callback.id, "in_progress").handled_at is None


# -- demo data ----------------------------------------------------------------------


def test_demo_activities_are_logged_by_roles_that_write_activities(app, session):
    load_demo(db.session, app.appbuilder.sm, PASSWORD)
    db.session.commit()
    writers = {name for name, (role, _, _) in DEMO_USERS.items()
               if (roles.ADD, roles.ACTIVITY) in roles.role_permissions(role)}
    assert writers == {"sales", "support"}
    authors = set(session.scalars(
        sa.select(User.username).distinct().select_from(Activity).join(Activity.author)))
    assert authors and authors <= writers


# -- the home page --------------------------------------------------------------------


def test_home_page_says_with_whom_each_latest_activity_was(signed_in, session):
    contact = make_contact(session, first_name="Kotisivu", last_name="Kontakti")
    make_activity(session, contact, subject="Esittely")
    session.commit()
    page = text(signed_in("sales").get("/"))
    panel = page[page.index('data-panel="activities"'):]
    assert "Esittely – Kotisivu Kontakti" in panel


@pytest.mark.parametrize("lang, shown", [("en", "Finland"), ("fi", "Suomi")])
def test_contact_page_names_the_country_in_the_readers_language(login_as, session, lang,
                                                                shown):
    contact = make_contact(session, country="FI")
    session.commit()
    client = login_as("support")
    client.get(f"/lang/{lang}")
    page = text(client.get(f"/contactview/show/{contact.id}"))
    assert re.search(rf"<td>\s*<span[^>]*>{shown}</span>", page)


def test_demo_register_is_written_in_the_registers_language(app, session):
    """Finnish users read the demo's industries, titles and systems on Finnish pages."""
    load_demo(db.session, app.appbuilder.sm, PASSWORD)
    db.session.commit()
    words = (set(session.scalars(sa.select(Organisation.industry)))
             | set(session.scalars(sa.select(Contact.title)))
             | set(session.scalars(sa.select(Identifier.system)))
             | set(session.scalars(sa.select(Consent.evidence))))
    assert {"Julkinen sektori", "Tietohallintojohtaja", "Asiakasportaali"} <= words
    assert not words & {"Public sector", "Software", "CIO", "System Specialist",
                        "Customer portal", "Newsletter sign-up form"}


# -- activities -----------------------------------------------------------------------


def test_activity_logged_for_a_contact_is_on_their_organisations_page(signed_in, session):
    organisation = make_organisation(session, name="Tukiyhtiö Oy")
    contact = make_contact(session, organisation=organisation)
    session.commit()
    support = signed_in("support")
    path = f"/activityview/add?_flt_0_contact={contact.id}"
    form = text(support.get(path))
    # The form's own "now", in whatever way the form writes a time.
    now = re.search(r'<input[^>]*id="occurred_at"[^>]*value="([^"]*)"', form).group(1)
    response = support.post(path, data={
        "csrf_token": csrf_token(support, path), "contact": str(contact.id),
        "organisation": "", "kind": "support", "subject": "Salasanan nollaus",
        "occurred_at": now})
    assert response.status_code == 302
    db.session.remove()
    activity = db.session.scalar(sa.select(Activity).where(
        Activity.subject == "Salasanan nollaus"))
    assert activity.organisation_id == organisation.id
    page = text(support.get(f"/organisationview/show/{organisation.id}"))
    assert "Salasanan nollaus" in page


@pytest.mark.parametrize("username, kind", [("support", "support"), ("sales", "call")])
def test_new_activity_starts_as_what_the_role_logs(signed_in, username, kind):
    page = text(signed_in(username).get("/activityview/add"))
    kinds = re.search(r'<select[^>]*id="kind"[^>]*>(.*?)</select>', page, re.S).group(1)
    # What the browser shows: the selected option, else the first.
    shown = (re.findall(r'<option selected value="([^"]+)"', kinds)
             or re.findall(r'<option[^>]*value="([^"]+)"', kinds))[0]
    assert shown == kind
