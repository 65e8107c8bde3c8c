"""The list's "›" and "‹" links page by key: the same rows as numbered pages, no OFFSET."""

from __future__ import annotations

import base64
import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from crm.models import Contact
from crm.views.keyset import Seek
from tests.factories import make_contact
from tests.test_list_speed import executed, listed_ids

PAGE = 4


@pytest.fixture
def register(session):
    """Eleven contacts with ties and missing values in every order column."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for n in range(11):
        made.append(make_contact(
            session, first_name="Sama" if n % 3 == 0 else f"Etu{n % 4}",
            last_name="Sama" if n % 4 == 0 else f"Suku{n % 5}",
            email=None if n % 5 == 0 else f"sivu{n % 6}@firma.example",
            last_activity_at=None if n % 4 == 1 else start + timedelta(days=n % 3)))
    session.commit()
    return made


def expected_order(session, column: str, direction: str) -> list[int]:
    """The rows in the order of a plain ORDER BY on this database."""
    attr = getattr(Contact, column)
    sort = [attr.asc(), Contact.id.asc()] if direction == "asc" else [attr.desc(),
                                                                      Contact.id.desc()]
    return list(session.scalars(sa.select(Contact.id).where(Contact.anonymised_at.is_(None))
                                .order_by(*sort)))


def offsets(ran: list[tuple[str, object]], table: str) -> list[int]:
    """Return the rows each page query of `table` skipped (SQLite writes OFFSET 0).

    The list writes its OFFSET into the statement (crm.views.interface); SQLite's
    own "OFFSET 0" of a page without one is bound, as the statement's last parameter.
    """
    skipped = []
    for statement, params in ran:
        if table in statement and "count(" not in statement.lower():
            written = re.search(r"OFFSET (\d+)", statement)
            if written or "OFFSET" not in statement:
                skipped.append(int(written.group(1)) if written else 0)
            else:
                skipped.append(list(params.values() if isinstance(params, dict)
                                    else params)[-1])
    return skipped


def link(html: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]*)" rel="{rel}">', html)
    return html_lib.unescape(match.group(1)) if match else None


ORDERS = [(c, d) for c in ("last_name", "first_name", "email", "last_activity_at")
          for d in ("asc", "desc")]


@pytest.mark.parametrize(("column", "direction"), ORDERS)
def test_next_and_previous_walk_the_list_in_its_order(session, login_as, register, column,
                                                     direction):
    expected = expected_order(session, column, direction)
    sales = login_as("sales")
    html = sales.get("/contactview/list/", query_string={
        "psize_ContactView": PAGE, "_oc_ContactView": column,
        "_od_ContactView": direction}).get_data(as_text=True)
    pages = [listed_ids(html)]
    while (url := link(html, "next")) is not None:
        assert "seek_ContactView=" in url
        html, ran = executed(sales, url)
        pages.append(listed_ids(html))
        assert all(skipped == 0 for skipped in offsets(ran, "FROM contact")), ran
    assert [i for page in pages for i in page] == expected
    assert [len(p) for p in pages] == [4, 4, 3]
    for page in reversed(pages[:-1]):  # and back again with "‹"
        html = sales.get(link(html, "prev")).get_data(as_text=True)
        assert listed_ids(html) == page


def test_numbered_links_leave_the_key_out(session, login_as, register):
    sales = login_as("sales")
    html = sales.get("/contactview/list/?psize_ContactView=4").get_data(as_text=True)
    html = sales.get(link(html, "next")).get_data(as_text=True)
    numbered = [html_lib.unescape(u) for u in
                re.findall(r'<a href="([^"]*page_ContactView=\d[^"]*)">\d+</a>', html)]
    assert numbered and not any("seek_" in u for u in numbered)
    expected = expected_order(session, "last_name", "asc")
    page_three = next(u for u in numbered if "page_ContactView=2" in u)
    assert listed_ids(sales.get(page_three).get_data(as_text=True)) == expected[8:]


def next_seek(sales, url: str) -> str:
    token = re.search(r"seek_ContactView=([\w-]+)", link(sales.get(url).get_data(as_text=True),
                                                         "next"))
    return token.group(1)


@pytest.mark.parametrize("change", [
    {"_oc_ContactView": "first_name", "_od_ContactView": "asc"},  # another order
    {"_oc_ContactView": "last_name", "_od_ContactView": "desc"},  # another direction
    {"psize_ContactView": "3"},  # another page size
    {"_flt_0_first_name": "Etu"},  # other filters (7 rows: page 1 is not past the end)
    {"page_ContactView": "2"},  # another page
])
def test_a_key_made_for_another_list_is_not_used(session, login_as, register, change):
    sales = login_as("sales")
    token = next_seek(sales, "/contactview/list/?psize_ContactView=4")
    query = {"psize_ContactView": "4", "page_ContactView": "1", "seek_ContactView": token}
    query.update(change)
    html, ran = executed(sales, "/contactview/list/?" + urlencode(query))
    assert any(offsets(ran, "FROM contact"))  # read by its number
    del query["seek_ContactView"]
    assert listed_ids(html) == listed_ids(sales.get("/contactview/list/?" + urlencode(query))
                                          .get_data(as_text=True))


def _encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("token", [
    "x", "%%%", _encoded("not json"), _encoded("[1, 2]"),
    _encoded('["last_name","asc",1,4,"d",1,["n","not a number"],1]'),
    _encoded('["last_name","asc",1,4,"d",1,["t","yesterday"],1]'),
    _encoded('["last_name","sideways",1,4,"d",1,["s","A"],1]'),
    _encoded('["last_name","asc",1,4,"d",1,["i","1"],1]'),
])
def test_a_forged_key_is_ignored(session, login_as, register, token):
    sales = login_as("sales")
    response = sales.get("/contactview/list/", query_string={
        "psize_ContactView": 4, "page_ContactView": 1, "seek_ContactView": token})
    assert response.status_code == 200
    expected = expected_order(session, "last_name", "asc")
    assert listed_ids(response.get_data(as_text=True)) == expected[4:8]


def test_a_key_only_positions_the_rows_the_filters_allow(session, login_as, register):
    # A key past an anonymised person's name still lists only unanonymised people.
    register[0].anonymised_at = datetime.now(UTC)
    session.commit()
    sales = login_as("sales")
    seek = Seek("last_name", "asc", 1, 4, _digest_of_the_plain_list(sales), True, "A", 0)
    html = sales.get("/contactview/list/", query_string={
        "psize_ContactView": 4, "page_ContactView": 1,
        "seek_ContactView": seek.encode()}).get_data(as_text=True)
    assert register[0].id not in listed_ids(html)
    assert listed_ids(html) == expected_order(session, "last_name", "asc")[:4]


def _digest_of_the_plain_list(sales) -> str:
    token = next_seek(sales, "/contactview/list/?psize_ContactView=4")
    return Seek.decode(token).digest


def test_a_row_added_before_the_key_does_not_shift_the_next_page(session, login_as,
                                                                register):
    sales = login_as("sales")
    first = sales.get("/contactview/list/?psize_ContactView=4").get_data(as_text=True)
    make_contact(session, last_name="Aaaa")  # sorts first: OFFSET would repeat a row
    session.commit()
    second = listed_ids(sales.get(link(first, "next")).get_data(as_text=True))
    assert not set(second) & set(listed_ids(first))
    assert second == expected_order(session, "last_name", "asc")[5:9]
