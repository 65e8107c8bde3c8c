"""The quick search of a common value in a database whose text does not sort by code
point: ICU (a Finnish company's database). The walk starts from a bound of
the prefix (`_Lookup.edge`) that no matching row may sort beyond: the bounds are checked
against adversarial names in several real collations, and the list against the plain
ORDER BY, every page, in an ICU fi-FI database.
"""

from __future__ import annotations

import random
import re

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Contact
from crm.views import search
from tests.conftest import login, prepared_app
from tests.factories import make_contact
from tests.scratch_db import postgres_server_url, scratch_postgres_database
from tests.test_search_speed import ORDERS, expected, listed, walked

DEFAULT_COLLATION = {"collname": "default"}


def _database(provider: str, collate: str, icu: str | None = None, **more) -> dict:
    return {"datlocprovider": provider, "datcollate": collate, "datctype": collate,
            "daticulocale": icu, "datcollversion": "2.36" if provider == "c" else "153.1",
            **more}


@pytest.mark.parametrize(("database", "order"), [
    (_database("c", "C"), "codepoint"),
    (_database("c", "C.UTF-8"), "codepoint"),
    (_database("c", "POSIX"), "codepoint"),
    # The database an ICU locale is made with: its LOCALE is C.UTF-8, its order ICU's.
    (_database("i", "C.UTF-8", "fi-FI"), "icu"),
    (_database("i", "C.UTF-8", "und"), "icu"),
    (_database("i", "en_US.UTF-8", "en-US"), "icu"),
    (_database("i", "C.UTF-8", "fi-FI-u-kn-true"), "other"),  # numeric: 10 after 9
    (_database("i", "C.UTF-8", "fi-FI-u-kf-upper"), "other"),
    (_database("i", "C.UTF-8", "fi@collation=traditional"), "other"),
    (_database("i", "C.UTF-8", "da-DK"), "other"),  # "aa" is å, "aA" is not
    (_database("i", "C.UTF-8", "cs-CZ"), "other"),  # "ch" after h
    (_database("i", "C.UTF-8", "tr-TR"), "other"),  # lower("I") is "ı"
    (_database("i", "C.UTF-8", "fi-FI", daticurules="&a < b"), "other"),
    # glibc's linguistic locales: not proven here (none to test against), walked as before.
    (_database("c", "en_US.utf8"), "other"),
    (_database("c", "fi_FI.UTF-8"), "other"),
    ({"datcollate": "en_US.UTF-8", "datctype": "en_US.UTF-8"}, "other"),  # no version known
])
def test_the_order_of_a_database_is_told_by_its_provider_and_locale(database, order):
    assert search._column_order(DEFAULT_COLLATION, database) == order


def test_a_column_collation_is_its_own():
    database = _database("c", "C.UTF-8")
    icu = {"collname": "fi-FI-x-icu", "collprovider": "i", "colliculocale": "fi-FI",
           "collisdeterministic": True, "collcollate": None, "collctype": None}
    assert search._column_order(icu, database) == "icu"
    assert search._column_order({**icu, "collisdeterministic": False}, database) == "other"
    assert search._column_order({"collname": "C", "collprovider": "c", "collcollate": "C",
                                 "collisdeterministic": True}, _database("i", "C", "fi-FI")) \
        == "codepoint"


@pytest.mark.parametrize(("text", "low", "high"), [
    ("Virtanen", "virtane", "virtane\uffff"),
    ("vir", "vi", "vi\uffff"),
    ("Järvinen", "järvine", "järvine\uffff"),
    ("Saarinen7", "saarinen6\uffff", "saarinen8"),
    ("Saarinen0", "saarinen", "saarinen1"),
    ("Saarinen9", "saarinen8\uffff", "saarinen\uffff"),
    ("O'B", "o'", "o'\uffff"),
    ("anna-", "ann", "ann\uffff"),  # the last letter, not the hyphen
    ("-", None, None),
    ("", None, None),
    ("Straße", None, None),  # ß, and any character not shown safe: no bound
    ("Ĳssel", None, None),
    ("a\u0308", None, None),  # a combining mark
    ("vi\u0307", None, None),
    ("ki%", None, None),
])
def test_a_prefix_is_bound_before_its_last_letter(text, low, high):
    def bound(ascending):
        found = search._prefix_bound(text, ascending)
        if found is not None:
            assert found[1] is None  # nothing to ask the database
            return found[0]
        return None

    assert bound(True) == low
    assert bound(False) == high


@pytest.mark.parametrize(("text", "found"), [
    ("v", ("u\uffff", ("u\uffff", "v"))), ("V.", ("u\uffff", ("u\uffff", "v"))),
    ("b", ("a\uffff", ("a\uffff", "b"))), ("a", None), ("ä", None), ("7", None)])
def test_one_letter_is_bound_after_the_one_before_if_the_database_agrees(text, found):
    assert search._prefix_bound(text, True) == found
    assert search._prefix_bound(text, False) is None


# --- PostgreSQL: the bounds against real collations --------------------------------

#: Prefixes as typed, with the names around them (`_names`).
PREFIXES = ["Virtanen", "vir", "Vi", "Aaltonen", "aa", "Järvinen", "jä", "Mäkelä", "mäk",
            "Saarinen7", "saarinen70", "Saarinen0", "Saarinen9", "o'b", "O'Brien", "van d",
            "anna-", "anna-l", "st. j", "ki", "kelvin", "ik", "åke", "Åström", "ju", "ch",
            "cz", "zz", "liz", "ülle", "über", "éa", "de", "ha", "lj", "tš", "vw", "wv", "y",
            "ta9", "ia", "lı", "9a", "0", "v", "u", "z", "b", "k", "i", "t", "w", "o", "y-"]
#: What may follow, or stand in for, the prefix's characters in a name.
TAILS = ["", "", "n", "a", "Z", "z", "å", "ä", "ö", "ü", "y", "w", "v", "h", "H", "j", "s",
         "0", "9", "10", " ", "-", "'", ".", ",", "\u00ad", "\u200b", "\x01", "\u0308",
         "\u0301", "\u030a", "\u0307", "\u0335", "\u00b7", "ß", "æ", "ø", "đ", "ŋ", "þ",
         "中", "ก", "เ", "\uffff", "\ufffd", "\U0001f600", "ǀ", "Ω", "ı", "İ", "\u212a"]
#: Characters lower() makes an ASCII letter or å as well as its capital (PostgreSQL).
ALSO = {"i": ["\u0130"], "k": ["\u212a"], "å": ["\u212b"]}


def _spellings(text: str, rng: random.Random) -> str:
    return "".join(rng.choice([ch.lower(), ch.upper(), *ALSO.get(ch.lower(), [])])
                   if len(ch.upper()) == 1 else ch for ch in text)


def _names() -> list[str]:
    rng = random.Random(7)
    names = set()
    for text in PREFIXES:
        for cut in range(len(text) + 1):
            names.add(text[:cut])
        for _ in range(60):
            tail = "".join(rng.choice(TAILS) for _ in range(rng.randrange(4)))
            names.add(_spellings(text, rng) + tail)
            names.add(_spellings(text[:-1], rng) + tail)  # a near miss
            where = rng.randrange(len(text) + 1)  # something inside: no longer a match
            names.add(_spellings(text[:where], rng) + rng.choice(TAILS) + text[where:])
    return sorted(names)


FINNISH_ICU = "LOCALE_PROVIDER icu ICU_LOCALE 'fi-FI' LOCALE 'C.UTF-8'"


@pytest.fixture(scope="module")
def icu_url():
    server = postgres_server_url()
    if server is None:
        pytest.skip("PostgreSQL collations not tested: set CRM_TEST_DATABASE_URL")
    engine = sa.create_engine(server)
    try:
        with engine.connect() as conn:
            if conn.dialect.server_version_info < (15,):
                pytest.skip("an ICU database needs PostgreSQL 15")
    finally:
        engine.dispose()
    with scratch_postgres_database("crm_val_icu", f"TEMPLATE template0 {FINNISH_ICU}") as url:
        yield url


def _collations(conn) -> list[tuple[str, str]]:
    """Return (collation, "icu") of each allowed collation the server has,
    and an ICU one with capitals first (not allowed: the bound holds there too)."""
    conn.execute(sa.text("CREATE COLLATION upper_first (provider = icu, "
                         "locale = 'fi-FI-u-kf-upper')"))
    found = [("default", "icu"), ("upper_first", "icu")]
    database = conn.execute(sa.text("SELECT to_jsonb(d) FROM pg_database d "
                                    "WHERE datname = current_database()")).scalar()
    for name, collation in conn.execute(sa.text(
            "SELECT collname, to_jsonb(c) FROM pg_collation c WHERE collname IN "
            "('und-x-icu', 'en-US-x-icu', 'sv-SE-x-icu', 'de-DE-x-icu', 'et-EE-x-icu', "
            "'en_US', 'en_US.utf8', 'fi_FI', 'fi_FI.utf8') "
            "ORDER BY collname")):
        order = search._column_order(collation, database)
        if order == "icu":
            found.append((name, order))
    return found


def test_no_name_a_prefix_matches_sorts_beyond_its_bounds(icu_url):
    engine = sa.create_engine(icu_url)
    names = _names()
    try:
        with engine.begin() as conn:
            collations = _collations(conn)
            assert len(collations) >= 5, collations
            conn.execute(sa.text("CREATE TEMPORARY TABLE name (value text NOT NULL)"))
            conn.execute(sa.text("INSERT INTO name VALUES (:v)"), [{"v": n} for n in names])
            failures, bounded = [], 0
            for collation, _kind in collations:
                column = "value" if collation == "default" else f'value COLLATE "{collation}"'
                for text in PREFIXES:
                    pattern = text.lower().replace("_", "\\_").replace("%", "\\%") + "%"
                    matches = conn.execute(sa.text(
                        "SELECT count(*) FROM name WHERE lower(value) LIKE :p"),
                        {"p": pattern}).scalar()
                    assert matches > 0, text
                    for ascending, sign in ((True, ">"), (False, "<")):
                        bound = search._prefix_bound(text, ascending)
                        if bound is None:
                            continue
                        bound, check = bound
                        if check is not None and not conn.execute(sa.text(
                                f"SELECT CAST(:a AS text) < CAST(:b AS text) "
                                f'COLLATE "{collation}"'), {"a": check[0], "b": check[1]}).scalar():
                            continue
                        bounded += 1
                        beyond = conn.execute(sa.text(
                            f"SELECT value FROM name WHERE lower(value) LIKE :p "
                            f"AND NOT ({column} {sign} :b)"), {"p": pattern, "b": bound}).all()
                        failures += [(collation, text, sign, bound, v) for v, in beyond]
            assert not failures
            assert bounded >= len(PREFIXES) * len(collations)
            # Estonian puts "z" before "t", after "y": "y" + U+FFFF is no bound of "z".
            # Unasked, that bound would lose them.
            if ("et-EE-x-icu", "icu") in collations:
                assert not conn.execute(sa.text(
                    'SELECT CAST(:a AS text) < CAST(:b AS text) COLLATE "et-EE-x-icu"'),
                    {"a": "y\uffff", "b": "z"}).scalar()
                assert conn.execute(sa.text(
                    "SELECT count(*) FROM name WHERE lower(value) LIKE 'z%' "
                    "AND value COLLATE \"et-EE-x-icu\" < :b"), {"b": "y\uffff"}).scalar()
    finally:
        engine.dispose()


# --- The contacts list in an ICU fi-FI database ------------------------------------

@pytest.fixture(scope="module")
def icu_app(icu_url):
    app = prepared_app("postgresql+psycopg://" + icu_url.split("://", 1)[1])
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


#: Surnames every which way around "Virtanen" and "Järvinen", and their neighbours.
SURNAMES = ["Virtanen", "VIRTANEN", "virtanen", "vIrTaNeN3", "Virtanen-Laine", "Virtane",
            "Virtanen9", "virtanen10", "Virtanen 2", "Vir", "vir", "VIR", "Vi", "vi",
            "V\u0130rtanen", "Vi\u0307rtanen", "Virta\u00adnen", "Virtänen", "Wirtanen",
            "Virtaneo", "Virtanem", "Virtanen\u0308", "Virtanén", "Järvinen", "JÄRVINEN",
            "jarvinen", "Ja\u0308rvinen", "Järvi", "järvinen-Ö", "Aaltonen", "Zetterberg",
            "Östman", "Åberg", "O'Brien", "o'brien", "Obrien", "Kirsi", "\u212airsi",
            "Saarinen7", "Saarinen70", "saarinen71", "Saarinen6", "Saarinen8", "Saarinen",
            "Saarinen0", "Saarinen9", "saarinen99", "Lizell", "LIZELL", "lizell", "Liz",
            "Li{", "Lizé"]
FIRST_NAMES = ["Aino", "AINO", "aino", "Áino", "Ainö", "Eero", "Ulla", "Virpi", "virpi",
               "Viljami", "Olli", "Jä", "Järvi", "Kirsi", "Ville", "Liza"]


@pytest.fixture
def icu_register(icu_app, monkeypatch):
    """The register of the ICU database, with small limits: over 2 matches a value is
    common, over 5 past the count cap (as in tests/test_search_speed.py)."""
    monkeypatch.setattr(search, "COMMON_AT", 2)
    icu_app.config["CRM_LIST_COUNT_CAP"] = 5
    with icu_app.app_context():
        rng = random.Random(11)
        for i, last in enumerate(SURNAMES * 2):
            make_contact(db.session, first_name=rng.choice(FIRST_NAMES), last_name=last,
                         email=f"p{i}@firma.example")
        db.session.commit()
        yield icu_app
        db.session.rollback()
        db.session.execute(sa.text("DELETE FROM contact"))
        db.session.commit()
    icu_app.config.pop("CRM_LIST_COUNT_CAP")


def test_the_icu_database_is_told_linguistic(icu_app):
    with icu_app.app_context():
        assert search._text_order(db.session) == "icu"
        assert not search._codepoint_order(db.session)
        # A one-letter bound is asked of the database: by primary weight, as ICU sorts.
        assert search._sorts_before(db.session, "last_name", "u\uffff", "v")
        assert search._sorts_before(db.session, "first_name", "z\uffff", "å")
        assert not search._sorts_before(db.session, "last_name", "v\uffff", "V")
        assert not search._sorts_before(db.session, "last_name", "å\uffff", "z")


@pytest.mark.parametrize("order", ORDERS[:4])
@pytest.mark.parametrize("q", ["Virtanen", "vir", "virtanen1", "Järvinen", "jä",
                               "Saarinen7", "saarinen9", "o'b", "Aino", "ki", "liz", "v", "j"])
def test_a_common_value_lists_the_rows_of_the_plain_query_in_icu(icu_register, q, order):
    app = icu_register
    with app.app_context():
        client = login(app.test_client(), "sales")
        rows = expected(db.session, q, order)
        counts = {name: db.session.scalar(sa.select(sa.func.count()).where(
            Contact.anonymised_at.is_(None),
            sa.func.lower(getattr(Contact, name)).like(q.lower() + "%")))
            for name in search.WALKED_ORDERS}
        pages, edges = [], []
        for page in range((len(rows) + 3) // 4):  # the pages that hold rows
            ids, ran = listed(client, q, order, page)
            pages += ids
            if max(counts.values()) > 5 and order[0] in search.WALKED_ORDERS:
                assert walked(ran), order
            edges += [s for s in ran if re.search(r"contact\.\w+ [<>] '", s)]
        assert pages == rows
        # The walk started from the prefix's bound when the order is the prefix's column.
        if counts.get(order[0], 0) > 5 \
                and search._prefix_bound(q, order[1] == "asc") is not None:
            assert edges, (q, order)
