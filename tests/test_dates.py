"""Dates typed as the page's reader writes them (crm.views.dates): 20.11.2026 in Finnish.

Every date field reads 20.11.2026, 2026-11-20 and 20/11/2026 on any page, shows a date as
the page's lists write dates (20.11.2026 in Finnish, 20/11/2026 in English), and tells what
it cannot read in the page's language. A date and
time is typed and shown on the register's clock (Helsinki), and kept in UTC.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import InputRequired

from crm.models import Activity, DataSubjectRequest
from crm.views.dates import LocalDateField, LocalDateTimeField
from crm.views.imports import upload_folder
from tests.conftest import csrf_token
from tests.factories import make_activity, make_contact, make_request
from tests.test_import_screen import GOOD

#: What a date that cannot be read is told, by the page's language.
MESSAGES = {"fi": "Anna päivämäärä muodossa pp.kk.vvvv.",
            "en": "Enter the date as dd/mm/yyyy."}
ADD = "/datasubjectrequestview/add"


class DayForm(Form):
    day = LocalDateField("Day", [InputRequired()])


def _read(app, typed: str, locale: str) -> DayForm:
    with app.test_request_context(), force_locale(locale):
        form = DayForm(MultiDict({"day": typed}))
        form.validate()
        return form


def _signed_in(login_as, locale: str, user: str = "privacy"):
    client = login_as(user)
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
    ("20/11/2026", date(2026, 11, 20)),  # as English (en_GB) lists write it
    ("05/02/2026", date(2026, 2, 5)),    # day first, never month first
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


@pytest.mark.parametrize("locale, shown, shape", [
    ("fi", "5.2.2026", "pp.kk.vvvv"),
    ("en_GB", "05/02/2026", "dd/mm/yyyy"),  # English pages, as their lists write dates
    ("en_SE", "2026-02-05", "yyyy-mm-dd"),  # the command line's English
])
def test_a_date_is_shown_as_the_page_writes_dates(app, locale, shown, shape):
    with app.test_request_context(), force_locale(locale):
        box = DayForm(data={"day": date(2026, 2, 5)}).day()
    assert f'value="{shown}"' in box and f'placeholder="{shape}"' in box


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


@pytest.mark.parametrize("locale, shown", [("fi", "5.1.2026"), ("en", "05/01/2026")])
def test_the_edit_page_shows_the_date_as_the_page_writes_it(session, login_as, locale, shown):
    """Above the form, not in it: a request's deadline counts from its day of receipt."""
    pk = make_request(session, received_on=date(2026, 1, 5)).id
    session.commit()
    client = _signed_in(login_as, locale)
    html = client.get(f"/datasubjectrequestview/edit/{pk}").get_data(as_text=True)
    details = re.search(r'<dl class="dl-horizontal crm-edit-details">(.*?)</dl>', html, re.S)
    assert shown in details.group(1)
    # As the page's list writes it.
    assert shown in client.get("/datasubjectrequestview/list/").get_data(as_text=True)


def test_an_english_form_saves_the_date_it_shows_as_that_day(session, login_as):
    """05/01/2026 on an English page is 5 January, saved so, never 1 May."""
    client = _signed_in(login_as, "en")
    response = client.post(ADD, data={
        "csrf_token": csrf_token(client, ADD), "type": "access", "requester_name": "Päivi",
        "channel": "email", "received_on": "05/01/2026"})
    assert response.status_code == 302
    assert [r.received_on for r in _requests(session)] == [date(2026, 1, 5)]


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


# -- a date and time on the register's clock (LocalDateTimeField) -------------------------

#: What a date and time that cannot be read is told, by the page's language.
TIME_MESSAGES = {"fi": "Anna päivämäärä ja aika muodossa pp.kk.vvvv tt.mm.",
                 "en": "Enter the date and time as dd/mm/yyyy hh:mm."}


class TimeForm(Form):
    at = LocalDateTimeField("At", [InputRequired()])


def _read_time(app, typed: str, locale: str) -> TimeForm:
    with app.test_request_context(), force_locale(locale):
        form = TimeForm(MultiDict({"at": typed}))
        form.validate()
        return form


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("locale", ["fi", "en"])
@pytest.mark.parametrize("typed, instant", [
    ("25.11.2026 10.51", _utc(2026, 11, 25, 8, 51)),      # winter time, UTC+2
    ("25.11.2026 10:51", _utc(2026, 11, 25, 8, 51)),
    ("2026-11-25 10:51", _utc(2026, 11, 25, 8, 51)),
    ("2026-11-25T10:51:30", _utc(2026, 11, 25, 8, 51, 30)),
    ("25.11.2026 10.51.30", _utc(2026, 11, 25, 8, 51, 30)),
    ("5.6.2026 9.05", _utc(2026, 6, 5, 6, 5)),             # summer time, UTC+3
    (" 05.06.2026  09:05 ", _utc(2026, 6, 5, 6, 5)),
    ("1.1.2027 0.30", _utc(2026, 12, 31, 22, 30)),         # the UTC day before
    # 3.30 on 29 March 2026 never happens (3.00 -> 4.00): read on the clock before it.
    ("29.3.2026 3.30", _utc(2026, 3, 29, 1, 30)),
    # 3.30 on 25 October 2026 happens twice (4.00 -> 3.00): the first, in summer time.
    ("25.10.2026 3.30", _utc(2026, 10, 25, 0, 30)),
    # As an English (en_GB) list shows it, copied with its comma.
    ("25/11/2026, 10:51", _utc(2026, 11, 25, 8, 51)),
    ("25/11/2026 10:51", _utc(2026, 11, 25, 8, 51)),
])
def test_a_time_is_read_on_the_registers_clock_in_either_format(app, locale, typed, instant):
    form = _read_time(app, typed, locale)
    assert (form.at.data, form.errors) == (instant, {})
    assert form.at.data.utcoffset() == timedelta(0)


@pytest.mark.parametrize("typed", [
    "25.11.2026",            # no time
    "25.11.2026 24.00",
    "25.11.2026 10.60",
    "31.02.2026 10.00",
    "25.11.26 10.51",
    "11/25/2026 10:51 AM",
    "2026-11-25 10:51+02:00",
    "huomenna klo 10",
])
@pytest.mark.parametrize("locale", ["fi", "en"])
def test_a_time_that_cannot_be_read_is_told_in_the_pages_language(app, locale, typed):
    form = _read_time(app, typed, locale)
    assert form.at.data is None
    assert form.errors == {"at": [TIME_MESSAGES[locale]]}


@pytest.mark.parametrize("locale, shown", [
    ("fi", "25.11.2026 10.51"), ("en", "25/11/2026 10:51"), ("en_SE", "2026-11-25 10:51")])
@pytest.mark.parametrize("instant", [_utc(2026, 11, 25, 8, 51), _utc(2026, 11, 25, 8, 51, 59)])
def test_a_time_is_shown_on_the_registers_clock_as_the_page_writes_it(app, locale, shown,
                                                                     instant):
    with app.test_request_context(), force_locale(locale):
        assert f'value="{shown}"' in TimeForm(data={"at": instant}).at()


@pytest.mark.parametrize("locale, shown", [("fi", "5.6.2026 9.05"), ("en", "05/06/2026 09:05")])
def test_a_summer_time_is_shown_in_summer_time(app, locale, shown):
    with app.test_request_context(), force_locale(locale):
        assert f'value="{shown}"' in TimeForm(data={"at": _utc(2026, 6, 5, 6, 5, 7)}).at()


def test_a_time_sent_back_as_shown_keeps_its_seconds(app):
    stored = _utc(2026, 11, 25, 8, 51, 37, 123456)
    for typed, saved in [("25.11.2026 10.51", stored), ("2026-11-25 10:51", stored),
                         ("25/11/2026 10:51", stored),
                         ("25.11.2026 10.52", _utc(2026, 11, 25, 8, 52))]:
        record = Activity(occurred_at=stored)
        _read_time(app, typed, "fi").at.populate_obj(record, "occurred_at")
        assert record.occurred_at == saved, typed


# -- an activity's date (FAB's add and edit) ----------------------------------------------

ACTIVITY_ADD = "/activityview/add"


def _activities(session) -> list[Activity]:
    session.expire_all()
    return list(session.scalars(sa.select(Activity)))


def _log_activity(client, contact_id: int, occurred_at: str):
    path = f"{ACTIVITY_ADD}?_flt_0_contact={contact_id}"
    return client.post(path, data={
        "csrf_token": csrf_token(client, path), "contact": str(contact_id), "organisation": "",
        "kind": "call", "subject": "Soitto", "body": "", "occurred_at": occurred_at})


@pytest.mark.parametrize("locale", ["fi", "en"])
@pytest.mark.parametrize("typed, instant", [
    ("25.11.2026 10.51", _utc(2026, 11, 25, 8, 51)),
    ("2026-11-25 10:51", _utc(2026, 11, 25, 8, 51)),
    ("5.6.2026 10.51", _utc(2026, 6, 5, 7, 51)),
])
def test_an_activity_is_saved_at_the_local_time_typed(session, login_as, locale, typed,
                                                     instant):
    contact_id = make_contact(session).id
    session.commit()
    client = _signed_in(login_as, locale, "sales")
    assert _log_activity(client, contact_id, typed).status_code == 302
    assert [a.occurred_at for a in _activities(session)] == [instant]


@pytest.mark.parametrize("locale, label", [("fi", "Päivämäärä"), ("en", "Date")])
def test_a_bad_time_is_refused_beside_its_field(session, login_as, locale, label):
    contact_id = make_contact(session).id
    session.commit()
    response = _log_activity(_signed_in(login_as, locale, "sales"), contact_id, "25.11.2026 25.51")
    assert response.status_code == 200
    row = _row_of(response.get_data(as_text=True), "occurred_at")
    assert label in row and TIME_MESSAGES[locale] in row
    assert 'value="25.11.2026 25.51"' in row
    assert _activities(session) == []


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_a_new_activity_offers_the_time_now_on_the_registers_clock(app, login_as, locale):
    client = _signed_in(login_as, locale, "sales")
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    html = client.get(ACTIVITY_ADD).get_data(as_text=True)
    shown = re.search(r'<input[^>]*id="occurred_at"[^>]*value="([^"]*)"', html).group(1)
    with app.test_request_context(), force_locale(locale):
        from crm.views.dates import typed_datetime

        offered = {typed_datetime(before + timedelta(minutes=n)) for n in (0, 1)}
    assert shown in offered, (shown, offered)


@pytest.mark.parametrize("locale, shown", [("fi", "25.11.2026 10.51"),
                                           ("en", "25/11/2026 10:51")])
def test_the_edit_form_shows_the_time_on_the_registers_clock(session, login_as, locale, shown):
    stored = _utc(2026, 11, 25, 8, 51, 37)
    pk = make_activity(session, make_contact(session), occurred_at=stored).id
    session.commit()
    client = _signed_in(login_as, locale, "sales")
    path = f"/activityview/edit/{pk}"
    html = client.get(path).get_data(as_text=True)
    assert f'value="{shown}"' in _row_of(html, "occurred_at")
    # Saved unchanged, the time keeps its seconds.
    activity = _activities(session)[0]
    response = client.post(path, data={
        "csrf_token": csrf_token(client, path), "contact": str(activity.contact_id),
        "organisation": "", "kind": "call", "subject": "Soitto uudelleen", "body": "",
        "occurred_at": shown})
    assert response.status_code == 302
    assert [(a.subject, a.occurred_at) for a in _activities(session)] == [
        ("Soitto uudelleen", stored)]
