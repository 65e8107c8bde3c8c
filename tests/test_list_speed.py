"""The list screens stay fast: few queries, counts only when needed, lean rows (DESIGN §10)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_appbuilder.widgets import SearchWidget
from flask_babel import format_decimal

from crm.extensions import db
from crm.models import Contact
from crm.views import interface
from crm.views.base import CrmModelView
from crm.views.interface import CrmListWidget
from tests.factories import make_contact, make_identifier, make_organisation


@pytest.fixture
def small_cap(app):
    app.config["CRM_LIST_COUNT_CAP"] = 5
    yield 5
    app.config.pop("CRM_LIST_COUNT_CAP")


def contacts(session, count: int, **overrides) -> list[Contact]:
    made = [make_contact(session, **overrides) for _ in range(count)]
    session.commit()
    return made


def statements(client, url: str) -> tuple[str, list[str]]:
    """Return the page at `url` and the SQL statements its request ran."""
    html, ran = executed(client, url)
    return html, [statement for statement, _ in ran]


def executed(client, url: str) -> tuple[str, list[tuple[str, object]]]:
    """Return the page at `url` and the SQL statements its request ran, with parameters."""
    ran: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, *args):
        ran.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True), ran


def counts(ran: list[str]) -> int:
    return sum("count(*)" in s.lower() for s in ran)


def record_count(html: str) -> str:
    match = re.search(r'crm-record-count">\s*<strong>[^<]*</strong>\s*([^<]+?)\s*</div>', html)
    assert match, "no record count on the list"
    return match.group(1)


def listed_ids(html: str) -> list[int]:
    ids = re.findall(r'href="/contactview/show/(\d+)', html)
    return list(dict.fromkeys(int(i) for i in ids))


def rows_markup(html: str) -> str:
    """Return the list's rows, whitespace and per-request nonces left out."""
    rows = html.split("</thead>", 1)[1].split("</table>", 1)[0]
    rows = re.sub(r'nonce="[^"]*"', "", rows)
    rows = re.sub(r"\s+", " ", rows)
    return re.sub(r"\s+>", ">", re.sub(r">\s+<", "><", rows)).strip()


# -- the page's data -----------------------------------------------------------


def test_a_page_shows_every_row_s_organisation_in_the_same_few_queries(session, login_as):
    sales = login_as("sales")
    made = contacts(session, 25, organisation=make_organisation(session, name="Yksi Oy"))
    sales.get("/contactview/list/")  # first-request work is not the page's
    _, one_organisation = statements(sales, "/contactview/list/")
    for n, contact in enumerate(made):
        contact.organisation = make_organisation(session, name=f"Yhtiö {n} Oy")
    session.commit()
    html, ran = statements(sales, "/contactview/list/")
    assert len(ran) == len(one_organisation) <= 8, ran
    assert set(listed_ids(html)) == {c.id for c in made}
    assert all(f"Yhtiö {n} Oy" in html for n in range(25))


@pytest.mark.parametrize("deferred_from", [0, interface.DEFERRED_FROM_ROW])
@pytest.mark.parametrize("order", [("last_name", "asc"), ("first_name", "desc"),
                                   ("email", "asc"), ("last_activity_at", "desc")])
def test_every_page_holds_the_rows_of_a_plain_order_by_offset(session, login_as, monkeypatch,
                                                              deferred_from, order):
    monkeypatch.setattr(interface, "DEFERRED_FROM_ROW", deferred_from)
    made = contacts(session, 10, organisation=make_organisation(session, name="Sivu Oy"))
    for contact in made[::3]:
        contact.last_name, contact.first_name = "Sama", "Sama"
    session.commit()
    column, direction = order
    attr = getattr(Contact, column)
    sort = ([attr.asc(), Contact.id.asc()] if direction == "asc"
            else [attr.desc(), Contact.id.desc()])
    sales = login_as("sales")
    for page in range(3):
        expected = list(session.scalars(
            sa.select(Contact.id).where(Contact.anonymised_at.is_(None))
            .order_by(*sort).offset(page * 4).limit(4)))
        response = sales.get("/contactview/list/", query_string={
            "psize_ContactView": 4, "page_ContactView": page,
            "_oc_ContactView": column, "_od_ContactView": direction})
        html = response.get_data(as_text=True)
        assert listed_ids(html) == expected, (page, order)
        assert html.count("Sivu Oy") == len(expected)


@pytest.mark.parametrize("query", ["", "&page_ContactView=1", "&page_ContactView=30"])
def test_a_page_s_limit_and_offset_are_written_into_its_statement(session, login_as, query,
                                                                 small_cap):
    """A bound `LIMIT $1` makes PostgreSQL plan a prepared statement anew on every run."""
    contacts(session, 91)  # page 30 is the last, not past the end (which is left)
    _, ran = executed(login_as("sales"), "/contactview/list/?psize_ContactView=3" + query)
    pages = [(s, p) for s, p in ran if "FROM contact" in s and "ORDER BY" in s]
    assert pages and all(re.search(r"LIMIT 3\b", s) for s, _ in pages), pages
    if query:
        offset = int(query.rsplit("=", 1)[1]) * 3
        assert all(f"OFFSET {offset}" in s for s, _ in pages), pages
    capped = [s for s, _ in ran if "count(" in s.lower()]
    assert all(re.search(r"LIMIT 6\b", s) for s in capped), capped


# -- the count -------------------------------------------------------------------


def test_a_list_of_one_page_is_counted_from_its_rows(session, login_as):
    contacts(session, 3)
    html, ran = statements(login_as("sales"), "/contactview/list/")
    assert record_count(html) == "3"
    assert counts(ran) == 0


def test_a_last_page_is_counted_from_its_rows(session, login_as):
    contacts(session, 7)
    html, ran = statements(login_as("sales"),
                           "/contactview/list/?psize_ContactView=3&page_ContactView=2")
    assert record_count(html) == "7" and len(listed_ids(html)) == 1
    assert counts(ran) == 0


def test_a_count_within_the_cap_is_exact_on_every_request(session, login_as, small_cap):
    contacts(session, 4)
    sales = login_as("sales")
    url = "/contactview/list/?psize_ContactView=2"
    html, ran = statements(sales, url)
    assert record_count(html) == "4" and counts(ran) == 1
    contacts(session, 1)
    html, ran = statements(sales, url)
    assert record_count(html) == "5" and counts(ran) == 1


def test_a_count_past_the_cap_is_kept_until_a_contact_is_added(session, login_as, small_cap):
    contacts(session, 7)
    sales = login_as("sales")
    url = "/contactview/list/?psize_ContactView=3"
    over = f"{format_decimal(small_cap)}+"
    html, ran = statements(sales, url)
    assert record_count(html) == over and counts(ran) == 1
    html, ran = statements(sales, url)
    assert record_count(html) == over and counts(ran) == 0
    # Another search is another count.
    html, ran = statements(sales, url + "&q=Testi")
    assert record_count(html) == over and counts(ran) == 1
    contacts(session, 1)
    html, ran = statements(sales, url)
    assert record_count(html) == over and counts(ran) == 1


def test_a_kept_count_expires(session, login_as, small_cap, app):
    app.config["CRM_LIST_COUNT_CACHE_SECONDS"] = 0
    try:
        contacts(session, 7)
        sales = login_as("sales")
        url = "/contactview/list/?psize_ContactView=3"
        for _ in range(2):
            html, ran = statements(sales, url)
            assert counts(ran) == 1
    finally:
        app.config.pop("CRM_LIST_COUNT_CACHE_SECONDS")


def test_a_page_past_the_cap_proves_the_count_without_counting(session, login_as, small_cap):
    contacts(session, 9)
    html, ran = statements(login_as("sales"),
                           "/contactview/list/?psize_ContactView=3&page_ContactView=1")
    assert record_count(html) == f"{format_decimal(small_cap)}+"
    assert counts(ran) == 0


def test_a_search_with_no_match_says_no_records(session, login_as):
    contacts(session, 2)
    html, ran = statements(login_as("sales"), "/contactview/list/?q=Eiolemassa")
    assert listed_ids(html) == [] and record_count(html) == "0"


# -- the rendered rows -----------------------------------------------------------


@pytest.mark.parametrize(("user", "url"), [
    ("sales", "/contactview/list/"),
    ("privacy", "/identifierview/list/"),  # show, edit and delete links
])
def test_rows_render_as_fab_s_own_list(session, login_as, monkeypatch, user, url):
    org = make_organisation(session, name="Rivi & Co <Oy>")
    for contact in contacts(session, 3, organisation=org):
        make_identifier(session, contact)
    session.commit()
    client = login_as(user)
    ours = client.get(url).get_data(as_text=True)
    monkeypatch.setattr(CrmListWidget, "template", "appbuilder/general/widgets/list.html")
    fab = client.get(url).get_data(as_text=True)
    assert rows_markup(ours) == rows_markup(fab)
    if user == "sales":
        assert "Rivi &amp; Co &lt;Oy&gt;" in ours


def test_a_related_list_s_links_carry_its_filter_as_fab_s_do(session, login_as, monkeypatch):
    org = make_organisation(session)
    contacts(session, 2, organisation=org)
    client = login_as("sales")
    url = f"/organisationview/show/{org.id}"
    ours = client.get(url).get_data(as_text=True)
    assert f"?_flt_0_organisation={org.id}" in ours
    monkeypatch.setattr(CrmListWidget, "template", "appbuilder/general/widgets/list.html")
    fab = client.get(url).get_data(as_text=True)
    assert rows_markup(ours) == rows_markup(fab)


@pytest.mark.parametrize("language", ["fi", "en"])
def test_the_filter_box_is_fab_s_in_the_reader_s_language(session, login_as, monkeypatch,
                                                          language):
    client = login_as("sales")
    assert client.get(f"/lang/{language}").status_code == 302

    def filter_box():
        html = client.get("/contactview/list/").get_data(as_text=True)
        return re.search(r"new AdminFilters\((.*?)\);", html, re.S).group(1)

    ours = filter_box()
    assert filter_box() == ours  # rendered from what was kept
    monkeypatch.setattr(CrmModelView, "search_widget", SearchWidget)
    assert filter_box() == ours
    assert ("Sukunimi" in ours) is (language == "fi")


def test_the_filter_box_offers_only_the_reader_s_fields(session, login_as):
    def filter_box(user):
        html = login_as(user).get("/contactview/list/").get_data(as_text=True)
        return re.search(r"new AdminFilters\((.*?)\);", html, re.S).group(1)

    assert "marketing_status" in filter_box("sales")
    assert "marketing_status" not in filter_box("ar")
