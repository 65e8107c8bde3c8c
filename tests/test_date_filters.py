"""List filters on dates read as the reader writes them (crm.views.date_filters).

FAB read "01.02.2026" month first, as 2 January, and a filter's time as UTC. Filters
are addressed as FAB's list URLs address them: `_flt_<n>_<column>`, where n is the
filter's place (0 equal to, 1 greater than, 2 smaller than, 3 not equal to).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from tests.factories import make_activity, make_contact, make_request

EQUAL, GREATER, SMALLER, NOT_EQUAL = range(4)


def _signed_in(login_as, user: str, locale: str):
    client = login_as(user)
    if locale != "fi":  # Finnish is the default
        assert client.get(f"/lang/{locale}").status_code == 302
    return client


def _listed(client, path: str, names: list[str], **filters) -> list[str]:
    page = client.get(path, query_string=filters).get_data(as_text=True)
    return [name for name in names if name in page]


# -- a date column: data subject requests' "Received" ---------------------------------------

REQUESTS = {"Tammikuun Toinen": date(2026, 1, 2), "Helmikuun Ensimmäinen": date(2026, 2, 1),
            "Maaliskuun Kolmas": date(2026, 3, 3)}
REQUEST_LIST = "/datasubjectrequestview/list/"


@pytest.fixture
def requests(session):
    for name, received in REQUESTS.items():
        make_request(session, requester_name=name, received_on=received)
    session.commit()
    return list(REQUESTS)


@pytest.mark.parametrize("locale", ["fi", "en"])
@pytest.mark.parametrize("typed", ["01.02.2026", "1.2.2026", "2026-02-01",
                                   "01/02/2026"])  # as English (en_GB) lists write it
@pytest.mark.parametrize("place, found", [
    (EQUAL, ["Helmikuun Ensimmäinen"]),
    (GREATER, ["Maaliskuun Kolmas"]),
    (SMALLER, ["Tammikuun Toinen"]),
    (NOT_EQUAL, ["Tammikuun Toinen", "Maaliskuun Kolmas"]),
])
def test_a_date_filter_reads_the_day_first(login_as, requests, locale, typed, place, found):
    client = _signed_in(login_as, "privacy", locale)
    assert _listed(client, REQUEST_LIST, requests,
                   **{f"_flt_{place}_received_on": typed}) == found


# -- a timestamp: activities' "Date", on the register's clock -------------------------------

#: Activities by subject and when they happened, in Helsinki (UTC+2 in winter).
ACTIVITIES = {
    "Tammikuun viimeinen ilta": datetime(2026, 1, 31, 21, 0, tzinfo=UTC),  # 31.1. 23.00
    "Helmikuun alku": datetime(2026, 1, 31, 22, 30, tzinfo=UTC),           # 1.2. 0.30
    "Helmikuun ilta": datetime(2026, 2, 1, 21, 30, tzinfo=UTC),            # 1.2. 23.30
    "Toisen päivän yö": datetime(2026, 2, 1, 22, 30, tzinfo=UTC),          # 2.2. 0.30
}
ACTIVITY_LIST = "/activityview/list/"


@pytest.fixture
def activities(session):
    contact = make_contact(session)
    for subject, at in ACTIVITIES.items():
        make_activity(session, contact, subject=subject, occurred_at=at)
    session.commit()
    return list(ACTIVITIES)


@pytest.mark.parametrize("locale", ["fi", "en"])
@pytest.mark.parametrize("typed", ["01.02.2026", "2026-02-01"])
@pytest.mark.parametrize("place, found", [
    (EQUAL, ["Helmikuun alku", "Helmikuun ilta"]),          # any time that day
    (GREATER, ["Toisen päivän yö"]),                         # from the next day on
    (SMALLER, ["Tammikuun viimeinen ilta"]),                 # before the day
    (NOT_EQUAL, ["Tammikuun viimeinen ilta", "Toisen päivän yö"]),
])
def test_a_timestamp_filtered_by_a_day_is_filtered_by_the_registers_day(
        login_as, activities, locale, typed, place, found):
    client = _signed_in(login_as, "sales", locale)
    assert _listed(client, ACTIVITY_LIST, activities,
                   **{f"_flt_{place}_occurred_at": typed}) == found


@pytest.mark.parametrize("typed", ["1.2.2026 23.30", "01.02.2026 23:30", "2026-02-01 23:30",
                                   "2026-02-01T23:30:00"])
def test_a_timestamp_filtered_by_a_time_reads_it_on_the_registers_clock(login_as, activities,
                                                                       typed):
    client = _signed_in(login_as, "sales", "fi")
    assert _listed(client, ACTIVITY_LIST, activities,
                   **{f"_flt_{EQUAL}_occurred_at": typed}) == ["Helmikuun ilta"]
    assert _listed(client, ACTIVITY_LIST, activities,
                   **{f"_flt_{GREATER}_occurred_at": typed}) == ["Toisen päivän yö"]
    assert _listed(client, ACTIVITY_LIST, activities, **{f"_flt_{SMALLER}_occurred_at": typed}
                   ) == ["Tammikuun viimeinen ilta", "Helmikuun alku"]


@pytest.mark.parametrize("locale, told", [("fi", "Anna päivämäärä muodossa pp.kk.vvvv."),
                                          ("en", "Enter the date as dd/mm/yyyy.")])
@pytest.mark.parametrize("path, column, user", [
    (REQUEST_LIST, "received_on", "privacy"), (ACTIVITY_LIST, "occurred_at", "sales")])
def test_a_date_that_cannot_be_read_finds_nothing_and_says_how_to_write_it(
        login_as, requests, activities, locale, told, path, column, user):
    client = _signed_in(login_as, user, locale)
    page = client.get(path, query_string={f"_flt_{GREATER}_{column}": "31.02.2026"}
                      ).get_data(as_text=True)
    assert not any(name in page for name in [*requests, *activities])
    assert page.count(told) == 1


def test_the_filter_box_offers_the_crms_calendar_not_fabs(login_as):
    """FAB's filter box calls a `datetimepicker` its pages do not load on a field marked
    appbuilder_date: adding a date filter failed in the browser."""
    page = _signed_in(login_as, "sales", "fi").get(ACTIVITY_LIST).get_data(as_text=True)
    box = page.split('id="filter_form"', 1)[1]
    assert "crm-date" in box and "pp.kk.vvvv" in box
    assert "appbuilder_date" not in box


@pytest.mark.parametrize("locale, later, earlier", [
    ("fi", "Myöhemmin kuin", "Aiemmin kuin"), ("en", "Later than", "Earlier than")])
def test_a_dates_filters_say_later_and_earlier(login_as, locale, later, earlier):
    page = _signed_in(login_as, "privacy", locale).get(REQUEST_LIST).get_data(as_text=True)
    names = _filter_box_args(page)[2]["received_on"]
    assert names[GREATER] == later and names[SMALLER] == earlier
    assert not {"Suurempi kuin", "Pienempi kuin", "Greater than", "Smaller than"} & set(names)


def _filter_box_args(page: str) -> list:
    """Return the arguments after '#filter_form' the list page hands FAB's filter box:
    the columns' labels, their fields, and the names of each column's filters."""
    rest = page.split("'#filter_form',", 1)[1]
    decoder, args = json.JSONDecoder(), []
    for _ in range(3):
        rest = rest.lstrip(" \n,")
        value, end = decoder.raw_decode(rest)
        args.append(value)
        rest = rest[end:]
    return args


@pytest.mark.parametrize("query, shown_open", [
    ({}, False),
    ({f"_flt_{GREATER}_received_on": "1.1.2026"}, True),
    ({f"_flt_{GREATER}_received_on": "31.02.2026"}, True),  # unreadable: its warning shows
])
def test_the_filter_panel_is_open_while_a_filter_is_applied(login_as, query, shown_open):
    page = _signed_in(login_as, "privacy", "fi").get(REQUEST_LIST, query_string=query
                                                     ).get_data(as_text=True)
    assert ('id="accordion1_href" class="panel-collapse collapse in"' in page) is shown_open


# -- an address naming a filter no longer offered ------------------------------------------

@pytest.mark.parametrize("place", [4, 9])
def test_a_filter_past_the_columns_last_is_left_out_not_an_error(login_as, requests, place):
    """An old bookmark or a hand-edited link names a filter by a place the column has no
    filter at (a date has four): FAB answered with an error page; the list is shown,
    unfiltered, as for a column it does not know."""
    client = _signed_in(login_as, "privacy", "fi")
    response = client.get(REQUEST_LIST, query_string={f"_flt_{place}_received_on": "1.2.2026"})
    assert response.status_code == 200
    assert _listed(client, REQUEST_LIST, requests,
                   **{f"_flt_{place}_received_on": "1.2.2026"}) == requests
