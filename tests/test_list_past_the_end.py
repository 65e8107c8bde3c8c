"""A list page past the list's end (an old link, a list shortened since): the list is
opened at its last page, with the right count, instead of an empty page saying
"10 000+" with page links past the end (crm.views.base, crm.views.interface)."""

from __future__ import annotations

import math
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import current_app

from crm.extensions import db
from crm.models import Contact
from crm.services.demo import load_demo
from tests.conftest import PASSWORD
from tests.factories import make_contact, make_organisation

PAGE_SIZE = 25  # FAB's default page size, the lists' own


@pytest.fixture
def demo(app) -> int:
    """The demo register (a few hundred contacts); return how many contacts a list shows."""
    load_demo(db.session, current_app.appbuilder.sm, PASSWORD)
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Contact)
                             .where(Contact.anonymised_at.is_(None)))


def record_count(html: str) -> str:
    match = re.search(r'class="pull-right crm-record-count">\s*<strong>[^<]*</strong>\s*([^<]*)<',
                      html)
    assert match, "the list shows no count"
    return " ".join(unescape(match.group(1)).split())


def page_links(html: str) -> list[int]:
    """The numbers of the pager's page links."""
    pager = re.search(r'<ul class="pagination.*?</ul>', html, re.S)
    assert pager, "the list has no pager"
    return [int(n) for n in re.findall(r"<a [^>]*>\s*(\d+)\s*</a>", pager.group(0))]


def page_asked(location: str, view: str) -> int:
    return int(parse_qs(urlsplit(location).query)[f"page_{view}"][0])


@pytest.mark.parametrize("page", [9999, 12, 10_000_000])
def test_an_old_link_past_the_end_opens_the_last_page(signed_in, demo, page):
    contacts = demo
    assert 200 < contacts < 1000, "demo-sized: a few hundred contacts"
    last = math.ceil(contacts / PAGE_SIZE) - 1
    assert page > last
    client = signed_in("sales")
    response = client.get("/contactview/list/", query_string={
        "page_ContactView": page, "_oc_ContactView": "last_name", "_od_ContactView": "asc"})
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/contactview/list/"
    assert page_asked(response.location, "ContactView") == last
    # The order asked for is kept.
    assert parse_qs(urlsplit(response.location).query)["_oc_ContactView"] == ["last_name"]
    html = client.get(response.location).get_data(as_text=True)
    assert record_count(html) == f"{contacts:,}".replace(",", "\u00a0")
    assert "10\u00a0000+" not in html and "10,000+" not in html
    rows = contacts - last * PAGE_SIZE
    assert html.count('class="action_check"') + html.count('title="Show record"') >= rows
    assert max(page_links(html)) == last + 1  # no page links past the end
    assert "That page is past the end of the list" in html


def test_the_last_page_itself_is_shown_as_it_is(signed_in, demo):
    last = math.ceil(demo / PAGE_SIZE) - 1
    response = signed_in("sales").get("/contactview/list/",
                                      query_string={"page_ContactView": last})
    assert response.status_code == 200
    assert record_count(response.get_data(as_text=True)) == \
        f"{demo:,}".replace(",", "\u00a0")


def test_a_page_past_the_end_of_an_empty_list_opens_its_first_page(signed_in):
    client = signed_in("sales")
    response = client.get("/contactview/list/", query_string={"page_ContactView": 3})
    assert response.status_code == 302
    assert page_asked(response.location, "ContactView") == 0
    html = client.get(response.location).get_data(as_text=True)
    assert "No records found" in html
    # Nothing matched at all: no word of a last page.
    assert "past the end of the list" not in html


def test_a_tab_past_its_end_opens_at_its_last_page(signed_in, session):
    organisation = make_organisation(session)
    for n in range(PAGE_SIZE + 3):
        make_contact(session, last_name=f"Välilehti{n:02d}", organisation=organisation)
    session.commit()
    client = signed_in("sales")
    path = f"/organisationview/show/{organisation.id}"
    response = client.get(path, query_string={"page_ContactView": 40})
    assert response.status_code == 302
    assert urlsplit(response.location).path == path
    assert page_asked(response.location, "ContactView") == 1
    html = client.get(response.location).get_data(as_text=True)
    assert "Välilehti27" in html


def test_the_count_past_the_cap_is_kept_for_a_long_list(app, signed_in, session,
                                                        monkeypatch):
    """A list longer than the count's cap ("N+") still opens at its true last page."""
    monkeypatch.setitem(app.config, "CRM_LIST_COUNT_CAP", 40)
    for n in range(60):
        make_contact(session, last_name=f"Pitkä{n:02d}")
    session.commit()
    client = signed_in("sales")
    response = client.get("/contactview/list/", query_string={"page_ContactView": 500})
    assert response.status_code == 302
    assert page_asked(response.location, "ContactView") == 2
    html = client.get(response.location).get_data(as_text=True)
    assert record_count(html) == "40+"
    assert "Pitkä59" in html


def test_the_count_read_with_a_page_past_the_end_is_the_lists(app, demo):
    """The list's count, whatever page is read: not "10 000+" for an empty page."""
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "ContactView")
    filters = view.datamodel.get_filters([]).get_joined_filters(view._base_filters)
    count, rows = view.datamodel.query(filters, page=9999, page_size=PAGE_SIZE)
    assert (count, rows) == (demo, [])
