"""The home page's panels (crm.services.home): Support's lists support interactions
only, and its title says so (under "Latest activities" the salespeople's calls and
meetings would seem to be missing); the panels stand two to a row."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm.models import ActivityKind
from tests.factories import make_activity, make_contact, make_request


def _panel(client) -> str:
    page = client.get("/").get_data(as_text=True)
    start = page.index('data-panel="activities"')
    return page[start:page.index("</ul>", start)]


@pytest.mark.parametrize(("user", "title", "subjects"), [
    ("support", "Latest support interactions", ["Salasana unohtui"]),
    ("sales", "Latest activities", ["Salasana unohtui", "Tarjouspuhelu"]),
])
def test_the_latest_activities_panel_says_which_it_lists(signed_in, session, user, title,
                                                         subjects):
    contact = make_contact(session, first_name="Kotisivu", last_name="Kontakti")
    make_activity(session, contact, kind=ActivityKind.support, subject="Salasana unohtui")
    make_activity(session, contact, kind=ActivityKind.call, subject="Tarjouspuhelu")
    session.commit()
    panel = _panel(signed_in(user))
    assert f"<strong>{title}</strong>" in panel
    assert [s for s in ("Salasana unohtui", "Tarjouspuhelu") if s in panel] == subjects


def test_the_panels_stand_two_to_a_row_without_holes(signed_in):
    """Panels of different heights in two columns: each pair ends its row, so a taller
    panel does not push the next one into the middle of the page."""
    html = signed_in("privacy").get("/").get_data(as_text=True)
    panels = html.count('class="panel panel-default"')
    assert panels >= 3
    assert html.count("clearfix visible-md-block") == panels // 2


@pytest.mark.parametrize("locale, overdue", [("fi", "MYÖHÄSSÄ"), ("en", "OVERDUE")])
def test_an_overdue_request_is_marked_in_red_as_on_the_requests_list(login_as, session, locale,
                                                                     overdue):
    """As /requests/ marks it (label-danger, crm-overdue), not in the muted grey of a
    request still in time."""
    late = make_request(session, received_on=date.today() - timedelta(days=60)).id
    in_time = make_request(session).id
    session.commit()
    client = login_as("privacy")
    client.get(f"/lang/{locale}")
    page = client.get("/").get_data(as_text=True)
    start = page.index('data-panel="requests"')
    panel = page[start:page.index("</ul>", start)]
    rows = {pk: panel.split(f'/datasubjectrequestview/show/{pk}"')[1].split("</li>")[0]
            for pk in (late, in_time)}
    assert 'class="pull-right label label-danger crm-overdue' in rows[late]
    assert overdue in rows[late]
    assert "text-muted" in rows[in_time] and "crm-overdue" not in rows[in_time]
