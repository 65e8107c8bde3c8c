"""Marketing imports a purchased list in a real browser: upload, map, dry run, import.

The list is what Finnish Excel saves as CSV: Windows-1252, semicolons, Finnish headers
with ä and ö. Playwright drives Debian's Chromium against `live_server`; selectors use
ids and names, never label texts (the UI is in Finnish by default).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import Contact, Provenance, Source, SourceKind
from crm.views.imports import upload_folder
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

LIST_NAME = "Messukävijät syksy"
SUPPLIER = "Listatoimittaja Oy"
RECEIVED = "2026-10-15"
# "Työsähköposti" is not a header the import knows: it is mapped by hand.
GOOD = ("Etunimi;Sukunimi;Tehtävänimike;Työsähköposti;Puhelin;Yrityksen nimi\r\n"
        "Äijä;Kokeilulista;Myyntipäällikkö;aija.kokeilulista@lista.example;050 000 1001;"
        "Kokeilu Oy\r\n"
        "Öljynen;Kokeilulista;Ostaja;oljynen.kokeilulista@lista.example;;Kokeilu Oy\r\n"
        "Sölve;Kokeilulista;;solve.kokeilulista@lista.example;040 000 1002;Toinen Kokeilu Oy\r\n"
        ).encode("cp1252")
GOOD_NAMES = {"Äijä", "Öljynen", "Sölve"}
BAD = ("Etunimi;Sukunimi;Sähköposti\r\n"
       "Väinö;Virhelista;vaino.virhelista@lista.example\r\n"
       "Hölö;Virhelista;ei-sähköpostiosoite\r\n").encode("cp1252")


def csv_file(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": data}


def stored(session, model) -> list:
    """Read rows from the database as the live server left them."""
    session.expire_all()
    return list(session.scalars(sa.select(model)))


def purchased_lists(session) -> list[Source]:
    session.expire_all()
    return list(session.scalars(sa.select(Source)
                                .where(Source.kind == SourceKind.purchased_list)))


def upload(page: Page, data: bytes, name: str) -> None:
    page.goto("/imports/")
    form = page.locator("form#import-upload")
    form.locator("input#name").fill(name)
    form.locator("input#supplier").fill(SUPPLIER)
    form.locator("input#received_on").fill(RECEIVED)
    choose_and_send(page, data)


def choose_and_send(page: Page, data: bytes) -> None:
    form = page.locator("form#import-upload")
    form.locator("input#file").set_input_files(csv_file("ostolista.csv", data))
    form.locator("#import-upload-submit").click()
    page.wait_for_load_state()


def count(page: Page, key: str):
    return page.locator(f'table.crm-import-counts tr[data-count="{key}"] td')


def test_marketing_checks_a_finnish_excel_list_then_imports_it(page: Page, session,
                                                              screenshot_dir):
    waiting_before = set(upload_folder().iterdir())
    sign_in(page, "marketing")
    upload(page, GOOD, LIST_NAME)
    expect(page).to_have_url(re.compile(r"/imports/mapping$"))

    # The mapping: Excel's Finnish headers were read as Windows-1252, ä and ö intact, and
    # the known ones are chosen already; the work email is mapped by hand.
    expect(page.locator("select#map_first_name")).to_have_value("Etunimi")
    expect(page.locator("select#map_title")).to_have_value("Tehtävänimike")
    expect(page.locator("select#map_organisation")).to_have_value("Yrityksen nimi")
    expect(page.locator("select#map_email")).to_have_value("")
    # Beside each header, its first values: the unknown column holds the work emails.
    work_email = page.locator('table.crm-import-columns tr[data-column="3"]')
    expect(work_email.locator("th")).to_have_text("Työsähköposti")
    expect(work_email.locator(".crm-import-sample")).to_have_text(
        ["aija.kokeilulista@lista.example", "oljynen.kokeilulista@lista.example",
         "solve.kokeilulista@lista.example"])
    # The separator is named in words, not shown as a bare character.
    expect(page.locator("h1 + p")).to_contain_text("puolipiste")
    expect(page.locator("h1 + p")).not_to_contain_text("“;”")
    page.locator("select#map_email").select_option("Työsähköposti")
    page.screenshot(path=screenshot_dir / "import-mapping.png", full_page=True)

    # The dry run says what would happen and stores nothing.
    page.locator("#import-check").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/imports/check$"))
    expect(count(page, "lines")).to_have_text("3")
    expect(count(page, "new")).to_have_text("3")
    expect(count(page, "invalid")).to_have_text("0")
    expect(count(page, "organisations_new")).to_have_text("2")
    expect(page.locator("#import-has-errors")).to_have_count(0)
    expect(page.locator("#import-run")).to_be_visible()
    page.screenshot(path=screenshot_dir / "import-check.png", full_page=True)
    assert stored(session, Contact) == [], "the dry run stored contacts"
    assert purchased_lists(session) == [], "the dry run stored the list"

    # The import.
    page.locator("#import-run").click()
    page.wait_for_load_state()
    expect(page.locator("#import-done")).to_be_visible()
    expect(count(page, "new")).to_have_text("3")
    page.screenshot(path=screenshot_dir / "import-done.png", full_page=True)

    sources = purchased_lists(session)
    assert [(s.kind, s.name, s.supplier, s.received_on.isoformat(), s.row_count)
            for s in sources] == [(SourceKind.purchased_list, LIST_NAME, SUPPLIER, RECEIVED, 3)]
    source = sources[0]
    people = stored(session, Contact)
    assert {c.first_name for c in people} == GOOD_NAMES
    aija = next(c for c in people if c.first_name == "Äijä")
    assert (aija.last_name, aija.title, aija.email, aija.phone) == (
        "Kokeilulista", "Myyntipäällikkö", "aija.kokeilulista@lista.example", "+358500001001")
    assert aija.organisation.name == "Kokeilu Oy"
    # The list is each new contact's source, and its provenance owes the Art. 14 notice.
    assert {c.source_id for c in people} == {source.id}
    provenance = stored(session, Provenance)
    assert sorted((p.contact_id, p.source_id) for p in provenance) == sorted(
        (c.id, source.id) for c in people)
    assert all(p.art14_due_on is not None and p.art14_notified_at is None for p in provenance)
    assert set(upload_folder().iterdir()) == waiting_before, "the uploaded file was kept"

    # The history lists it, imported by marketing.
    page.goto("/imports/")
    row = page.locator(f'table.crm-import-history tr[data-source="{source.id}"]')
    expect(row).to_contain_text(LIST_NAME)
    # Who imported it, as the users screen names people.
    expect(row).to_contain_text("Matti Markkinoija (marketing)")
    page.screenshot(path=screenshot_dir / "import-history.png", full_page=True)


def test_a_bad_email_is_shown_by_line_and_field_and_nothing_is_stored(page: Page, session,
                                                                     screenshot_dir):
    sign_in(page, "marketing")
    # First Excel's "Unicode text" (UTF-16) by mistake: refused before the mapping, the
    # details typed are kept and only the file is chosen again.
    upload(page, "Etunimi;Sukunimi;Sähköposti\r\n".encode("utf-16"), "Virheellinen lista")
    expect(page.locator(".alert-danger")).to_have_count(1)
    expect(page.locator("form#import-upload input#name")).to_have_value("Virheellinen lista")
    expect(page.locator("form#import-upload input#supplier")).to_have_value(SUPPLIER)
    # The date comes back as the page writes dates: 15.10.2026 for 2026-10-15.
    expect(page.locator("form#import-upload input#received_on")).to_have_value("15.10.2026")
    page.screenshot(path=screenshot_dir / "import-not-csv.png", full_page=True)
    choose_and_send(page, BAD)
    expect(page).to_have_url(re.compile(r"/imports/mapping$"))
    expect(page.locator("#import-mapping-problem")).to_have_count(0)
    expect(page.locator("select#map_email")).to_have_value("Sähköposti")
    page.locator("#import-check").click()
    page.wait_for_load_state()

    # The error names line 3 (the header is line 1) and the email field, not the value.
    expect(page.locator("#import-has-errors")).to_be_visible()
    errors = page.locator("ul.crm-import-errors li")
    expect(errors).to_have_count(1)
    error = errors.first
    expect(error).to_have_attribute("data-line", "3")
    expect(error).to_have_attribute("data-field", "email")
    expect(error).to_contain_text("3")
    expect(error).not_to_contain_text("ei-sähköpostiosoite")
    expect(count(page, "invalid")).to_have_text("1")
    # The whole list cannot be imported: only its valid lines, if asked.
    expect(page.locator("#import-run")).to_have_count(0)
    expect(page.locator("#import-run-valid")).to_be_visible()
    page.screenshot(path=screenshot_dir / "import-bad-line.png", full_page=True)
    assert stored(session, Contact) == [] and purchased_lists(session) == []

    # Cancelled: the file is gone, and still nothing was stored.
    page.locator("form.crm-import-cancel button[type=submit]").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/imports/$"))
    expect(page.locator("table.crm-import-history tr[data-source]")).to_have_count(0)
    assert stored(session, Contact) == [] and purchased_lists(session) == []


LINES = ("Etunimi;Sukunimi;Sähköposti;Puhelin\r\n"
         "Riina;Rivikoe;riina.rivikoe@lista.example;040 000 2001\r\n"  # 2: merged
         "Raili;Rivikoe;raili.rivikoe@lista.example;\r\n"  # 3: new
         "Raili;Rivikoe;raili.rivikoe@lista.example;\r\n"  # 4: a duplicate
         ).encode("cp1252")


def test_the_check_and_the_history_say_which_lines_were_what(page: Page, session,
                                                             screenshot_dir):
    from tests.factories import make_contact

    # Riina is in the register with another phone number: the merge keeps that one.
    make_contact(session, first_name="Riina", last_name="Rivikoe", phone="+358409990000",
                 email="riina.rivikoe@lista.example")
    session.commit()
    sign_in(page, "marketing")
    upload(page, LINES, "Rivikoelista")
    page.locator("#import-check").click()
    page.wait_for_load_state()
    expect(count(page, "duplicate")).to_have_text("1")
    expect(page.locator('tr[data-lines="duplicate"]')).to_have_text("rivi 4")
    expect(page.locator('tr[data-lines="merged"]')).to_have_text("rivi 2")
    expect(page.locator("#import-not-taken")).to_be_visible()
    expect(page.locator('ul.crm-import-not-taken li[data-field="phone"]')).to_have_text(
        "Puhelin: 1 (rivi 2)")
    page.screenshot(path=screenshot_dir / "import-check-lines.png", full_page=True)

    page.locator("#import-run").click()
    page.wait_for_load_state()
    expect(page.locator("#import-done")).to_be_visible()
    expect(page.locator('tr[data-lines="duplicate"]')).to_have_text("rivi 4")
    expect(page.locator('ul.crm-import-not-taken li[data-field="phone"]')).to_have_text(
        "Puhelin: 1 (rivi 2)")
    riina = next(c for c in stored(session, Contact) if c.first_name == "Riina")
    assert riina.phone == "+358409990000"

    page.goto("/imports/")
    source = purchased_lists(session)[0]
    row = page.locator(f'table.crm-import-history tr[data-source="{source.id}"]')
    expect(row.locator('td[data-count="duplicate"]')).to_have_text("1")
    expect(row.locator('td[data-count="invalid"]')).to_have_text("0")
    expect(row).to_contain_text("Matti Markkinoija (marketing)")
    page.screenshot(path=screenshot_dir / "import-history-apart.png", full_page=True)
