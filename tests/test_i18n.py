"""The UI speaks Finnish by default and English on request; every string is translated.

The Finnish catalog (crm/translations/fi) holds the CRM's own strings and those of
Flask-AppBuilder's screens: Flask-Babel has one "messages" domain, FAB ships no
Finnish, and our translation directory is read after FAB's. The catalog tests fail
when a string is added without a Finnish translation: run scripts/translations.sh.
"""

from __future__ import annotations

import ast
import html
import inspect
import os
import re
import textwrap
from io import StringIO
from pathlib import Path

import flask_appbuilder
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_appbuilder import AppBuilder

from crm.views.locale import CrmAppBuilder, CrmLocaleView
from tests.conftest import csrf_token
from tests.factories import make_contact

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "crm" / "translations"
CRM_POT = TRANSLATIONS / "messages.pot"
FAB_POT = TRANSLATIONS / "fab.pot"
FI_PO = TRANSLATIONS / "fi" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
FAB_KEYWORDS = {**KEYWORDS, "lazy_formatter_gettext": None}
#: printf-style placeholders, named or not (`%%` is a literal percent sign).
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]")

CONTACT_LIST = "/contactview/list/"
CONTACT_ADD = "/contactview/add"


def _catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _msgids(path: Path) -> list[str]:
    """The catalog's message ids; a plural message by its singular, as Babel keys it."""
    return [m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(path) if m.id]


def _forms(value) -> tuple[str, ...]:
    """A message's id or translation as a tuple of its forms (one, or one per plural)."""
    return (value,) if isinstance(value, str) else tuple(value)


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, f"GET {path} answered {response.status_code}"
    return response.get_data(as_text=True)


def _switch(client, locale: str) -> None:
    response = client.get(f"/lang/{locale}")
    assert response.status_code == 302


def _add_contact_form(client, **values) -> str:
    data = {"csrf_token": csrf_token(client, CONTACT_ADD), "first_name": "Ilona",
            "last_name": "Esimerkki", "country": "FI", "language": "fi",
            "legal_basis": "position", "marketing_status": "never"}
    data.update(values)
    response = client.post(CONTACT_ADD, data=data)
    assert response.status_code == 200, "the invalid form should be shown again"
    return response.get_data(as_text=True)


# -- the screens ------------------------------------------------------------


def test_contact_list_is_finnish_by_default(session, login_as):
    make_contact(session, first_name="Ilona", last_name="Esimerkki")
    session.commit()
    page = _page(login_as("sales"), CONTACT_LIST)
    # The CRM's own labels: the list title, the menu category and a column.
    assert "Yhteyshenkilöt" in page
    assert "Rekisteri" in page
    assert "Sukunimi" in page
    # Flask-AppBuilder's own strings.
    for finnish in ("Lisää suodatin", "Tietueita", "Näytä tietue", "Muokkaa tietuetta",
                    "Lisää uusi tietue", "Kirjaudu ulos", "Profiili", '"Alkaa"'):
        assert finnish in page, finnish
    assert re.search(r'<button type="submit" class="btn btn-primary">\s*Hae\s*</button>', page)
    for english in ("Add Filter", "Record Count", "Last name", "Logout", ">Contacts<",
                    "Starts with"):
        assert english not in page, english


def test_contact_list_is_english_after_switching(session, login_as):
    make_contact(session, first_name="Ilona", last_name="Esimerkki")
    session.commit()
    client = login_as("sales")
    _switch(client, "en")
    page = _page(client, CONTACT_LIST)
    for english in ("Contacts", "Register", "Last name", "Add Filter", "Record Count",
                    "Show record", "Logout", '"Starts with"'):
        assert english in page, english
    assert re.search(r'<button type="submit" class="btn btn-primary">\s*Search\s*</button>', page)
    for finnish in ("Yhteyshenkilöt", "Sukunimi", "Lisää suodatin", "Kirjaudu ulos"):
        assert finnish not in page, finnish
    # And back.
    _switch(client, "fi")
    assert "Yhteyshenkilöt" in _page(client, CONTACT_LIST)


def _search_labels(page: str) -> tuple[str, str, str]:
    """The quick search button, the filter panel's title and the filter button."""
    quick = re.search(r'class="form-inline crm-quick-search".*?<button type="submit"[^>]*>'
                      r'\s*([^<]*?)\s*</button>', page, re.S)
    panel = re.search(r'class="accordion-toggle"[^>]*>\s*([^<]*?)\s*<', page)
    apply = re.search(r'<form id="filter_form".*?<button type="submit"[^>]*>\s*([^<]*?)\s*<',
                      page, re.S)
    return quick.group(1), panel.group(1), apply.group(1)


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_the_search_box_and_the_filters_have_labels_of_their_own(session, login_as, locale):
    client = login_as("sales")
    _switch(client, locale)
    labels = _search_labels(_page(client, CONTACT_LIST))
    assert len(set(labels)) == 3, labels  # not "Hae" three times
    if locale == "en":
        assert labels == ("Search", "Filters", "Apply filters")
    # The other lists (no quick search box) name their filters the same way.
    page = _page(client, "/callbackrequestview/list/")
    assert "crm-quick-search" not in page
    panel = re.search(r'class="accordion-toggle"[^>]*>\s*([^<]*?)\s*<', page).group(1)
    assert panel == labels[1]


def test_home_page_is_finnish(login_as):
    page = _page(login_as("sales"), "/")
    assert "Tervetuloa, Sanna" in page
    assert "Avoimet soittopyynnöt" in page
    assert "Tietosuojaseloste" in page


def test_login_page_is_finnish_then_english(client):
    page = _page(client, "/login/")
    for finnish in ("Kirjaudu sisään", "Käyttäjätunnus", "Salasana"):
        assert finnish in page, finnish
    assert "Username" not in page
    _switch(client, "en")
    page = _page(client, "/login/")
    for english in ("Sign In", "Username", "Password"):
        assert english in page, english
    assert "Käyttäjätunnus" not in page


def test_failed_login_message_is_finnish(client):
    token = csrf_token(client, "/login/")
    response = client.post("/login/", data={"username": "sales", "password": "wrong",
                                             "csrf_token": token}, follow_redirects=True)
    assert "Kirjautuminen epäonnistui. Yritä uudelleen." in response.get_data(as_text=True)


def test_validation_messages_are_finnish_by_default(login_as):
    client = login_as("sales")
    page = _add_contact_form(client, first_name="", phone="12")
    assert "Tämä ei ole kelvollinen puhelinnumero." in page
    # "This field is required." is translated in the CRM's catalog (as FAB's message),
    # which WTForms' messages are looked up in before WTForms' own (crm.forms).
    assert "Tämä kenttä on pakollinen." in page
    assert "This field is required." not in page
    assert "Lisää yhteyshenkilö" in page


def test_validation_messages_are_english_after_switching(login_as):
    client = login_as("sales")
    _switch(client, "en")
    page = _add_contact_form(client, first_name="", phone="12")
    assert "This is not a valid phone number." in page
    assert "This field is required." in page
    assert "pakollinen." not in page


# -- the language menu ----------------------------------------------------------

FILTERED_LIST = "/contactview/list/?_flt_2_last_name=Esimerkki"


def _language_link(page: str, locale: str) -> str:
    links = re.findall(rf'href="(/lang/{locale}\?[^"]*)"', page)
    assert len(links) == 1, f"expected one link to {locale} in the language menu: {links}"
    return html.unescape(links[0])


def test_switching_language_stays_on_the_page_in_the_other_language(session, login_as):
    make_contact(session, first_name="Ilona", last_name="Esimerkki")
    make_contact(session, first_name="Otto", last_name="Muukalainen")
    session.commit()
    client = login_as("sales")
    response = client.get(_language_link(_page(client, FILTERED_LIST), "en"))
    assert response.status_code == 302
    assert response.headers["Location"] == FILTERED_LIST
    page = _page(client, response.headers["Location"])
    assert "Last name" in page and "Sukunimi" not in page
    assert "Esimerkki" in page and "Muukalainen" not in page  # still filtered
    # The choice is kept in the session for the pages after it, and works both ways.
    assert "Lisää suodatin" not in _page(client, "/organisationview/list/")
    response = client.get(_language_link(page, "fi"))
    assert response.headers["Location"] == FILTERED_LIST
    assert "Sukunimi" in _page(client, FILTERED_LIST)


@pytest.mark.parametrize("target", [
    "https://evil.example/contactview/list/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\r\nSet-Cookie: x=1",
    "javascript:alert(1)",
    "http:/evil.example",
    "evil.example/contactview/list/",
    "",
])
def test_switching_language_goes_home_rather_than_to_another_site(login_as, target):
    client = login_as("sales")
    response = client.get("/lang/fi", query_string={"next": CONTACT_LIST})
    assert response.headers["Location"] == CONTACT_LIST  # a page of the CRM: back to it
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Welcome" in _page(client, "/")  # switched all the same


def test_an_unknown_language_is_not_found(login_as):
    client = login_as("sales")
    assert client.get("/lang/xx?next=/contactview/list/").status_code == 404
    assert "Tervetuloa" in _page(client, "/")


def test_the_crm_registers_what_fab_does_but_its_own_language_switch(app):
    """CrmAppBuilder mirrors FAB's `_add_admin_views` but for the language switch:
    this fails when an upgrade of Flask-AppBuilder changes what that method does."""
    source = textwrap.dedent(inspect.getsource(AppBuilder._add_admin_views))
    calls = sorted(ast.unparse(node.func) for node in ast.walk(ast.parse(source))
                   if isinstance(node, ast.Call))
    assert calls == ["self.add_view_no_menu", "self.add_view_no_menu",
                     "self.bm.register_views", "self.menuapi_manager.register_views",
                     "self.openapi_manager.register_views", "self.sm.register_views"]
    assert isinstance(app.appbuilder, CrmAppBuilder)
    assert "CrmLocaleView" in app.blueprints and "LocaleView" not in app.blueprints
    assert app.appbuilder.bm.locale_view.__class__ is CrmLocaleView


# -- the catalogs -------------------------------------------------------------


def test_every_string_has_a_finnish_translation():
    fi = _catalog(FI_PO)
    problems = []
    for template in (CRM_POT, FAB_POT):
        for msgid in _msgids(template):
            message = fi.get(msgid)
            if message is None or not all(_forms(message.string)):
                problems.append(f"untranslated: {msgid!r}")
            elif message.fuzzy:
                problems.append(f"fuzzy: {msgid!r}")
    assert not problems, "run scripts/translations.sh and translate:\n" + "\n".join(problems)


def test_no_finnish_entry_is_fuzzy_or_obsolete():
    fi = _catalog(FI_PO)
    assert not [m.id for m in fi if m.id and m.fuzzy]
    assert not list(fi.obsolete), "obsolete entries: was messages.pot updated without fab.pot?"


def test_finnish_translations_keep_their_placeholders():
    # Each form keeps the placeholders of its id (a plural's forms those of the plural).
    wrong = [m.id for m in _catalog(FI_PO) if m.id and m.string
             for form in _forms(m.string)
             if sorted(PLACEHOLDER.findall(_forms(m.id)[-1])) != sorted(PLACEHOLDER.findall(form))]
    assert not wrong


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_compiled_catalogs_match_their_sources(locale):
    """The committed .mo files are compiled from the current .po files."""
    po_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"run `scripts/translations.sh compile` ({mo_path} is missing)"
    expected = {_forms(m.id): _forms(m.string) for m in _catalog(po_path)
                if m.id and all(_forms(m.string)) and not m.fuzzy}
    with mo_path.open("rb") as f:
        compiled = {_forms(m.id): _forms(m.string) for m in read_mo(f) if m.id}
    assert compiled == expected, "run `scripts/translations.sh compile`"


def _extract(dirname: Path, mapping: str, keywords) -> set[str]:
    method_map, options_map = parse_mapping_cfg(StringIO(mapping))
    return {msgid if isinstance(msgid, str) else msgid[0]
            for _file, _line, msgid, _comments, _context
            in extract_from_dir(str(dirname), method_map, options_map, keywords=keywords)}


def test_crm_template_is_up_to_date_with_the_source():
    """A string added to crm/ but not extracted yet fails here (and so is never missed)."""
    found = _extract(ROOT, (ROOT / "babel.cfg").read_text(), KEYWORDS)
    assert "Contacts" in found
    missing = sorted(found - set(_msgids(CRM_POT)))
    assert not missing, "run scripts/translations.sh and translate: " + repr(missing)


def test_fab_template_is_up_to_date_with_the_installed_flask_appbuilder():
    fab_dir = Path(os.path.dirname(flask_appbuilder.__file__))
    mapping = "[python: **.py]\n[jinja2: templates/**.html]\nextensions = jinja2.ext.i18n\n"
    found = _extract(fab_dir, mapping, FAB_KEYWORDS)
    assert "Add Filter" in found
    missing = sorted(found - set(_msgids(FAB_POT)))
    assert not missing, "Flask-AppBuilder changed: run scripts/translations.sh: " + repr(missing)


def test_home_page_dates_are_as_the_reader_writes_them_on_the_registers_day(login_as,
                                                                            session):
    """Sales see a callback left at 01:30 in Helsinki (23:30 UTC the day before) under
    that Helsinki day, written as Finns write dates, and in English as the British do."""
    from datetime import UTC, datetime

    from tests.factories import make_callback_request

    make_callback_request(session, name="Myöhäinen Soittaja",
                          received_at=datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    session.commit()
    client = login_as("sales")
    page = _page(client, "/")
    row = re.search(r"Myöhäinen Soittaja</a>\s*<span[^>]*>([^<]*)</span>", page)
    assert row and row.group(1) == "25.11.2026", page
    assert "2026-11-2" not in page
    _switch(client, "en")
    row = re.search(r"Myöhäinen Soittaja</a>\s*<span[^>]*>([^<]*)</span>", _page(client, "/"))
    assert row and row.group(1) == "25/11/2026"  # British, not the US 11/25/26


def test_home_page_names_job_runs_by_their_titles_at_local_time(login_as, session):
    """The privacy officer's latest runs read "Säilytysaikojen toteutus: Onnistui" at
    Helsinki time, not the job's internal name and an ISO time in UTC."""
    from datetime import UTC, datetime

    from crm.models import JobRun, JobStatus

    session.add(JobRun(job="retention", status=JobStatus.succeeded, trigger="schedule",
                       started_at=datetime(2026, 11, 24, 23, 30, tzinfo=UTC)))
    session.commit()
    page = _page(login_as("privacy"), "/")
    row = re.search(r"Säilytysaikojen toteutus: Onnistui</a>\s*<span[^>]*>([^<]*)</span>", page)
    assert row and row.group(1) == "25.11.2026 1.30", page
    assert "retention:" not in page


def test_the_applications_name_is_in_the_readers_language(login_as):
    client = login_as("sales")
    assert "Yhteystietorekisteri" in _page(client, "/")
    _switch(client, "en")
    page = _page(client, "/")
    assert "Contact register" in page and "Yhteystietorekisteri" not in page


# -- English pages write dates the British way (crm.views.locale) ---------------------------


def test_english_pages_write_dates_and_times_the_british_way(login_as, session):
    """An activity at 10.51 in Helsinki reads 25/11/2026, 10:51 on English pages, not
    Babel's US English 11/25/26, 10:51 AM; Finnish pages are as before."""
    from datetime import UTC, datetime

    from tests.factories import make_activity

    activity = make_activity(session, make_contact(session), subject="Brittiläinen päivä",
                             occurred_at=datetime(2026, 11, 25, 8, 51, tzinfo=UTC))
    session.commit()
    client = login_as("sales")
    show = f"/activityview/show/{activity.id}"
    assert "25.11.2026 10.51" in _page(client, show)
    _switch(client, "en")
    for path in ("/activityview/list/", show):
        page = _page(client, path)
        assert "25/11/2026, 10:51" in page, path
        assert "11/25/26" not in page and " AM" not in page, path


def test_english_pages_format_as_en_gb_and_translate_from_the_en_catalog(app):
    """The UI language stays "en" (the menu, the session); Babel formats as en_GB and
    still finds the CRM's English catalog (crm/translations/en) and FAB's strings."""
    from datetime import date

    from flask import session as flask_session
    from flask_babel import format_date, get_locale, gettext, refresh

    with app.test_request_context("/"):
        flask_session["locale"] = "en"
        refresh()
        assert str(get_locale()) == "en_GB"
        assert format_date(date(2026, 11, 22), "short") == "22/11/2026"
        # A message the English catalog words differently from its id.
        assert gettext("%(count)d lines have errors. The list can be imported only without "
                       "them: fix the file and upload it again, or import the valid lines "
                       "only.", count=2).startswith("Lines with errors: 2.")
        assert gettext("Add Filter") == "Add Filter"
    with app.test_request_context("/"):
        flask_session["locale"] = "fi"
        refresh()
        assert str(get_locale()) == "fi"
        assert gettext("Add Filter") != "Add Filter"  # FAB's string, in Finnish
