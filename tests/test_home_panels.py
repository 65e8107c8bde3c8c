"""The home page's panels (crm.services.home): Support's lists support interactions
only, and its title says so (under "Latest activities" the salespeople's calls and
meetings would seem to be missing); the panels stand two to a row. Each role's panels
are its own work, and every link on them opens for it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from crm.jobs.runner import run_job
from crm.models import (
    ActivityKind,
    CustomerStatus,
    LegalBasis,
    Provenance,
    RelationshipRole,
    Source,
    SourceKind,
)
from tests.factories import (
    make_activity,
    make_callback_request,
    make_contact,
    make_organisation,
    make_request,
)


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


# -- each role's panels: its own work, and links it may follow ------------------------

#: The panels each demo user's home page shows, in order, with something in every one.
#: Open callback requests and the latest activities are the work of those who call back
#: and log activities (Sales, Support): not of the roles that only read them. The
#: contacts by marketing status are the work of those who market to the audience
#: (Marketing, Communications): not of Sales nor the privacy team, who read the statuses.
HOME_PANELS = {
    "sales": ["callbacks", "activities"],
    "marketing": ["art14", "imports", "marketing"],
    "comms": ["marketing"],
    "ar": ["invoicing", "billing_contacts"],
    "support": ["activities"],
    "privacy": ["requests", "consent_basis", "jobs", "audit"],
    "dpo": ["requests", "jobs", "audit"],
    "admin": ["jobs"],
    "maintainer": ["jobs"],
}
#: Each panel as its reader sees it titled.
PANEL_TITLES = {
    "requests": "Open data subject requests",
    "consent_basis": "Consent as the legal basis, but no valid consent",
    "art14": "Art. 14 notices",
    "imports": "Latest purchased-list imports",
    "callbacks": "Open callback requests",
    "activities": "Latest activities",
    "marketing": "Marketing",
    "invoicing": "Customers without invoicing details",
    "billing_contacts": "Billing contacts",
    "jobs": "Latest job runs",
    "audit": "Latest audit events",
}


@pytest.fixture
def register_with_work(app, session):
    """Something for every panel: a request, a callback, an activity, a purchased list
    owing its notices, a customer without invoicing details and its billing contact,
    a contact on consent with none, a job run and an audit event."""
    firm = make_organisation(session, name="Laskutoimeton Oy", invoicing_street=None,
                             e_invoice_address=None, billing_email=None,
                             customer_status=CustomerStatus.customer)
    contact = make_contact(session, first_name="Koti", last_name="Sivulainen",
                           organisation=firm, relationship_role=RelationshipRole.billing,
                           legal_basis=LegalBasis.consent)
    make_activity(session, contact, subject="Tarjouspuhelu")
    make_activity(session, contact, kind=ActivityKind.support, subject="Salasana unohtui")
    make_callback_request(session, name="Soittopyyntö Kotisivulta")
    make_request(session)
    bought = Source(kind=SourceKind.purchased_list, name="Kotisivun ostolista",
                    supplier="Listamyynti Oy", received_on=date.today() - timedelta(days=10),
                    file_hash="ab" * 32, row_count=1)
    session.add(bought)
    session.flush()
    listed = make_contact(session, last_name="Ostolistalta", source=bought)
    session.add(Provenance(contact=listed, source=bought,
                           art14_due_on=date.today() + timedelta(days=20)))
    session.commit()
    run_job(app, "session_purge")  # a job run, and its audit event


@pytest.mark.parametrize("user", list(HOME_PANELS))
def test_each_role_home_page_shows_its_own_work(signed_in, register_with_work, user):
    page = signed_in(user).get("/").get_data(as_text=True)
    assert re.findall(r'data-panel="([^"]+)"', page) == HOME_PANELS[user]
    # The panels' titles, as the reader sees them (Support's activities are its own).
    titles = {**PANEL_TITLES, "activities": "Latest support interactions"} \
        if user == "support" else PANEL_TITLES
    assert re.findall(r'<div class="panel-heading"><strong>([^<]+)</strong>', page) == [
        titles[key] for key in HOME_PANELS[user]]
    assert "Nothing here right now." not in page


@pytest.mark.parametrize("user", list(HOME_PANELS))
def test_the_marketing_counts_are_on_the_home_page_of_those_who_market(
        login_as, register_with_work, user):
    """In Finnish, as Sales and the privacy team read their home page: no "Markkinointi"
    panel of statuses; Marketing and Communications keep it, with the audience's link."""
    page = login_as(user).get("/").get_data(as_text=True)
    home = page[page.index('class="row crm-home"'):]  # not the menu
    shown = "<strong>Markkinointi</strong>" in home
    assert shown is (user in ("marketing", "comms"))
    assert ('href="/audience/"' in home) is shown


def test_marketing_home_page_is_marketing_work_and_sales_keeps_the_callbacks(
        signed_in, register_with_work):
    marketing = signed_in("marketing").get("/").get_data(as_text=True)
    # Marketing may read callback requests, but calling back is Sales' work.
    assert "Open callback requests" not in marketing
    assert "Soittopyyntö Kotisivulta" not in marketing
    assert "Tarjouspuhelu" not in marketing
    # Its own: the lists it imported, each to its page, and the import screen.
    start = marketing.index('data-panel="imports"')
    imports = marketing[start:marketing.index("</div>\n  </div>", start)]
    assert "<strong>Latest purchased-list imports</strong>" in imports
    assert re.search(r'<a href="/sourceview/show/\d+">Kotisivun ostolista</a>', imports)
    assert '<a href="/imports/">Show all' in imports
    sales = signed_in("sales").get("/").get_data(as_text=True)
    start = sales.index('data-panel="callbacks"')
    assert "Soittopyyntö Kotisivulta" in sales[start:sales.index("</ul>", start)]
    assert 'data-panel="imports"' not in sales


@pytest.mark.parametrize("user", list(HOME_PANELS))
def test_every_link_on_the_home_page_opens_for_its_reader(signed_in, register_with_work,
                                                         user):
    client = signed_in(user)
    page = client.get("/").get_data(as_text=True)
    home = page[page.index('class="row crm-home"'):]
    links = {href.replace("&amp;", "&") for href in re.findall(r'href="(/[^"]*)"', home)}
    assert links, f"{user}'s home page links nowhere"
    refused = {href: status for href in sorted(links)
               if (status := client.get(href).status_code) != 200}
    assert refused == {}
