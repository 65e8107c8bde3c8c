"""The access export (DESIGN §9.1): everything about the person, nothing about anyone else."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_appbuilder import Model

from crm.models import (
    AuditEvent,
    DataSubjectRequest,
    LegalBasis,
    MarketingStatus,
    Provenance,
    Purpose,
    RelationshipRole,
    TransferSafeguard,
)
from crm.models.base import utcnow
from crm.privacy.export import (
    EXPORTED_TABLES,
    LEFT_OUT,
    STAFF_TABLE_PREFIX,
    build_access_export,
    export_json,
    linked_tables,
    render_access_export_html,
)
from crm.services.contacts import own_activity_source
from tests.conftest import csrf_token, session_csrf_token
from tests.factories import make_recipient
from tests.subject_data import (
    FILE_HASH,
    LIST_NAME,
    OTHERS,
    PERSON,
    SECRETS,
    SUPPLIER,
    person,
    seed_subject,
)


def _keys(table: sa.Table, rows: list[dict]) -> set[tuple]:
    return {tuple(row[c.name] for c in table.primary_key.columns) for row in rows}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def seeded(session):
    return seed_subject(session)


def test_every_table_is_exported_or_left_out_for_a_reason():
    for table in Model.metadata.sorted_tables:
        assert (table.name in EXPORTED_TABLES or table.name in LEFT_OUT
                or table.name.startswith(STAFF_TABLE_PREFIX)
                or table in linked_tables()), f"{table.name}: export it or say why not"


def test_export_has_every_row_about_the_person_in_every_table(session, seeded):
    export = build_access_export(session, seeded.contact_id)
    records = export["records"]
    tables = {t.name: t for t in Model.metadata.sorted_tables}
    about_tables = set(EXPORTED_TABLES) | {t.name for t in linked_tables()}
    # The seeding put the person into every table that can hold a row about them.
    assert set(seeded.about) == about_tables
    for name in about_tables:
        assert seeded.about[name] <= _keys(tables[name], records[name]), name
    # And nothing more than what is about them.
    for name, keys in seeded.others.items():
        assert not keys & _keys(tables[name], records[name]), name
    # The JSON is what the download gives, and parses back to the same.
    assert json.loads(export_json(export))["records"]["contact"][0]["email"] == PERSON["email"]


def test_export_holds_the_persons_values_and_nobody_elses(session, seeded):
    text = export_json(build_access_export(session, seeded.contact_id)).lower()
    for value in (PERSON["email"], PERSON["mobile"], PERSON["notes"], "xantippa-login-4411",
                  LIST_NAME, SUPPLIER, FILE_HASH):
        assert value.lower() in text, value
    for value in OTHERS:
        assert value.lower() not in text, value


def test_export_names_staff_by_role_only(session, seeded):
    export = build_access_export(session, seeded.contact_id)
    assert [a["author"] for a in export["records"]["activity"]] == ["Sales"]
    assert {e["actor"] for e in export["records"]["audit_event"]} == {"Privacy"}
    assert {c["changed_by"] for c in export["records"]["contact_change"]} == {"Privacy"}
    text = export_json(export)
    # Demo users' names and usernames (crm.services.demo): Sanna Myyjä (sales), Pekka
    # Rekisterinpitäjä (privacy).
    for name in ("Sanna", "Myyjä", "Pekka", "Rekisterinpitäjä", '"sales"', '"privacy"',
                 "author_id", "actor_id", "changed_by_id"):
        assert name not in text, name


def test_export_of_the_organisation_is_its_name_only(session, seeded):
    export = build_access_export(session, seeded.contact_id)
    assert export["records"]["organisation"] == [
        {"id": seeded.organisation_id, "name": "Qvist Corp Oy"}]


def test_art15_information(session, seeded):
    info = build_access_export(session, seeded.contact_id, lang="en")["information"]
    assert {p["code"] for p in info["purposes"]} >= {"customer_relationship",
                                                       "direct_marketing"}
    assert info["legal_basis"] == ["position"]
    mailchimp = next(r for r in info["recipients"] if r["name"] == "Mailchimp")
    assert mailchimp["outside_eea"] is True and mailchimp["safeguard"] == "dpf"
    assert {r["records"] for r in info["retention"]} >= {"prospect_contact"}
    assert {(s["name"], s["supplier"], s["file_hash"]) for s in info["sources"]} == {
        (LIST_NAME, SUPPLIER, FILE_HASH)}
    assert "Data Protection Ombudsman" in info["supervisory_authority"]
    assert info["automated_decision_making"] is False


@pytest.mark.parametrize("lang, expected", [
    ("fi", ["Käsittelyn tarkoitukset", "Asiakassuhteen hoito", "Käsiteltävät tietoryhmät",
            "Mailchimp", "siirto EU/ETA-alueen ulkopuolelle", "EU–US Data Privacy Framework",
            "Säilytysajat", "Potentiaalisten asiakkaiden yhteyshenkilöt", "24 kk",
            "Luovutukset muista rekistereistä", LIST_NAME, SUPPLIER, FILE_HASH,
            "oikeus tarkastaa", "Tietosuojavaltuutetun toimisto",
            "ei tehdä automaattista päätöksentekoa eikä profilointia",
            "Henkilön asema kohdeyrityksessä"]),
    ("en", ["Purposes of the processing", "Keeping the customer relationship",
            "Categories of personal data", "Mailchimp", "transfer outside the EU/EEA",
            "EU–US Data Privacy Framework", "Retention periods",
            "Contact persons of prospects", "24 months", "purchased lists", LIST_NAME,
            SUPPLIER, FILE_HASH, "right to access", "Data Protection Ombudsman",
            "No automated decision-making or profiling", "legitimate interest"]),
])
def test_html_export_gives_the_art15_information_in_each_language(session, seeded, lang,
                                                                  expected):
    html = render_access_export_html(build_access_export(session, seeded.contact_id,
                                                         lang=lang), lang)
    assert f'<html lang="{lang}">' in html
    text = _text(html)
    for item in expected:
        assert item in text, item
    for value in (PERSON["email"], PERSON["notes"], "Call with Xantippa"):
        assert value in text
    for value in OTHERS:
        assert value not in text.lower()
    assert "@media print" in html


def test_html_export_flags_a_privacy_shield_transfer(session, seeded):
    make_recipient(session, name="Vanha Analytiikka Inc", country="US",
                   transfer_safeguard=TransferSafeguard.privacy_shield)
    session.commit()
    html = render_access_export_html(build_access_export(session, seeded.contact_id), "en")
    flagged = re.search(r'data-recipient="Vanha Analytiikka Inc".*?</li>', html, re.S).group()
    assert 'data-flag="invalid-safeguard"' in flagged


def _ready_request(session, seeded) -> DataSubjectRequest:
    request = session.scalars(sa.select(DataSubjectRequest).where(
        DataSubjectRequest.contact_id == seeded.contact_id)).one()
    request.identity_verified_how = "Signed letter"
    request.identity_verified_at = utcnow()
    session.commit()
    return request


@pytest.mark.parametrize("fmt, mimetype, marker", [
    ("json", "application/json", '"format": "crm-access-export"'),
    ("html-fi", "text/html", "Tietosuojavaltuutetun toimisto"),
    ("html-en", "text/html", "Data Protection Ombudsman"),
])
def test_download_from_the_request_page_is_audited(session, seeded, login_as, fmt, mimetype,
                                                   marker):
    request = _ready_request(session, seeded)
    client = login_as("privacy")
    token = csrf_token(client, f"/datasubjectrequestview/show/{request.id}")
    response = client.post(f"/requests/{request.id}/export",
                           data={"csrf_token": token, "format": fmt})
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert marker in body and PERSON["email"] in body
    session.expire_all()
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert (event.object_type, event.object_id, event.actor) == (
        "Contact", str(seeded.contact_id), "privacy")
    assert event.detail == f"{fmt} request {request.id}"
    assert "contact" in event.fields and "activity" in event.fields
    # Identifiers and table names only, never a value.
    assert PERSON["email"].lower() not in json.dumps(
        [event.fields, event.detail, event.object_id]).lower()


def test_no_export_before_the_identity_is_verified(session, seeded, login_as):
    request = session.scalars(sa.select(DataSubjectRequest).where(
        DataSubjectRequest.contact_id == seeded.contact_id)).one()
    client = login_as("privacy")
    token = csrf_token(client, f"/datasubjectrequestview/show/{request.id}")
    response = client.post(f"/requests/{request.id}/export",
                           data={"csrf_token": token, "format": "json"})
    assert response.status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "export")) == 0


@pytest.mark.parametrize("user", ["dpo", "sales"])
def test_only_the_privacy_officer_downloads_exports(session, seeded, login_as, user):
    request = _ready_request(session, seeded)
    client = login_as(user)
    token = session_csrf_token(client)
    response = client.post(f"/requests/{request.id}/export",
                           data={"csrf_token": token, "format": "json"})
    assert response.status_code == 403
    assert PERSON["email"] not in response.get_data(as_text=True)


def test_cli_export_json_and_html(app, session, seeded):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "subject", "export", PERSON["email"].upper()])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["subject"]["contact_ids"] == [seeded.contact_id]
    result = runner.invoke(args=["crm", "subject", "export", PERSON["alt_email"], "--format",
                                 "html", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Data Protection Ombudsman" in result.output and PERSON["notes"] in result.output
    session.expire_all()
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")
                             .order_by(AuditEvent.id)).all()
    assert [(e.actor, e.object_id, e.detail) for e in events] == [
        ("cli", str(seeded.contact_id), "json"), ("cli", str(seeded.contact_id), "html-en")]


def test_cli_export_of_an_unknown_email_fails_clearly(app, session, seeded):
    result = app.test_cli_runner().invoke(
        args=["crm", "subject", "export", "nobody@nowhere.example"])
    assert result.exit_code == 1
    assert "no contact in the register has that email address" in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "export")) == 0


def test_export_of_two_contacts_of_one_person(session, seeded):
    from tests.factories import make_contact

    twin = make_contact(session, first_name="Xantippa", last_name="Qvistbergh",
                        email=PERSON["email"].lower())
    session.commit()
    export = build_access_export(session, [seeded.contact_id, twin.id])
    assert {c["id"] for c in export["records"]["contact"]} == {seeded.contact_id, twin.id}


def test_secrets_helper_matches_the_seeded_values(session, seeded):
    # The erasure tests rely on SECRETS naming values the seeding really stored.
    text = export_json(build_access_export(session, seeded.contact_id)).lower()
    assert all(secret in text for secret in SECRETS)


def test_download_covers_every_contact_of_the_person(session, seeded, login_as):
    from tests.factories import make_contact

    twin = make_contact(session, first_name="X.", last_name="Qvistbergh",
                        alt_email=PERSON["email"].upper())
    session.commit()
    request = _ready_request(session, seeded)
    client = login_as("privacy")
    token = session_csrf_token(client)
    data = json.loads(client.post(f"/requests/{request.id}/export", data={
        "csrf_token": token, "format": "json"}).get_data(as_text=True))
    assert data["subject"]["contact_ids"] == sorted([seeded.contact_id, twin.id])
    assert seeded.colleague_id not in data["subject"]["contact_ids"]


#: 11.43 UTC on 25 November is 13.43 on the register's clock (Europe/Helsinki, UTC+2).
LAST_ACTIVITY = datetime(2026, 11, 25, 11, 43, tzinfo=UTC)


def _coded(session, seeded):
    """Give the person values stored as codes, a time, and a source of our own activity."""
    contact = person(session, seeded)
    contact.marketing_status = MarketingStatus.unsubscribed
    contact.relationship_role = RelationshipRole.decision_maker
    contact.legal_basis = LegalBasis.contract
    contact.purposes = list(session.scalars(sa.select(Purpose).where(
        Purpose.code.in_(["customer_relationship", "new_business"]))))
    contact.last_activity_at = LAST_ACTIVITY
    session.add(Provenance(contact=contact, source=own_activity_source(session)))
    session.commit()


def _section(html: str, table: str) -> str:
    found = re.search(rf'<section data-table="{table}">(.*?)</section>', html, re.S)
    assert found, table
    return unescape(_text(found.group(1)))


@pytest.mark.parametrize("lang, shown, source", [
    ("fi", ["Perunut tilauksen", "Päättäjä", "Asiakassopimus", "Asiakassuhteen hoito",
            "Uusien asiakas- ja yhteistyösuhteiden luominen", "25.11.2026 13.43",
            "Verkkolomake", "Puhelu", "Tarkastuspyyntö", "Katsottu", "Tehtävänimike",
            "Käsittelyperuste", "Vastustanut suoramarkkinointia", "Toiminto",
            "Vastaanottotapa", "Lopputulos",
            "Ostettu lista", "5.2.2026"], "Oma toimintamme"),
    ("en", ["Unsubscribed", "Decision maker", "Customer contract",
            "Keeping the customer relationship",
            "Creating new customer and partner relationships", "25/11/2026 13:43",
            "Web form", "Call", "Access", "Viewed", "Title", "Purchased list", "05/02/2026"],
     "Our own activity"),
])
def test_html_export_reads_as_the_screens_do(session, seeded, lang, shown, source):
    _coded(session, seeded)
    export = build_access_export(session, seeded.contact_id, lang=lang)
    html = render_access_export_html(export, lang)
    text = unescape(_text(html))
    for label in shown:
        assert label in text, label
    # Not the stored codes, raw ids or UTC times.
    for code in ("unsubscribed", "decision_maker", "contract", "customer_relationship",
                 "new_business", "purchased_list", "form", "call", "access", "view"):
        assert not re.search(rf">\s*{code}\s*<", html), code
    for raw in ("organisation_id", "source_id", "contact_id", "purpose_id", "request_id",
                "name_fi", "name_en", "UTC", "T11:43"):
        assert raw not in text, raw
    # Ids point at names: the organisation and the sources by their names.
    contact = _section(html, "contact")
    assert "Qvist Corp Oy" in contact and LIST_NAME in contact
    assert source in _section(html, "provenance") and LIST_NAME in _section(html, "provenance")
    # A source named by its kind is named once ("Oma toimintamme", not twice over).
    sources = re.search(r'<ul id="sources">.*?</ul>', html, re.S).group()
    assert source in sources
    assert f"{source}: {source}" not in text and "Oma toimintamme: Oma" not in text
    # The JSON keeps the stored codes, ids and UTC times.
    stored = export["records"]["contact"][0]
    assert (stored["marketing_status"], stored["relationship_role"], stored["legal_basis"]) \
        == ("unsubscribed", "decision_maker", "contract")
    assert stored["source_id"] and stored["organisation_id"] == seeded.organisation_id
    assert datetime.fromisoformat(stored["last_activity_at"]) == LAST_ACTIVITY


@pytest.mark.parametrize("lang, role", [("fi", "Myynti"), ("en", "Sales")])
def test_html_export_names_staff_by_their_role_in_its_language(session, seeded, lang, role):
    export = build_access_export(session, seeded.contact_id, lang=lang)
    assert [a["author"] for a in export["records"]["activity"]] == ["Sales"]  # JSON: stored
    assert role in _section(render_access_export_html(export, lang), "activity")


#: Columns naming a member of staff by role, which the person reads in their language.
STAFF_ROLES = {"fi": {"Sales": "Myynti", "Privacy": "Tietosuoja"},
               "en": {"Sales": "Sales", "Privacy": "Privacy"}}
STAFF = {"author", "handled_by", "identity_verified_by", "changed_by", "actor", "received_by"}


def _readable(value, column, lang: str) -> str | None:
    """What the person should read for a stored value: computed here, not by the export."""
    from flask_babel import force_locale

    kind = column.type if column is not None else None
    kind = getattr(kind, "impl", kind)  # AwareDateTime: a DateTime underneath
    if isinstance(value, bool) or value is None or value == "":
        return None
    if column is not None and column.name in ("phone", "mobile", "requester_phone"):
        return GROUPED[value]
    if column is not None and column.name == "country":
        return COUNTRIES[lang][value]
    if getattr(kind, "enum_class", None) is not None:
        with force_locale(lang):
            return str(kind.enum_class(value).label)
    if isinstance(kind, sa.DateTime):
        local = datetime.fromisoformat(value).astimezone(ZoneInfo("Europe/Helsinki"))
        return local.strftime("%-d.%-m.%Y %-H.%M" if lang == "fi" else "%d/%m/%Y %H:%M")
    if isinstance(kind, sa.Date):
        return date.fromisoformat(value).strftime("%-d.%-m.%Y" if lang == "fi"
                                                  else "%d/%m/%Y")
    if isinstance(value, list | dict):
        return None
    return str(value)


#: Columns that only point at another row: the tests above check they are named instead.
POINTERS = {"contact_id", "organisation_id", "source_id", "purpose_id", "request_id",
            "name_fi", "name_en", "purpose", "purposes", "field", "action", "object_type"}


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_html_export_keeps_every_value_of_every_table(session, seeded, lang):
    _coded(session, seeded)
    export = build_access_export(session, seeded.contact_id, lang=lang)
    html = render_access_export_html(export, lang)
    tables = Model.metadata.tables
    checked = 0
    for name, rows in export["records"].items():
        assert rows, f"{name}: the seeding left it empty"
        section = _section(html, name)
        for row in rows:
            for key, value in row.items():
                column = tables[name].c.get(key) if name in tables else None
                expected = (None if key in POINTERS
                            else STAFF_ROLES[lang].get(value, value) if key in STAFF
                            else _readable(value, column, lang))
                if expected is not None:
                    assert expected in section, (name, key, expected)
                    checked += 1
    assert checked > 100
    for value in (*SECRETS, FILE_HASH, "aaaaaaaa"):
        value = GROUPED.get(f"+{value}", value)  # a phone number: as people write it
        assert value.lower() in html.lower(), value


def test_html_export_of_several_contacts_says_whose_row_it_is(session, seeded):
    from tests.factories import make_contact

    twin = make_contact(session, first_name="Xantippa", last_name="Qvistbergh",
                        email=PERSON["email"].lower())
    session.commit()
    html = render_access_export_html(
        build_access_export(session, [seeded.contact_id, twin.id], lang="fi"), "fi")
    assert "Yhteystietojen tunnus" in _section(html, "identifier")


@pytest.mark.parametrize("lang, shown", [
    ("fi", ["1 osuma", "Yhteyshenkilö, Aihe"]),
    ("en", ["1 match", "Contact, Subject"]),
])
def test_the_exports_log_reads_its_events_details_and_fields(session, seeded, lang, shown):
    session.add(AuditEvent(action="find", actor="privacy", object_type="Contact",
                           object_id=str(seeded.contact_id), detail="matches 1"))
    session.add(AuditEvent(action="update", actor="sales", object_type="Contact",
                           object_id=str(seeded.contact_id), fields=["contact", "subject"]))
    session.commit()
    html = render_access_export_html(build_access_export(session, seeded.contact_id,
                                                         lang=lang), lang)
    log = _section(html, "audit_event")
    for words in shown:
        assert words in log, words
    # Not the stored detail or field names.
    assert "matches" not in log and not re.search(r"\bcontact\b", log)


#: The person's numbers as they are stored (E.164) and as people write them.
GROUPED = {PERSON["phone"]: "+358 40 1237781", PERSON["mobile"]: "+358 45 7651129",
           "+14155550134": "+1 415-555-0134"}
COUNTRIES = {"fi": {"FI": "Suomi", "SE": "Ruotsi", "US": "Yhdysvallat"},
             "en": {"FI": "Finland", "SE": "Sweden", "US": "United States"}}


def _phoned_and_moved(session, seeded) -> None:
    """Give the person's request a phone, and a history of a new number and a move."""
    from crm.models import ContactChange

    request = session.scalars(sa.select(DataSubjectRequest).where(
        DataSubjectRequest.contact_id == seeded.contact_id)).one()
    request.requester_phone = PERSON["phone"]
    session.add_all([
        ContactChange(contact_id=seeded.contact_id, field="phone", old_value="+14155550134",
                      new_value=PERSON["phone"], changed_by="privacy"),
        ContactChange(contact_id=seeded.contact_id, field="country", old_value="SE",
                      new_value="FI", changed_by="privacy")])
    session.commit()


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_html_export_writes_numbers_and_countries_as_people_do(session, seeded, lang):
    _phoned_and_moved(session, seeded)
    export = build_access_export(session, seeded.contact_id, lang=lang)
    html = render_access_export_html(export, lang)
    names = COUNTRIES[lang]
    contact = _section(html, "contact")
    assert GROUPED[PERSON["phone"]] in contact and GROUPED[PERSON["mobile"]] in contact
    assert names["FI"] in contact
    assert GROUPED[PERSON["mobile"]] in _section(html, "callback_request")
    assert GROUPED[PERSON["phone"]] in _section(html, "data_subject_request")
    history = _section(html, "contact_change")
    for shown in (GROUPED["+14155550134"], GROUPED[PERSON["phone"]], names["SE"],
                  names["FI"]):
        assert shown in history, shown
    # The recipients: Mailchimp's country by its name in the export's language.
    mailchimp = unescape(_text(re.search(r'data-recipient="Mailchimp".*?</li>', html,
                                         re.S).group()))
    assert f", {names['US']}:" in mailchimp and "US" not in mailchimp.replace("EU–US", "")
    # Not the stored forms anywhere in what the person reads.
    text = unescape(_text(html))
    for stored in GROUPED:
        assert stored not in text, stored
    for code in names:
        assert not re.search(rf">\s*{code}\s*<", html), code


def test_json_export_keeps_numbers_in_e164_and_countries_as_codes(session, seeded):
    _phoned_and_moved(session, seeded)
    export = json.loads(export_json(build_access_export(session, seeded.contact_id,
                                                        lang="fi")))
    contact = export["records"]["contact"][0]
    assert (contact["phone"], contact["mobile"], contact["country"]) == (
        PERSON["phone"], PERSON["mobile"], "FI")
    assert {(c["field"], c["old_value"]) for c in export["records"]["contact_change"]} >= {
        ("phone", "+14155550134"), ("country", "SE")}
    assert {r["country"] for r in export["information"]["recipients"]} == {"US"}


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_html_export_labels_every_column(session, seeded, lang):
    html = render_access_export_html(build_access_export(session, seeded.contact_id,
                                                         lang=lang), lang)
    labels = re.findall(r"<th>([^<]*)</th>", html)
    assert labels
    # A column with no label would show its own name ("consent_version").
    assert [label for label in labels if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", label)] == []


@pytest.mark.parametrize("lang, shown, not_shown", [
    ("fi", ["Henkilöllisyyden varmistustapa", "Henkilöllisyyden varmistaja (rooli)",
            "Antotapa", "14 artiklan ilmoitus viimeistään", "14 artiklan ilmoitus lähetetty"],
     ["Tapa", "Ilmoitettu", "Varmistaja (rooli)"]),
    ("en", ["Identity verified how", "Identity verified by (role)", "Given how",
            "Art. 14 notice due", "Art. 14 notice sent"], []),
])
def test_html_export_names_columns_as_the_screens_do(session, seeded, lang, shown,
                                                     not_shown):
    html = render_access_export_html(build_access_export(session, seeded.contact_id,
                                                         lang=lang), lang)
    labels = set(re.findall(r"<th>([^<]*)</th>", html))
    for label in shown:
        assert label in labels, label
    for label in not_shown:
        assert label not in labels, label


def _today_on_the_registers_clock() -> str:
    return datetime.now(ZoneInfo("Europe/Helsinki")).date().isoformat()


@pytest.mark.parametrize("fmt, name", [
    ("html-fi", "tietopyynto-{id}-{day}-fi.html"),
    ("html-en", "tietopyynto-{id}-{day}-en.html"),
    ("json", "tietopyynto-{id}-{day}.json"),
])
def test_the_downloads_are_named_alike_with_the_request_day_and_language(session, seeded,
                                                                        login_as, fmt, name):
    """One scheme for the three files, in ASCII: the request's number, the day, and the
    printable one's language."""
    from werkzeug.http import parse_options_header

    request = _ready_request(session, seeded)
    client = login_as("privacy")
    token = csrf_token(client, f"/datasubjectrequestview/show/{request.id}")
    before = _today_on_the_registers_clock()
    response = client.post(f"/requests/{request.id}/export",
                           data={"csrf_token": token, "format": fmt})
    days = {before, _today_on_the_registers_clock()}
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    assert header.isascii()
    disposition, options = parse_options_header(header)
    assert disposition == "attachment"
    assert options["filename"] in {name.format(id=request.id, day=day) for day in days}


@pytest.mark.parametrize("lang, system, both, detail", [
    ("fi", "Järjestelmä", "Tietosuoja, Myynti", None),
    ("en", "System", "Privacy, Sales", "As HTML in Finnish, request #4"),
])
def test_the_exports_log_names_the_system_and_every_role_in_its_language(
        session, seeded, lang, system, both, detail):
    from flask_appbuilder.security.sqla.models import Role, User

    # A member of staff with two roles wrote the note; the command line made an export.
    sales = session.scalar(sa.select(User).where(User.username == "sales"))
    sales.roles.append(session.scalar(sa.select(Role).where(Role.name == "Privacy")))
    session.add(AuditEvent(action="export", actor="cli", object_type="Contact",
                           object_id=str(seeded.contact_id), detail="html-fi request 4",
                           fields=["contact"]))
    session.commit()
    export = build_access_export(session, seeded.contact_id, lang=lang)
    html = render_access_export_html(export, lang)
    assert both in _section(html, "activity")
    log = _section(html, "audit_event")
    assert system in log and "system" not in log
    assert "html-fi" not in log
    if detail:
        assert detail in log
    # The JSON keeps the stored words.
    assert "system" in {e["actor"] for e in export["records"]["audit_event"]}
