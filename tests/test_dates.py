"""Dates typed as the page's reader writes them (crm.views.dates): 20.11.2026 in Finnish.

Every date field reads 20.11.2026 and 2026-11-20 on any page, shows a date as the
page writes dates, and tells what it cannot read in the page's language.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import InputRequired

from crm.models import DataSubjectRequest
from crm.views.dates import LocalDateField
from crm.views.imports import upload_folder
from tests.conftest import csrf_token
from tests.factories import make_request
from tests.test_import_screen import GOOD

#: What a date that cannot be read is told, by the page's language.
MESSAGES = {"fi": "Anna päivämäärä muodossa pp.kk.vvvv.",
            "en": "Enter the date as yyyy-mm-dd."}
ADD = "/datasubjectrequestview/add"


class DayForm(Form):
    day = LocalDateField("Day", [InputRequired()])


def _read(app, typed: str, locale: str) -> DayForm:
    with app.test_request_context(), force_locale(locale):
        form = DayForm(MultiDict({"day": typed}))
        form.validate()
        return form


def _signed_in(login_as, locale: str):
    client = login_as("privacy")
    if locale != "fi":  # Finnish is the default
        assert client.get(f"/lang/{locale}").status_code == 302
    return client


def _requests(session) -> list[DataSubjectRequest]:
    session.expire_all()
    return list(session.scalars(sa.select(DataSubjectRequest)))


def _row_of(html: str, field_id: str) -> str:
    """Return the form's table row holding the field `field_id`: its label, box and errors."""
    match = re.search(rf'<tr>(?:(?!<tr>).)*id="{field_id}"(?:(?!</tr>).)*</tr>', html, re.S)
    assert match, f"no row of {field_id}"
    return match.group(0)


# -- reading a typed date -----------------------------------------------------------------


@pytest.mark.parametrize("locale", ["fi", "en"])
@pytest.mark.parametrize("typed, day", [
    ("20.11.2026", date(2026, 11, 20)),
    ("2026-11-20", date(2026, 11, 20)),
    ("5.2.2026", date(2026, 2, 5)),
    ("05.02.2026", date(2026, 2, 5)),
    (" 20.11.2026 ", date(2026, 11, 20)),  # pasted with a space
    ("29.2.2028", date(2028, 2, 29)),
])
def test_a_date_is_read_in_either_format_on_any_page(app, locale, typed, day):
    form = _read(app, typed, locale)
    assert (form.day.data, form.errors) == (day, {})


@pytest.mark.parametrize("typed", [
    "31.02.2026",        # no such day
    "29.2.2027",
    "20.11.26",          # a two-digit year would be the year 26
    "11/20/2026",
    "2026/11/20",
    "20-11-2026",
    "20.11.2026 12.00",
    "huomenna",
])
@pytest.mark.parametrize("locale", ["fi", "en"])
def test_a_date_that_cannot_be_read_is_told_in_the_pages_language(app, locale, typed):
    form = _read(app, typed, locale)
    assert form.day.data is None
    assert form.errors == {"day": [MESSAGES[locale]]}


def test_no_date_is_required_not_unreadable(app):
    assert _read(app, "", "en").errors == {"day": ["This field is required."]}


@pytest.mark.parametrize("locale, shown", [("fi", "5.2.2026"), ("en", "2026-02-05")])
def test_a_date_is_shown_as_the_page_writes_dates(app, locale, shown):
    with app.test_request_context(), force_locale(locale):
        form = DayForm(data={"day": date(2026, 2, 5)})
        assert f'value="{shown}"' in form.day()


# -- the request form (FAB's add and edit) ------------------------------------------------


@pytest.mark.parametrize("locale", ["fi", "en"])
@pytest.mark.parametrize("written", ["%d.%m.%Y", "%Y-%m-%d"])
def test_the_request_form_saves_a_date_typed_either_way(session, login_as, locale, written):
    received = date.today() - timedelta(days=2)
    client = _signed_in(login_as, locale)
    response = client.post(ADD, data={
        "csrf_token": csrf_token(client, ADD), "type": "access", "requester_name": "Päivi",
        "channel": "email", "received_on": received.strftime(written)})
    assert response.status_code == 302
    assert [r.received_on for r in _requests(session)] == [received]


@pytest.mark.parametrize("locale, label", [("fi", "Vastaanotettu"), ("en", "Received")])
def test_a_bad_date_in_the_request_form_is_refused_beside_its_field(session, login_as, locale,
                                                                   label):
    client = _signed_in(login_as, locale)
    response = client.post(ADD, data={
        "csrf_token": csrf_token(client, ADD), "type": "access", "requester_name": "Päivi",
        "channel": "email", "received_on": "31.02.2026"})
    assert response.status_code == 200
    row = _row_of(response.get_data(as_text=True), "received_on")
    assert label in row and MESSAGES[locale] in row
    assert 'value="31.02.2026"' in row  # what was typed, to be corrected
    assert _requests(session) == []


@pytest.mark.parametrize("locale, shown", [("fi", "5.1.2026"), ("en", "2026-01-05")])
def test_the_edit_form_shows_the_date_as_the_page_writes_it(session, login_as, locale, shown):
    pk = make_request(session, received_on=date(2026, 1, 5)).id
    session.commit()
    client = _signed_in(login_as, locale)
    html = client.get(f"/datasubjectrequestview/edit/{pk}").get_data(as_text=True)
    assert f'value="{shown}"' in _row_of(html, "received_on")


# -- the steps of a request (crm.views.subject_forms) -------------------------------------


def _extend(client, pk: int, **data):
    token = csrf_token(client, f"/datasubjectrequestview/show/{pk}")
    return client.post(f"/requests/{pk}/extend", data={"csrf_token": token, **data},
                       follow_redirects=True)


def test_the_deadline_is_extended_with_finnish_dates(session, login_as):
    request = make_request(session, received_on=date.today() - timedelta(days=2))
    session.commit()
    new_due_on, told = request.due_on + timedelta(days=10), date.today()
    _extend(login_as("privacy"), request.id, new_due_on=new_due_on.strftime("%d.%m.%Y"),
            reason="Many systems", notified_on=f"{told.day}.{told.month}.{told.year}")
    request = _requests(session)[0]
    assert (request.extended_due_on, request.extension_notified_on) == (new_due_on, told)


@pytest.mark.parametrize("locale, label", [("fi", "Uusi määräpäivä"), ("en", "New deadline")])
def test_a_bad_deadline_is_refused_naming_the_field(session, login_as, locale, label):
    request = make_request(session, received_on=date.today() - timedelta(days=2))
    session.commit()
    response = _extend(_signed_in(login_as, locale), request.id, new_due_on="31.13.2026",
                       reason="Many systems", notified_on=date.today().isoformat())
    assert f"{label}: {MESSAGES[locale]}" in response.get_data(as_text=True)
    assert _requests(session)[0].extended_due_on is None


# -- the import screen ("Received") --------------------------------------------------------


def _upload(client, received: str):
    return client.post("/imports/upload", data={
        "csrf_token": csrf_token(client, "/imports/"), "file": (io.BytesIO(GOOD), "lista.csv"),
        "name": "Päivälista", "received_on": received}, content_type="multipart/form-data")


def test_the_import_reads_a_finnish_date_received(login_as):
    client = login_as("marketing")
    assert _upload(client, "15.10.2026").status_code == 302
    with client.session_transaction() as stored:
        assert stored["crm_import"]["received_on"] == "2026-10-15"
    client.post("/imports/cancel", data={"csrf_token": csrf_token(client, "/imports/mapping")})


def test_a_bad_date_received_is_refused_beside_its_field_and_nothing_waits(login_as):
    client = login_as("marketing")
    before = set(upload_folder().iterdir())
    html = _upload(client, "15.10.26").get_data(as_text=True)
    assert (f'<p class="help-block crm-field-error" data-field="received_on">'
            f'{MESSAGES["fi"]}</p>') in html
    assert 'value="15.10.26"' in html
    assert set(upload_folder().iterdir()) == before
