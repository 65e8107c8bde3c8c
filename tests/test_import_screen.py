"""The purchased-list import screens: upload, map, check (dry run), import; the history."""

from __future__ import annotations

import io
import re
from html import unescape

import sqlalchemy as sa

from crm.models import Contact, Source, SourceKind
from crm.views.imports import upload_folder
from tests.conftest import csrf_token, session_csrf_token

GOOD = ("Etunimi;Sukunimi;Sähköposti;Yritys\r\n"
        "Aino;Ruutulainen;aino@ruutu.example;Ruutu Oy\r\n"
        "Eero;Ruutulainen;eero@ruutu.example;Ruutu Oy\r\n").encode("cp1252")
BAD = (b"Nimi;Suku;Osoite\r\n"
       b"Aino;Ruutulainen;aino@ruutu.example\r\n"
       b"Eero;Ruutulainen;ei-osoite\r\n")


def upload(client, data: bytes, name: str = "Ruutulista"):
    token = csrf_token(client, "/imports/")
    return client.post("/imports/upload", data={
        "csrf_token": token, "file": (io.BytesIO(data), "lista.csv"), "name": name,
        "supplier": "Toimittaja Oy", "received_on": "2026-10-15"},
        content_type="multipart/form-data")


def waiting_files() -> list:
    return list(upload_folder().iterdir())


def contacts(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(Contact))


def test_marketing_uploads_checks_and_imports_a_list(login_as, session):
    client = login_as("marketing")
    before = set(waiting_files())
    response = upload(client, GOOD)
    assert response.status_code == 302 and response.location.endswith("/imports/mapping")
    assert len(set(waiting_files()) - before) == 1

    mapping = client.get("/imports/mapping").get_data(as_text=True)
    for header in ("Etunimi", "Sukunimi", "Sähköposti", "Yritys"):
        assert f'<option value="{header}" selected>' in mapping
    token = csrf_token(client, "/imports/mapping")
    check = client.post("/imports/check", data={
        "csrf_token": token, "map_first_name": "Etunimi", "map_last_name": "Sukunimi",
        "map_email": "Sähköposti", "map_organisation": "Yritys"})
    page = check.get_data(as_text=True)
    assert check.status_code == 200
    assert re.search(r'data-count="new"><th>[^<]*</th><td>2</td>', page)
    assert 'id="import-run"' in page
    assert contacts(session) == 0  # the check stored nothing

    done = client.post("/imports/run", data={"csrf_token": token, "valid_only": "0"})
    assert 'id="import-done"' in done.get_data(as_text=True)
    assert contacts(session) == 2
    source = session.scalar(sa.select(Source).where(Source.kind == SourceKind.purchased_list))
    assert (source.name, source.supplier, source.received_on.isoformat()) == (
        "Ruutulista", "Toimittaja Oy", "2026-10-15")
    assert set(waiting_files()) == before  # the upload was deleted
    history = client.get("/imports/").get_data(as_text=True)
    assert "Ruutulista" in history and "marketing" in history


def test_a_file_imported_before_is_refused_at_the_upload_beside_the_file(login_as, session):
    client = login_as("marketing")
    token = csrf_token(client, "/imports/")
    upload(client, GOOD)
    client.post("/imports/check", data={
        "csrf_token": token, "map_first_name": "Etunimi", "map_last_name": "Sukunimi",
        "map_email": "Sähköposti", "map_organisation": "Yritys"})
    client.post("/imports/run", data={"csrf_token": token, "valid_only": "0"})
    assert contacts(session) == 2
    before = set(waiting_files())

    again = upload(client, GOOD, name="Sama lista uudestaan")
    page = again.get_data(as_text=True)
    assert again.status_code == 200  # the upload form again, not the mapping step
    assert "Tämä tiedosto on jo tuotu" in page and "Ruutulista" in page
    assert set(waiting_files()) == before  # nothing kept waiting
    assert contacts(session) == 2


def test_a_list_with_a_bad_line_is_checked_mapped_by_hand_and_imported_valid_only(login_as,
                                                                                  session):
    client = login_as("marketing")
    assert upload(client, BAD).status_code == 302
    mapping = client.get("/imports/mapping").get_data(as_text=True)
    assert 'id="import-mapping-problem"' in mapping  # no known headers: map them
    token = csrf_token(client, "/imports/mapping")
    check = client.post("/imports/check", data={
        "csrf_token": token, "map_first_name": "Nimi", "map_last_name": "Suku",
        "map_email": "Osoite"}).get_data(as_text=True)
    assert 'data-line="3" data-field="email"' in check
    assert 'id="import-run"' not in check and 'id="import-run-valid"' in check
    assert "ei-osoite" not in check.split('class="crm-import-errors"')[1]

    refused = client.post("/imports/run", data={"csrf_token": token, "valid_only": "0"})
    assert 'id="import-not-done"' in refused.get_data(as_text=True)
    assert contacts(session) == 0
    done = client.post("/imports/run", data={"csrf_token": token, "valid_only": "1"})
    assert 'id="import-done"' in done.get_data(as_text=True)
    assert contacts(session) == 1


def test_a_file_that_is_not_text_is_refused_and_deleted(login_as, session):
    client = login_as("marketing")
    before = set(waiting_files())
    upload(client, "Etunimi;Sukunimi\r\nA;B\r\n".encode("utf-16"))
    response = client.get("/imports/mapping", follow_redirects=True)
    assert "CSV" in response.get_data(as_text=True)
    assert set(waiting_files()) == before


def test_cancel_deletes_the_upload(login_as):
    client = login_as("marketing")
    before = set(waiting_files())
    upload(client, GOOD)
    token = csrf_token(client, "/imports/mapping")
    assert client.post("/imports/cancel", data={"csrf_token": token}).status_code == 302
    assert set(waiting_files()) == before
    assert client.get("/imports/mapping").status_code == 302  # nothing waits any more


def test_privacy_reads_the_history_but_cannot_upload(login_as, session):
    client = login_as("privacy")
    page = client.get("/imports/").get_data(as_text=True)
    assert "Import history" in page or "Tuontihistoria" in page
    assert 'id="import-upload"' not in page
    token = session_csrf_token(client)
    response = client.post("/imports/upload", data={
        "csrf_token": token, "file": (io.BytesIO(GOOD), "lista.csv"), "name": "Ei"},
        content_type="multipart/form-data")
    assert response.status_code == 403
    assert contacts(session) == 0


SAMPLED = ("Etunimi;Sukunimi;Sähköposti;Lisätieto\r\n"
           "Aino;Ruutulainen;aino@ruutu.example;Messut 2026\r\n"
           "\r\n"
           "Eero;Ruutulainen;eero@ruutu.example;<b>Verkkosivu</b>\r\n"
           "Kerttu;Ruutulainen;kerttu@ruutu.example;\r\n"
           "Lauri;Neljäs;lauri@ruutu.example;Neljäs arvo\r\n").encode()


def column_row(page: str, index: int) -> str:
    match = re.search(rf'<tr data-column="{index}">(.*?)</tr>', page, re.S)
    assert match, f"no row for column {index}"
    return match.group(1)


def test_the_mapping_shows_each_columns_first_values_and_names_the_separator(
        login_as, session, caplog):
    caplog.set_level("DEBUG")
    client = login_as("marketing")
    upload(client, SAMPLED)
    page = client.get("/imports/mapping").get_data(as_text=True)
    # The column no field is known for: its header and first three values (a blank
    # line skipped, an empty value said so, markup shown as text), not the fourth.
    extra = column_row(page, 3)
    assert "Lisätieto" in extra and "Messut 2026" in extra
    assert "&lt;b&gt;Verkkosivu&lt;/b&gt;" in extra and "<b>" not in extra
    assert "(tyhjä)" in extra and "Neljäs arvo" not in extra
    names = column_row(page, 0)
    assert all(n in names for n in ("Aino", "Eero", "Kerttu")) and "Lauri" not in names
    # The separator in words, in Finnish and in English.
    assert "erottimena puolipiste," in page and "“;”" not in page
    client.get("/lang/en")
    page = client.get("/imports/mapping").get_data(as_text=True)
    assert "separated by semicolons," in page and "(empty)" in column_row(page, 3)
    # The values are the uploader's own: shown on the page, never logged.
    logged = caplog.text
    assert "Messut 2026" not in logged and "Verkkosivu" not in logged


def test_a_list_of_one_column_is_said_to_have_one_column(login_as, session):
    client = login_as("marketing")
    upload(client, "Sähköposti\r\naino@ruutu.example\r\n".encode())
    page = client.get("/imports/mapping").get_data(as_text=True)
    assert "1 sarake." in page and "1 saraketta" not in page
    client.get("/lang/en")
    page = client.get("/imports/mapping").get_data(as_text=True)
    assert "1 column." in page and "1 columns" not in page


def test_the_mapping_names_commas_and_tabs_in_words(login_as, session):
    client = login_as("marketing")
    client.get("/lang/en")
    for separator, words in ((",", "commas"), ("\t", "tabs")):
        data = separator.join(("Etunimi", "Sukunimi", "Sähköposti")) + "\r\n" + \
            separator.join(("Aino", "Ruutulainen", "aino@ruutu.example")) + "\r\n"
        upload(client, data.encode())
        page = client.get("/imports/mapping").get_data(as_text=True)
        assert f"separated by {words}," in page, words
        assert "aino@ruutu.example" in column_row(page, 2)


NO_COLUMNS = "Nimi;Osoite\r\nKalle Keksitty;Keksikatu 1\r\n".encode("cp1252")


def test_missing_columns_are_named_as_the_mapping_names_them_and_said_once(login_as, session):
    client = login_as("marketing")
    upload(client, NO_COLUMNS)
    page = client.get("/imports/mapping").get_data(as_text=True)
    problem = re.search(r'id="import-mapping-problem">(.*?)</div>', page, re.S).group(1)
    assert "Etunimi, Sukunimi, Sähköposti / Puhelin" in problem
    assert "first_name" not in problem and "email / phone" not in problem
    client.get("/lang/en")
    page = client.get("/imports/mapping").get_data(as_text=True)
    assert "First name, Last name, Email / Phone" in page and "first_name," not in page
    assert "(e.g. first name, last name, email, phone)" in page  # headers it knows

    # Checking without mapping them: back to the mapping, which says it (no second,
    # flashed copy of the same message), and nothing is stored.
    token = csrf_token(client, "/imports/mapping")
    check = client.post("/imports/check", data={"csrf_token": token, "map_first_name": "Nimi"})
    assert check.status_code == 302 and check.location.endswith("/imports/mapping")
    page = client.get("/imports/mapping").get_data(as_text=True)
    assert page.count("Required columns are missing") == 1
    assert "Last name, Email / Phone." in page  # the first name is mapped now
    assert '<option value="Nimi" selected>' in page
    assert contacts(session) == 0


def check_page(client, data: bytes) -> str:
    upload(client, data)
    token = csrf_token(client, "/imports/mapping")
    return client.post("/imports/check", data={
        "csrf_token": token, "map_first_name": "Etunimi", "map_last_name": "Sukunimi",
        "map_email": "Sähköposti"}).get_data(as_text=True)


def test_the_check_says_when_there_is_nothing_to_import(login_as, session):
    from crm.privacy.suppression import suppress

    client = login_as("marketing")
    client.get("/lang/en")
    # A header and no lines.
    page = check_page(client, "Etunimi;Sukunimi;Sähköposti\r\n".encode("cp1252"))
    assert 'id="import-nothing"' in page and "no lines under its header" in page
    assert 'id="import-run"' not in page and 'id="import-run-valid"' not in page
    # Every line bad: no "import the valid lines only", as there are none.
    page = check_page(client, ("Etunimi;Sukunimi;Sähköposti\r\n"
                               ";Tyhjänen;tyhja@keksi.example\r\n"
                               "Olli;Outo;ei-osoite\r\n").encode("cp1252"))
    assert 'id="import-nothing"' in page and "fix the file" in page
    assert 'id="import-has-errors"' not in page and 'id="import-run-valid"' not in page
    assert 'data-line="2" data-field="first_name"' in page
    assert 'data-line="3" data-field="email"' in page
    # Every line skipped (on the suppression list).
    suppress(session, "email", "estetty@keksi.example", "opt-out")
    session.commit()
    page = check_page(client, ("Etunimi;Sukunimi;Sähköposti\r\n"
                               "Eemeli;Estetty;estetty@keksi.example\r\n").encode("cp1252"))
    assert 'id="import-nothing"' in page and "duplicate or skipped" in page
    assert 'id="import-run"' not in page
    assert contacts(session) == 0
    # A list with something to import says nothing of the kind.
    page = check_page(client, GOOD)
    assert 'id="import-nothing"' not in page and 'id="import-run"' in page


def test_a_step_posted_with_a_stale_token_says_so_on_the_screen_and_stores_nothing(
        login_as, session):
    # The token of a session that ended, or a page kept open too long: refused by the
    # app-wide check, answered with the step's own message, not a bare "Bad Request".
    client = login_as("marketing")
    upload(client, GOOD)
    check = client.post("/imports/check", data={"csrf_token": "stale", "map_email": ""})
    assert check.status_code == 302 and check.location.endswith("/imports/mapping")
    page = client.get("/imports/mapping").get_data(as_text=True)
    assert "Lomake oli vanhentunut. Yritä uudelleen." in page
    run = client.post("/imports/run", data={"csrf_token": "stale", "valid_only": "0"})
    assert run.status_code == 302 and run.location.endswith("/imports/mapping")
    assert "Mitään ei tuotu;" in client.get("/imports/mapping").get_data(as_text=True)
    assert contacts(session) == 0
    refused = client.post("/imports/upload", data={
        "csrf_token": "stale", "file": (io.BytesIO(GOOD), "lista.csv"), "name": "Vanha"},
        content_type="multipart/form-data")
    assert refused.status_code == 302 and refused.location.endswith("/imports/")
    assert "Lomake oli vanhentunut" in client.get("/imports/").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Source)
                          .where(Source.kind == SourceKind.purchased_list)) == 0


def test_one_column_chosen_for_two_fields_is_refused_on_the_screen(login_as, session):
    client = login_as("marketing")
    upload(client, "Nimi;Sähköposti\r\nKalle Keksitty;kalle@keksi.example\r\n".encode("cp1252"))
    token = csrf_token(client, "/imports/mapping")
    check = client.post("/imports/check", data={
        "csrf_token": token, "map_first_name": "Nimi", "map_last_name": "Nimi"},
        follow_redirects=True)
    page = check.get_data(as_text=True)
    assert "Sarake Nimi on valittu sekä kenttään Etunimi että kenttään Sukunimi" in page
    assert contacts(session) == 0


# -- which lines were what, and what a merge did not take ----------------------------------

OUTCOMES = ("Etunimi;Sukunimi;Sähköposti;Puhelin\r\n"
            "Aino;Rivilä;aino@rivi.example;040 111 2222\r\n"  # 2: merged, another phone
            "Eero;Rivilä;eero@rivi.example;\r\n"  # 3: new
            "Eero;Rivilä;eero@rivi.example;\r\n"  # 4: duplicate
            "Kaisa;Estetty;kaisa@rivi.example;\r\n"  # 5: on the suppression list
            "Olli;Perunut;olli@rivi.example;\r\n"  # 6: unsubscribed
            "Eero;Rivilä;EERO@rivi.example;\r\n"  # 7: duplicate
            "Vilma;Virhe;ei-osoite;\r\n").encode("cp1252")  # 8: an error


def outcomes_register(session) -> None:
    from crm.models import MarketingStatus
    from crm.privacy.suppression import suppress
    from tests.factories import make_contact

    make_contact(session, first_name="Aino", last_name="Rivilä", email="aino@rivi.example",
                 phone="+358409998877", mobile=None, title=None)
    make_contact(session, first_name="Olli", last_name="Perunut", email="olli@rivi.example",
                 marketing_status=MarketingStatus.unsubscribed)
    suppress(session, "email", "kaisa@rivi.example", "opt-out")
    session.commit()


def check_outcomes(client, data: bytes = OUTCOMES):
    upload(client, data)
    token = csrf_token(client, "/imports/mapping")
    page = client.post("/imports/check", data={
        "csrf_token": token, "map_first_name": "Etunimi", "map_last_name": "Sukunimi",
        "map_email": "Sähköposti", "map_phone": "Puhelin"}).get_data(as_text=True)
    return token, page


def lines_text(page: str, key: str) -> str | None:
    found = re.search(rf'data-lines="{key}"><td[^>]*>([^<]*)</td>', page)
    return found and found.group(1)


def not_taken(page: str) -> list[str]:
    section = page.split('class="crm-import-not-taken"')[1].split("</ul>")[0]
    return [unescape(text) for text in re.findall(r'<li data-field="\w+">([^<]*)</li>',
                                                  section)]


def test_the_check_and_the_result_name_each_outcomes_lines_in_finnish(login_as, session):
    outcomes_register(session)
    client = login_as("marketing")
    token, page = check_outcomes(client)
    assert re.search(r'data-count="duplicate"><th>Kaksoiskappaleita</th><td>2</td>', page)
    assert lines_text(page, "duplicate") == "rivit 4, 7"
    assert lines_text(page, "merged") == "rivi 2"
    assert lines_text(page, "suppressed") == "rivi 5"
    assert lines_text(page, "opted_out") == "rivi 6"
    assert lines_text(page, "new") is None  # new people are the rest
    assert "Yhdistettäviltä riveiltä ottamatta jäävät arvot" in page
    assert not_taken(page) == ["Puhelin: 1 (rivi 2)"]
    # Line numbers only: none of the values of those lines.
    for value in ("Rivilä", "kaisa@", "Perunut", "111 2222"):
        assert value not in page.split('class="table table-condensed crm-import-counts"')[1]

    done = client.post("/imports/run", data={"csrf_token": token, "valid_only": "1"})
    page = done.get_data(as_text=True)
    assert 'id="import-done"' in page
    assert lines_text(page, "duplicate") == "rivit 4, 7"
    assert lines_text(page, "suppressed") == "rivi 5"
    assert "Yhdistetyiltä riveiltä ottamatta jääneet arvot" in page
    assert not_taken(page) == ["Puhelin: 1 (rivi 2)"]
    # The register's number was kept.
    from crm.models import Contact as Person
    assert session.scalar(sa.select(Person.phone).where(Person.email == "aino@rivi.example")
                          ) == "+358409998877"


def test_the_check_names_each_outcomes_lines_in_english_up_to_fifty(login_as, session):
    outcomes_register(session)
    client = login_as("marketing")
    client.get("/lang/en")
    _token, page = check_outcomes(client)
    assert lines_text(page, "duplicate") == "lines 4, 7"
    assert lines_text(page, "merged") == "line 2"
    assert "Values that would not be taken from merged lines" in page
    assert not_taken(page) == ["Phone: 1 (line 2)"]

    many = OUTCOMES + ("Eero;Rivilä;eero@rivi.example;\r\n" * 53).encode("cp1252")
    _token, page = check_outcomes(client, many)
    assert re.search(r'data-count="duplicate"><th>Duplicates</th><td>55</td>', page)
    shown = ", ".join(str(n) for n in [4, 7, *range(9, 57)])
    assert lines_text(page, "duplicate") == f"lines {shown} and 5 more"


def test_the_history_shows_the_skipped_lines_apart_and_who_imported_by_name(login_as,
                                                                              session):
    outcomes_register(session)
    client = login_as("marketing")
    token, _page = check_outcomes(client)
    client.post("/imports/run", data={"csrf_token": token, "valid_only": "1"})
    source = session.scalar(sa.select(Source).where(Source.kind == SourceKind.purchased_list))

    def row(page: str) -> str:
        return re.search(rf'<tr data-source="{source.id}">(.*?)</tr>', page, re.S).group(1)

    def cell(page: str, key: str) -> str:
        return re.search(rf'<td data-count="{key}">([^<]*)</td>', row(page)).group(1)

    for lang, headers in (
            ("fi", ("Kaksoiskappaleita", "Ohitettu: estolistalla",
                    "Ohitettu: perunut tilauksen tai vastustanut", "Virheellisiä rivejä")),
            ("en", ("Duplicates", "Skipped: on the suppression list",
                    "Skipped: unsubscribed or objected", "Lines with errors"))):
        client.get(f"/lang/{lang}")
        page = client.get("/imports/").get_data(as_text=True)
        head = page.split('class="table table-striped crm-import-history"')[1].split("</thead>")[0]
        for header in headers:
            assert f"<th>{header}</th>" in head
        assert [cell(page, key) for key in ("duplicate", "suppressed", "opted_out", "invalid")
                ] == ["2", "1", "1", "1"]
        assert "Matti Markkinoija (marketing)" in row(page)
