"""A list's address and filter box never end in an error page (crm.views.date_filters,
crm.views.interface, crm.views.errors).

An enum column's filter ("equal to" is `_flt_0_`, "not equal to" `_flt_1_`) reads its
value by the column's choices: the filter box's "—" is "no value", anything else not a
choice matches nothing and says so. A page number or page size that is not a whole
number is refused with the CRM's 400 page; a page size past 100 is brought down to it.
An unexpected error gets the CRM's 500 page, unless exceptions propagate.
"""

from __future__ import annotations

import logging
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import RelationshipRole
from crm.views.interface import CrmSQLAInterface
from tests.factories import make_contact
from tests.test_date_filters import _signed_in

EQUAL, NOT_EQUAL = 0, 1
CONTACT_LIST = "/contactview/list/"
NOT_A_CHOICE = {"en": "A filter's value is not one of its choices",
                "fi": "Suodattimen arvo ei ole mikään sen vaihtoehdoista"}
#: Contacts by last name and their role in the customer relationship.
ROLES = {"Laskuttaja": RelationshipRole.billing, "Teknikkonen": RelationshipRole.technical,
         "Rooliton": None}


@pytest.fixture
def contacts(session):
    for name, role in ROLES.items():
        make_contact(session, last_name=name, relationship_role=role)
    session.commit()
    return list(ROLES)


def _listed(client, path: str, **filters) -> list[str]:
    response = client.get(path, query_string=filters)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return [name for name in ROLES if name in page]


# -- an enum column's filter -------------------------------------------------------------

@pytest.mark.parametrize("user, path, column", [
    ("privacy", CONTACT_LIST, "language"),
    ("privacy", CONTACT_LIST, "legal_basis"),
    ("privacy", CONTACT_LIST, "relationship_role"),
    ("privacy", CONTACT_LIST, "marketing_status"),
    ("sales", "/organisationview/list/", "customer_status"),
    ("sales", "/activityview/list/", "kind"),
    ("sales", "/callbackrequestview/list/", "status"),
    ("privacy", "/datasubjectrequestview/list/", "status"),
])
@pytest.mark.parametrize("place", [EQUAL, NOT_EQUAL])
@pytest.mark.parametrize("value", ["", "xx", "  "])
def test_an_enum_filter_left_at_none_or_naming_no_choice_shows_the_list(
        login_as, user, path, column, place, value):
    """The filter box's "—" (sent empty) and a hand-edited value were a bare 500."""
    response = login_as(user).get(path, query_string={f"_flt_{place}_{column}": value})
    assert response.status_code == 200
    assert 'id="filter_form"' in response.get_data(as_text=True)


@pytest.mark.parametrize("place, found", [
    (EQUAL, ["Rooliton"]),                      # "—": no role
    (NOT_EQUAL, ["Laskuttaja", "Teknikkonen"]),    # any role
])
def test_none_on_a_nullable_enum_is_no_value(login_as, contacts, place, found):
    client = _signed_in(login_as, "privacy", "en")
    assert _listed(client, CONTACT_LIST, **{f"_flt_{place}_relationship_role": ""}) == found


@pytest.mark.parametrize("place, found", [(EQUAL, []), (NOT_EQUAL, list(ROLES))])
def test_none_on_an_enum_every_row_has_is_no_value_either(login_as, contacts, place, found):
    """Every contact has a language: "equal to —" finds none, "not equal to —" all."""
    client = _signed_in(login_as, "privacy", "en")
    assert _listed(client, CONTACT_LIST, **{f"_flt_{place}_language": ""}) == found


@pytest.mark.parametrize("place, found", [
    (EQUAL, ["Laskuttaja"]),
    (NOT_EQUAL, ["Teknikkonen", "Rooliton"]),      # no role is not "billing" either
])
def test_an_enum_filter_on_a_choice(login_as, contacts, place, found):
    client = _signed_in(login_as, "privacy", "en")
    assert _listed(client, CONTACT_LIST, **{f"_flt_{place}_relationship_role": "billing"}
                   ) == found


@pytest.mark.parametrize("locale", ["en", "fi"])
@pytest.mark.parametrize("place", [EQUAL, NOT_EQUAL])
def test_a_value_that_is_no_choice_finds_nothing_and_says_so(login_as, contacts, locale,
                                                              place):
    client = _signed_in(login_as, "privacy", locale)
    query = {f"_flt_{place}_relationship_role": "laskutus", f"_flt_{place}_language": "xx"}
    page = unescape(client.get(CONTACT_LIST, query_string=query).get_data(as_text=True))
    assert not any(name in page for name in contacts)
    assert page.count(NOT_A_CHOICE[locale]) == 1  # once, for two such filters


# -- a list's page and page size in the address ------------------------------------------

@pytest.mark.parametrize("arg, value", [
    ("page_ContactView", "abc"), ("psize_ContactView", "abc"), ("page_ContactView", "1.5"),
    ("page_ContactView", "-1"), ("psize_ContactView", "-25"),
    ("page_ContactView", "9" * 30),           # an OFFSET no database takes
    ("page_NoSuchView", "x"),                 # FAB reads any view's name
])
@pytest.mark.parametrize("locale, told", [
    ("en", "The page number or page size in the address is not a whole number"),
    ("fi", "Osoitteen sivunumero tai sivun koko ei ole kokonaisluku"),
])
def test_a_page_that_is_no_number_is_refused_with_the_crms_page(login_as, arg, value,
                                                                 locale, told):
    client = _signed_in(login_as, "privacy", locale)
    response = client.get(CONTACT_LIST, query_string={arg: value},
                          headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-status="400"' in page and told in page


def test_a_page_size_past_the_largest_is_brought_down_to_it(login_as, contacts):
    client = _signed_in(login_as, "privacy", "en")
    query = {"psize_ContactView": "100000", "_flt_0_relationship_role": "billing"}
    response = client.get(CONTACT_LIST, query_string=query)
    assert response.status_code == 302
    moved = urlsplit(response.headers["Location"])
    assert moved.path == CONTACT_LIST
    assert parse_qs(moved.query) == {"psize_ContactView": ["100"],
                                     "_flt_0_relationship_role": ["billing"]}
    assert _listed(client, moved.path, **parse_qs(moved.query)) == ["Laskuttaja"]


@pytest.mark.parametrize("page, page_size, rows", [
    (0, 100_000, 100), (0, -5, 1), (-3, 100, 100), (10**30, 25, 0)])
def test_a_list_reads_at_most_a_hundred_rows_a_page(app, session, page, page_size, rows):
    """Wherever a page comes from (a post's list, FAB's own callers), it is capped."""
    for n in range(101):
        make_contact(session, last_name=f"Sivu{n:03d}")
    session.commit()
    from crm.models import Contact

    with app.test_request_context(CONTACT_LIST):
        _count, found = CrmSQLAInterface(Contact, session).query(page=page,
                                                                 page_size=page_size)
    assert len(found) == rows


def test_machine_paths_keep_their_own_arguments(client):
    response = client.get("/health", query_string={"page_x": "abc"})
    assert response.status_code != 400


# -- an unexpected error ------------------------------------------------------------------

SECRET = "Maija Meikäläinen maija@example.fi"


@pytest.fixture
def failing_list(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(CrmSQLAInterface, "query", fail)


@pytest.mark.parametrize("locale, title, text", [
    ("en", "Something went wrong", "The error has been logged."),
    ("fi", "Jokin meni vikaan", "Virhe on kirjattu lokiin."),
])
def test_an_unexpected_error_gets_the_crms_page_and_a_log_without_its_message(
        app, login_as, monkeypatch, failing_list, caplog, locale, title, text):
    client = _signed_in(login_as, "privacy", locale)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    with caplog.at_level(logging.ERROR):
        response = client.get(CONTACT_LIST, headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert 'data-status="500"' in page and title in page and text in page
    assert "Internal Server Error" not in page and SECRET not in page
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "builtins.RuntimeError" in logged and "in fail" in logged  # the traceback
    assert SECRET not in logged and "Meikäläinen" not in logged


def test_a_failed_statement_still_gets_the_crms_page(app, login_as, monkeypatch):
    """A database error (on PostgreSQL, its transaction aborted) gets the page too."""
    from crm.extensions import db

    def fail(*args, **kwargs):
        db.session.execute(sa.text("SELECT no_such_column FROM contact"))

    monkeypatch.setattr(CrmSQLAInterface, "query", fail)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    client = _signed_in(login_as, "privacy", "en")
    response = client.get(CONTACT_LIST, headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert 'data-status="500"' in response.get_data(as_text=True)


def test_an_unexpected_error_still_reaches_the_tests(login_as, failing_list):
    """Exceptions propagate when testing: a failing test shows its own traceback."""
    with pytest.raises(RuntimeError, match="Maija"):
        login_as("privacy").get(CONTACT_LIST)


def test_a_database_errors_message_does_not_quote_the_statements_values(app):
    """Whatever logs a database error, its message holds no value of the register."""
    with app.app_context(), pytest.raises(sa.exc.DBAPIError) as raised:
        db.session.execute(sa.text("SELECT id FROM no_such_table WHERE email = :email"),
                           {"email": "aino.aaltonen@esimerkki.fi"})
    db.session.rollback()
    assert "aino.aaltonen" not in str(raised.value)
