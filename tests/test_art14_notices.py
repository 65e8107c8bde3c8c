"""Art. 14 notices of purchased lists (DESIGN §2, §5, §8, §9.4): Marketing sees on a
list's page and on its home page what it owes, and records the notices as sent, for a
whole list or one person; the import's check and result pages give the due date; the
reminders name the list.

Dates are checked as the reader sees them: 25.11.2026 in Finnish, 11/25/26 in English.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from babel.dates import format_date
from flask_babel import force_locale

from crm.jobs.reminders import describe
from crm.models import AuditEvent, Provenance, Source, SourceKind
from crm.models.base import register_today
from crm.models.privacy import Notification, NotificationKind
from crm.services.requests import add_months
from tests.conftest import csrf_token, session_csrf_token
from tests.factories import make_contact
from tests.test_import_screen import GOOD

#: The Babel locale that writes each language's dates (crm.views.locale).
LOCALES = {"fi": "fi", "en": "en_GB"}


def shown(day: date, lang: str) -> str:
    """The day as the CRM's pages write it in `lang`."""
    return format_date(day, "short", locale=LOCALES[lang])


def text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def client_in(login_as, user: str, lang: str):
    client = login_as(user)
    client.get(f"/lang/{lang}")
    return client


def bought_list(session, name="Toimialalista 2026/10", received_ago=40, people=3,
                **people_values) -> tuple[Source, list[Provenance]]:
    """A purchased list received `received_ago` days ago and its `people`, owed the
    notice a month after it."""
    received = register_today() - timedelta(days=received_ago)
    source = Source(kind=SourceKind.purchased_list, name=name, supplier="Listamyynti Oy",
                    received_on=received, file_hash=name.encode().hex()[:64].ljust(64, "0"),
                    row_count=people)
    session.add(source)
    session.flush()
    rows = []
    for index in range(people):
        contact = make_contact(session, first_name="Testi", last_name=f"Ostettu{index}",
                               source=source, **people_values)
        row = Provenance(contact=contact, source=source,
                         art14_due_on=add_months(received, 1))
        session.add(row)
        rows.append(row)
    session.commit()
    return source, rows


def notified(session, rows) -> list[datetime | None]:
    session.expire_all()
    return [session.get(Provenance, row.id).art14_notified_at for row in rows]


def post_list(client, source, sent_on: str):
    token = csrf_token(client, "/imports/")  # the session's token, as on the list's page
    return client.post(f"/art14/list/{source.id}",
                       data={"csrf_token": token, "sent_on": sent_on})


# -- the list's page ---------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "words"), [
    ("fi", ["14 artiklan ilmoitukset", "Lista vastaanotettu", "Ilmoitukset viimeistään",
            "Ilmoitus lähettämättä", "Ilmoitus lähetetty", "myöhässä 10 päivää",
            "Merkitse 14 artiklan ilmoitus lähetetyksi"]),
    ("en", ["Art. 14 notices", "List received", "Notices due by", "People still owed the notice",
            "People told", "overdue by 10 days", "Mark the Art. 14 notice as sent"]),
])
def test_a_lists_page_shows_what_marketing_owes_and_how_late(login_as, session, lang, words):
    source, rows = bought_list(session, received_ago=0, people=3)
    # Received long enough ago that the notices are ten days late.
    received = add_months(register_today(), -1) - timedelta(days=10)
    source.received_on = received
    for row in rows:
        row.art14_due_on = add_months(received, 1)
    rows[0].art14_notified_at = datetime.now(UTC)
    session.commit()
    page = text(client_in(login_as, "marketing", lang).get(f"/sourceview/show/{source.id}"))
    due = add_months(received, 1)
    assert (register_today() - due).days == 10
    for word in words:
        assert word in page
    notices = page[page.index(words[0]):]
    assert f"{words[1]} {shown(received, lang)}" in notices
    assert f"{words[2]} {shown(due, lang)} {words[5]}" in notices
    assert f"{words[3]} 2" in notices and f"{words[4]} 1" in notices


@pytest.mark.parametrize("user", ["privacy", "dpo"])
def test_privacy_and_the_dpo_see_the_counts_but_record_nothing(login_as, session, user):
    source, rows = bought_list(session)
    client = client_in(login_as, user, "en")
    page = client.get(f"/sourceview/show/{source.id}").get_data(as_text=True)
    assert 'data-notice="owed"' in page
    assert 'id="art14-mark-list"' not in page and "/art14/list/" not in page
    token = session_csrf_token(client)
    response = client.post(f"/art14/list/{source.id}",
                           data={"csrf_token": token, "sent_on": register_today().isoformat()})
    assert response.status_code == 403
    assert notified(session, rows) == [None, None, None]


def test_a_list_not_late_gives_its_due_date_without_overdue(login_as, session):
    source, _rows = bought_list(session, received_ago=3)
    page = client_in(login_as, "marketing", "en").get(f"/sourceview/show/{source.id}")
    html = page.get_data(as_text=True)
    assert f"Notices due by {shown(add_months(source.received_on, 1), 'en')}" in text(page)
    assert 'id="art14-overdue"' not in html and "overdue" not in text(page)


# -- recording the notices as sent -------------------------------------------------------------

@pytest.mark.parametrize(("lang", "message"), [
    ("fi", "14 artiklan ilmoitus merkittiin lähetetyksi {date} 2 henkilölle."),
    ("en", "The Art. 14 notice was recorded as sent on {date} to 2 people."),
])
def test_marketing_records_a_lists_notices_as_sent_for_who_is_still_owed_them(
        login_as, session, lang, message):
    source, rows = bought_list(session, people=2)
    told_before = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
    _extra, (earlier,) = bought_list(session, name="Toinen lista", people=1)
    same_list_told = Provenance(contact=make_contact(session, last_name="Kerrottu",
                                                     source=source),
                                source=source, art14_due_on=rows[0].art14_due_on,
                                art14_notified_at=told_before)
    gone = Provenance(contact=make_contact(session, last_name="Poistettu", source=source,
                                           anonymised_at=datetime.now(UTC)),
                      source=source, art14_due_on=rows[0].art14_due_on)
    session.add_all([same_list_told, gone])
    session.commit()
    sent_on = register_today() - timedelta(days=2)
    client = client_in(login_as, "marketing", lang)

    response = post_list(client, source, shown(sent_on, lang))
    assert response.status_code == 302
    assert response.location.endswith(f"/sourceview/show/{source.id}")
    page = text(client.get(response.location))
    assert message.format(date=shown(sent_on, lang)) in page

    days = [at.astimezone(UTC).date() if at else None for at in notified(session, rows)]
    assert days == [sent_on, sent_on]
    session.expire_all()
    assert session.get(Provenance, same_list_told.id).art14_notified_at == told_before
    assert session.get(Provenance, gone.id).art14_notified_at is None
    assert session.get(Provenance, earlier.id).art14_notified_at is None
    # The list's page now owes nothing: no form, and the counts say so.
    assert 'id="art14-mark-list"' not in client.get(
        f"/sourceview/show/{source.id}").get_data(as_text=True)

    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "art14_notice"))
    assert (event.actor, event.object_type, event.object_id) == (
        "marketing", "Source", str(source.id))
    assert event.detail == f"art14 2 sent {sent_on.isoformat()}"
    assert "Ostettu" not in (event.detail or "")

    # Again, another day: the dates stay, and nothing more is audited.
    post_list(client, source, shown(register_today(), lang))
    assert [at.astimezone(UTC).date() for at in notified(session, rows)] == [sent_on, sent_on]
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "art14_notice")) == 1


@pytest.mark.parametrize(("lang", "day", "message"), [
    ("fi", "future", "Ilmoituksen lähetyspäivä ei voi olla tulevaisuudessa."),
    ("en", "future", "The date the notice was sent cannot be in the future."),
    ("fi", "before", "Ilmoitusta ei ole voitu lähettää ennen listan vastaanottoa ({received})."),
    ("en", "before", "The notice cannot have been sent before the list was received "
                     "({received})."),
    ("fi", "none", "Anna ilmoituksen lähetyspäivä."),
    ("en", "none", "Enter the date the notice was sent."),
])
def test_a_day_the_notices_cannot_have_been_sent_on_is_refused(login_as, session, lang, day,
                                                                message):
    source, rows = bought_list(session, received_ago=20)
    sent_on = {"future": shown(register_today() + timedelta(days=1), lang),
               "before": shown(source.received_on - timedelta(days=1), lang),
               "none": ""}[day]
    client = client_in(login_as, "marketing", lang)
    response = post_list(client, source, sent_on)
    assert response.status_code == 302
    page = text(client.get(response.location))
    assert message.format(received=shown(source.received_on, lang)) in page
    assert notified(session, rows) == [None, None, None]
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "art14_notice")) == 0


def test_a_post_without_csrf_token_records_nothing(login_as, session):
    source, rows = bought_list(session)
    client = client_in(login_as, "marketing", "en")
    response = client.post(f"/art14/list/{source.id}",
                           data={"sent_on": register_today().isoformat()})
    assert response.status_code in (302, 400)
    assert notified(session, rows) == [None, None, None]


@pytest.mark.parametrize(("lang", "button", "message"), [
    ("fi", "Merkitse 14 artiklan ilmoitus lähetetyksi",
     "14 artiklan ilmoitus merkittiin lähetetyksi {date}."),
    ("en", "Mark the Art. 14 notice as sent", "The Art. 14 notice was recorded as sent on {date}."),
])
def test_marketing_records_one_persons_notice_on_their_provenance_tab(login_as, session, lang,
                                                                      button, message):
    source, rows = bought_list(session, people=2)
    contact_id = rows[0].contact_id
    client = client_in(login_as, "marketing", lang)
    page = client.get(f"/contactview/show/{contact_id}").get_data(as_text=True)
    assert f'data-provenance="{rows[0].id}"' in page and button in page
    token = csrf_token(client, f"/contactview/show/{contact_id}")
    response = client.post(f"/art14/contact/{rows[0].id}",
                           data={"csrf_token": token, "sent_on": shown(register_today(), lang)})
    assert response.status_code == 302
    assert f"/contactview/show/{contact_id}" in response.location
    page = client.get(response.location)
    assert message.format(date=shown(register_today(), lang)) in text(page)
    # The row shows the day, no form any more.
    assert f'data-provenance="{rows[0].id}"' not in page.get_data(as_text=True)
    after = notified(session, rows)
    assert after[0].astimezone(UTC).date() == register_today() and after[1] is None
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "art14_notice"))
    assert (event.object_type, event.object_id) == ("Provenance", str(rows[0].id))


def test_the_provenance_tab_offers_no_form_to_sales_nor_for_a_told_person(login_as, session):
    source, rows = bought_list(session, people=1)
    page = client_in(login_as, "sales", "en").get(
        f"/contactview/show/{rows[0].contact_id}").get_data(as_text=True)
    assert "Art. 14 notice sent" in page and 'data-provenance="' not in page
    sales = client_in(login_as, "sales", "en")
    token = session_csrf_token(sales)
    assert sales.post(f"/art14/contact/{rows[0].id}", data={
        "csrf_token": token, "sent_on": register_today().isoformat()}).status_code == 403
    assert notified(session, rows) == [None]


@pytest.mark.parametrize(("lang", "action", "detail"), [
    ("fi", "14 artiklan ilmoitus merkitty lähetetyksi", "2 henkilöä, lähetetty 20.11.2026"),
    ("en", "Art. 14 notice recorded as sent", "2 people, sent on 20/11/2026"),
])
def test_the_audit_trail_reads_a_recorded_notice(login_as, session, lang, action, detail):
    event = AuditEvent(action="art14_notice", actor="marketing", object_type="Source",
                       object_id="3", fields=["art14_notified_at"],
                       detail="art14 2 sent 2026-11-20")
    session.add(event)
    session.commit()
    page = text(client_in(login_as, "dpo", lang).get(f"/auditeventview/show/{event.id}"))
    assert action in page and detail in page


# -- the home page -----------------------------------------------------------------------------

def _panel(client) -> str:
    page = client.get("/").get_data(as_text=True)
    assert 'data-panel="art14"' in page, "no Art. 14 panel"
    start = page.index('data-panel="art14"')
    return page[start:page.index("</ul>", start)]


@pytest.mark.parametrize(("lang", "title", "row", "late"), [
    ("fi", "14 artiklan ilmoitukset", "Myöhäinen lista: ilmoitus lähettämättä 2 henkilölle",
     "MYÖHÄSSÄ"),
    ("en", "Art. 14 notices", "Myöhäinen lista: 2 people owed the notice", "OVERDUE"),
])
def test_marketings_home_page_lists_the_lists_owing_notices_earliest_first(
        login_as, session, lang, title, row, late):
    fresh, _rows = bought_list(session, name="Tuore lista", received_ago=2, people=1)
    old, _rows = bought_list(session, name="Myöhäinen lista", received_ago=45, people=2)
    done, done_rows = bought_list(session, name="Hoidettu lista", received_ago=10, people=1)
    done_rows[0].art14_notified_at = datetime.now(UTC)
    session.commit()
    panel = _panel(client_in(login_as, "marketing", lang))
    assert f"<strong>{title}</strong>" in panel
    assert '<span class="badge">2</span>' in panel
    assert "Hoidettu lista" not in panel
    assert panel.index("Myöhäinen lista") < panel.index("Tuore lista")
    assert f'href="/sourceview/show/{old.id}"' in panel
    assert f'href="/sourceview/show/{fresh.id}"' in panel
    assert row in unescape(panel)
    overdue = re.search(
        r'<span class="pull-right label label-danger crm-overdue crm-late">([^<]*)</span>', panel)
    assert overdue and overdue.group(1) == (
        f"{late} {shown(add_months(old.received_on, 1), lang)}")
    assert panel.count("crm-late") == 1


@pytest.mark.parametrize("user", ["sales", "privacy", "comms"])
def test_other_roles_get_no_art14_panel(login_as, session, user):
    bought_list(session)
    assert 'data-panel="art14"' not in client_in(login_as, user, "en").get("/").get_data(
        as_text=True)


# -- the reminders name the list ---------------------------------------------------------------

@pytest.mark.parametrize(("lang", "expected"), [
    ("fi", "3 henkilölle ostetulta listalta “Toimialalista 2026/10” on lähetettävä 14 artiklan "
           "ilmoitus; ensimmäinen viimeistään {date}"),
    ("en", "3 people from the purchased list “Toimialalista 2026/10” are owed an Art. 14 "
           "notice; the first by {date}"),
])
def test_the_jobs_screen_names_the_list_a_reminder_is_about(login_as, session, lang, expected):
    source, rows = bought_list(session)
    session.add(Notification(kind=NotificationKind.art14_owed, audience="Marketing,Privacy",
                             object_type="Source", object_id=str(source.id),
                             due_on=rows[0].art14_due_on, count=3,
                             created_at=datetime.now(UTC)))
    session.commit()
    page = text(client_in(login_as, "privacy", lang).get("/jobs/"))
    assert expected.format(date=shown(rows[0].art14_due_on, lang)) in page
    assert f"#{source.id}" not in page


def test_a_reminder_mail_line_names_the_list(app):
    notification = Notification(kind=NotificationKind.art14_owed, object_type="Source",
                                object_id="5", due_on=date(2026, 12, 1), count=2)
    with app.test_request_context(), force_locale("en"):
        line = describe(notification, "https://crm.example", list_name="Messulista")
    assert line == ("2 people from the purchased list “Messulista” are owed an Art. 14 "
                    "notice; the first by 2026-12-01\nhttps://crm.example/sourceview/show/5")


# -- the import's check and result pages -------------------------------------------------------

def _import(client, received_on: date, lang: str) -> tuple[str, str]:
    import io

    client.get(f"/lang/{lang}")
    token = csrf_token(client, "/imports/")
    client.post("/imports/upload", data={
        "csrf_token": token, "file": (io.BytesIO(GOOD), "lista.csv"), "name": "Ruutulista",
        "supplier": "Toimittaja Oy", "received_on": received_on.isoformat()},
        content_type="multipart/form-data")
    token = csrf_token(client, "/imports/mapping")
    mapping = {"csrf_token": token, "map_first_name": "Etunimi", "map_last_name": "Sukunimi",
               "map_email": "Sähköposti", "map_organisation": "Yritys"}
    check = text(client.post("/imports/check", data=mapping))
    result = client.post("/imports/run", data={"csrf_token": token, "valid_only": "0"})
    return check, text(result)


@pytest.mark.parametrize(("lang", "expected"), [
    ("fi", "Listan henkilöille on lähetettävä 14 artiklan mukainen ilmoitus viimeistään "
           "{due}, kuukauden kuluessa listan vastaanotosta."),
    ("en", "The people of the list are owed an Art. 14 notice by {due}, a month after the "
           "list was received."),
])
def test_the_import_pages_give_the_notices_due_date(login_as, session, lang, expected):
    received = register_today() - timedelta(days=5)
    check, result = _import(login_as("marketing"), received, lang)
    due = shown(add_months(received, 1), lang)
    assert expected.format(due=due) in check
    assert expected.format(due=due) in result


@pytest.mark.parametrize(("lang", "expected"), [
    ("fi", "Lista vastaanotettiin {received}, joten sen henkilöiden 14 artiklan mukaiset "
           "ilmoitukset olisi pitänyt lähettää viimeistään {due}: ne ovat {days} päivää "
           "myöhässä. Lähetä ne viipymättä."),
    ("en", "The list was received on {received}, so its people's Art. 14 notices were due on "
           "{due}: they are {days} days late. Send them without delay."),
])
def test_the_import_pages_warn_when_the_notices_are_late_already(login_as, session, lang,
                                                                 expected):
    received = register_today() - timedelta(days=35)
    due = add_months(received, 1)
    check, result = _import(login_as("marketing"), received, lang)
    message = expected.format(received=shown(received, lang), due=shown(due, lang),
                              days=(register_today() - due).days)
    assert message in check and message in result
    source = session.scalar(sa.select(Source).where(Source.name == "Ruutulista"))
    assert source is not None  # imported all the same


# -- the list's people on the contacts list ----------------------------------------------------

def test_the_contacts_list_lists_a_purchased_lists_people_new_and_merged(login_as, session):
    source, rows = bought_list(session, people=2)
    other, other_rows = bought_list(session, name="Toinen lista", people=1)
    merged = make_contact(session, last_name="Yhdistetty")  # their source is another
    session.add(Provenance(contact=merged, source=source,
                           art14_due_on=rows[0].art14_due_on))
    session.commit()
    client = client_in(login_as, "marketing", "en")
    page = client.get(f"/sourceview/show/{source.id}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" id="art14-people">', page).group(1)
    listed = client.get(unescape(link)).get_data(as_text=True)
    assert "Ostettu0" in listed and "Ostettu1" in listed and "Yhdistetty" in listed
    assert listed.count("Ostettu") == 2  # not the other list's person
    assert "Purchased list" in listed and "Toinen lista" in listed  # the filter offers lists


def test_the_filter_by_purchased_list_is_only_for_who_reads_the_lists(login_as, session):
    source, rows = bought_list(session, people=1)
    make_contact(session, last_name="Muualta")
    session.commit()
    url = f"/contactview/list/?_flt_0_provenance={source.id}"
    assert "Muualta" not in client_in(login_as, "privacy", "en").get(url).get_data(as_text=True)
    listed = client_in(login_as, "sales", "en").get(url).get_data(as_text=True)
    assert "Muualta" in listed  # the filter was not applied
    assert "Purchased list" not in listed and "Toimialalista" not in listed
