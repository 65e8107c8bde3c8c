"""The one search box a salesperson reaches for: name, email, phone, organisation (by
name or business ID), or a login id in one of the company's systems (for whoever may
read identifiers). It searches within the filters applied to the list.

A name, an email or an organisation's name is found by its beginning. Only when that
finds nothing is the text looked for inside them ("tekniikka" in "Tähtitekniikka Oy", a
domain without its "@"): a bounded number of such partial matches, which the list says
they are (`_QuickSearchMixin`).
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import string
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import phonenumbers
from flask import g, has_app_context, jsonify, request
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import format_decimal, gettext
from sqlalchemy import (
    Integer,
    and_,
    any_,
    false,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError

from crm.extensions import db
from crm.models import Contact, Identifier, Organisation
from crm.security import roles
from crm.services.validation import InvalidValue, normalise_business_id
from crm.views.base import can
from crm.views.interface import count_cap, sort_key
from crm.views.keyset import past_key
from crm.views.related import LOOKUP_LIMIT, suggestion


class FilterIsNull(BaseFilter):
    name = "is empty"

    def apply(self, query, value):
        return query.filter(getattr(self.model, self.column_name).is_(None))


def _as_phone(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "FI")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _escaped(text: str) -> str:
    """Return `text` for a LIKE pattern whose escape is a backslash: % and _ literal."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix(text: str) -> str:
    return _escaped(text) + "%"


def _typed_phone(text: str) -> str | None:
    """Return `text` as an E.164 number if the search box reads it as a phone number.

    Digits among letters are a name or an organisation ("Bench Org 0037500 Oy")."""
    if "@" in text or not any(ch.isdigit() for ch in text) or any(ch.isalpha()
                                                                 for ch in text):
        return None
    return _as_phone(text)


def _typed_business_id(text: str) -> str | None:
    """Return `text` as a business ID (Y-tunnus, NNNNNNN-C) if it is one, check digit and
    all: read so before a phone number, which its digits would make too."""
    try:
        return normalise_business_id(text)
    except InvalidValue:
        return None


def _typed_contacts_business_id(text: str) -> str | None:
    """Return `_typed_business_id(text)` for the contacts' search box, where digits
    alone that make a phone number are one: "09123456" is as well a business ID typed
    without its hyphen. Typed with it, or as the VAT number (FI09123456), it is one."""
    if text.replace(" ", "").isdigit() and _typed_phone(text) is not None:
        return None
    return _typed_business_id(text)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _starts_with(column, text: str):
    """Match `column` case-insensitively by prefix, in a form its lower() index answers.

    PostgreSQL uses `lower(column) LIKE 'text%'` on a text_pattern_ops index; SQLite
    uses LIKE only with indexes it cannot have here, so there the prefix is a range
    of lower(column), which its lower() index answers.
    """
    lowered = func.lower(column)
    if not has_app_context() or db.engine.dialect.name == "postgresql":
        # The pattern goes into the statement itself: with a bound parameter a
        # prepared (generic) plan cannot use the pattern index and reads the table.
        return lowered.like(literal(_prefix(text.lower()), literal_execute=True),
                            escape="\\")
    return or_(*(and_(lowered >= spelling, lowered < spelling + "\U0010ffff")
                 for spelling in _sqlite_lowered(text)))


def _sqlite_lowered(text: str) -> list[str]:
    """Return what SQLite's lower(), which knows ASCII letters only, makes of the
    values starting with `text` in any letter case, as written in a register: the
    text as typed ("MÄKELÄ"), all in small letters ("mäkelä" of "Mäkelä"), and with a
    capital first letter outside ASCII ("Öhman" of "Öhman" or "ÖHMAN", typed "öhman")."""
    lowered = text.lower()
    spellings = [text.translate(_ASCII_LOWER), lowered]
    if lowered and not lowered[0].isascii():
        spellings.append(lowered[0].upper() + lowered[1:])
    return sorted(set(spellings))


def _ids(*selects):
    """Contacts whose id any of `selects` names: each select uses its own index.

    On PostgreSQL the ids are gathered first, as one array, and the contacts then
    read by primary key. As `IN (subquery)` the planner guesses how many there are:
    at a few thousand it guessed ten thousand and chose to hash-join a scan of every
    contact (a surname prefix with 5,700 people among 1M: 160 ms, now 15).
    """
    ids = union(*selects).subquery().select()
    if has_app_context() and db.engine.dialect.name == "postgresql":
        return Contact.id == any_(func.array(ids.scalar_subquery()))
    return Contact.id.in_(ids)


def _contacts_where(condition):
    return select(Contact.id).where(condition)


#: A lookup matching fewer contacts than this is rare, told by one short probe; only a
#: common one is probed further, up to the list's count cap (see `_matching`).
COMMON_AT = 1000
#: The list orders whose (column, id) WHERE anonymised_at IS NULL index a walk reads.
#: Both are NOT NULL, so a key bound on them leaves out no row.
WALKED_ORDERS = ("last_name", "first_name")


def _literal(value):
    # Written into the statement, as the patterns are, so each plan sees its value.
    return literal(value, literal_execute=True)


#: How each database (by URL) sorts the walked columns' text: asked once per process.
_TEXT_ORDER: dict = {}
#: The walked columns' collation names, per database (by URL).
_COLLATIONS: dict = {}
#: Whether one string sorts before another, per database, column and strings.
_BEFORE: dict = {}

#: ICU (CLDR) locales whose collation orders letters (and digits) with no contraction
#: among the characters a bound is drawn from (`_BOUND_CHARACTERS`), nor numeric or
#: other keyword options. Danish and Norwegian ("aa" is not "aA"), Czech, Slovak
#: ("ch"), Hungarian, Spanish traditional, Turkish (its lower()) are not here. glibc's
#: linguistic locales are not either: none could be tested here, so their searches
#: walk from the order's first row, as before.
_ICU_LANGUAGES = frozenset({"und", "root", "en", "fi", "sv", "de", "fr", "nl", "it", "pt",
                            "es", "et"})
_ICU_LOCALE = re.compile(r"(?P<language>[a-z]{2,3}|root)(?:[-_](?:[A-Za-z]{2}|[0-9]{3}))?")
_CODEPOINT_LOCALES = ("C", "POSIX", "C.UTF-8", "C.utf8")


def _column_order(collation: dict, database: dict) -> str:
    """Return "codepoint", "icu" (bounds proven, see `_Lookup.edge`) or "other"
    for a column of `collation` (pg_collation as JSON) in `database` (pg_database)."""
    if collation.get("collname") == "default":
        provider = database.get("datlocprovider", "c")  # before PostgreSQL 15: libc
        locale = (database.get("datcollate") if provider == "c"
                  else database.get("daticulocale") or database.get("datlocale"))
        deterministic, rules = True, database.get("daticurules")
    else:
        provider = collation.get("collprovider")
        locale = (collation.get("collcollate") if provider == "c"
                  else collation.get("colliculocale") or collation.get("colllocale"))
        deterministic = collation.get("collisdeterministic")
        rules = collation.get("collicurules")
    locale = locale or ""
    if provider in ("c", "b") and locale in _CODEPOINT_LOCALES:
        return "codepoint"
    if not deterministic or rules:  # rules: a tailoring of the database's own
        return "other"
    if provider == "i":
        match = _ICU_LOCALE.fullmatch(locale)
        if match and match["language"] in _ICU_LANGUAGES:
            return "icu"
    return "other"


def _text_order(session) -> str:
    """Return how the walked columns sort their text (see `_column_order`): SQLite
    by code point; on PostgreSQL as their collation (the database's by default)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return "codepoint"
    known = _TEXT_ORDER.get(bind.url)
    if known is None:
        rows = session.execute(sql_text(
            "SELECT to_jsonb(c), to_jsonb(d), a.attname FROM pg_attribute a "
            "JOIN pg_collation c ON c.oid = a.attcollation "
            "JOIN pg_database d ON d.datname = current_database() "
            "WHERE a.attrelid = 'contact'::regclass AND a.attname = ANY(:names)"),
            {"names": list(WALKED_ORDERS)}).all()
        orders = {_column_order(collation, database) for collation, database, _name in rows}
        known = orders.pop() if len(rows) == len(WALKED_ORDERS) and len(orders) == 1 \
            else "other"
        if known == "icu" and not all(_greatest_last(session, collation["collname"])
                                      for collation, _database, _name in rows):
            known = "other"  # an ICU before CLDR's U+FFFF: its bound is not proven
        _COLLATIONS[bind.url] = {name: collation["collname"] for collation, _d, name in rows}
        _TEXT_ORDER[bind.url] = known
    return known


def _greatest_last(session, collation: str) -> bool:
    """Whether U+FFFF sorts after all else in `collation` (ICU): the greatest primary
    weight, "to include all strings starting with "sch" or equivalent" in the range
    "Sch" to "Sch\\uFFFF" (Unicode TS #35, Collation, root collation). Without it,
    as a code point unassigned, it would sort before U+10FFFD (private use)."""
    name = collation.replace('"', '""')
    return session.execute(sql_text(
        f'SELECT value FROM (VALUES (U&\'\\FFFF\'), (U&\'\\+10FFFD\'), (U&\'\\FFFD\'), '
        f'(\'\u00f6\'), (\'\u4e2d\'), (\'z\')) AS v(value) '
        f'ORDER BY value COLLATE "{name}" DESC LIMIT 1')).scalar() == "\uffff"


def _sorts_before(session, column_name: str, lesser: str, greater: str) -> bool:
    """Whether `lesser` sorts before `greater` in the collation of `column_name`."""
    bind = session.get_bind()
    key = (bind.url, column_name, lesser, greater)
    if key not in _BEFORE:
        name = _COLLATIONS[bind.url][column_name].replace('"', '""')
        _BEFORE[key] = bool(session.execute(sql_text(
            f'SELECT CAST(:lesser AS text) < CAST(:greater AS text) COLLATE "{name}"'),
            {"lesser": lesser, "greater": greater}).scalar())
    return _BEFORE[key]


def _codepoint_order(session) -> bool:
    """Whether text sorts by code point (SQLite; PostgreSQL in a C collation)."""
    return _text_order(session) == "codepoint"


def _linguistic_order(session) -> bool:
    """Whether text sorts by an ICU collation whose prefix bounds are proven
    (`_Lookup.edge`)."""
    return _text_order(session) == "icu"


#: The characters of a prefix whose bounds are proven (`_Lookup.edge`): letters and
#: digits whose upper case (or other character lowering to them) weighs the same at
#: the first level, and a few marks between words.
_BOUND_CHARACTERS = frozenset(string.ascii_lowercase + string.digits
                              + "àáâãäåæçèéêëìíîïñòóôõöøùúûüý" + " -'.")


def _prefix_bound(text: str, ascending: bool):
    """Return (bound, check): every value whose lower() starts with `text` sorts after
    (`ascending`) or before `bound` in an "icu" collation, if the database
    finds check's first string before its second (check None: nothing to ask), as
    `_Lookup.edge` shows; None if no bound is proven."""
    prefix = text.lower()
    if not prefix or not set(prefix) <= _BOUND_CHARACTERS:
        return None
    letters = [i for i, ch in enumerate(prefix) if ch.isalnum()]
    if not letters:
        return None
    head, ch = prefix[:letters[-1]], prefix[letters[-1]]
    greatest = "\uffff"  # of the greatest primary weight
    if not head:
        # One letter: after the one before it, if the collation puts it first.
        if ascending and "b" <= ch <= "z":
            before = chr(ord(ch) - 1) + greatest
            return before, (before, ch)
        return None
    if ascending:
        if "1" <= ch <= "9":
            return head + chr(ord(ch) - 1) + greatest, None
        return head, None
    if "0" <= ch <= "8":
        return head + chr(ord(ch) + 1), None
    return head + greatest, None


#: Characters other than the capital whose lower() is this ASCII letter (PostgreSQL).
_ALSO_LOWER = {"i": "\u0130", "k": "\u212a"}


def _heads(text: str, length: int = 3) -> list[str]:
    """Return the strings one of which starts every value whose lower() starts with
    `text`: the spellings of its first few ASCII characters (none if it starts with
    another), so each is one short range of a (column, id) index."""
    heads = [""]
    for ch in itertools.islice(itertools.takewhile(str.isascii, text), length):
        spellings = {ch.lower(), ch.upper(), *_ALSO_LOWER.get(ch.lower(), "")}
        heads = [head + spelling for head in heads for spelling in sorted(spellings)]
    return heads if heads != [""] else []


class _Lookup:
    """One way a contact matches: a condition, the prefix it asks of one of the list's
    order columns (if so), and the select of its contacts that tells how common it is
    (by default, those the condition matches)."""

    def __init__(self, condition, probe=None, **prefixes: str) -> None:
        self.condition, self.prefixes = condition, prefixes
        self.probe = probe if probe is not None else select(literal(1)).where(condition)
        #: The condition tested row by row in a walk.
        self.walk = condition

    def ranges(self, session, column_name: str) -> list:
        """Return conditions whose live matches together are the lookup's, each one
        range of the (column, id) WHERE anonymised_at IS NULL index (none if it cannot).

        Values whose lower() starts with "virt" start with "Virt", "VIRT", "vIrt", ...:
        each spelling is one range, read from its start rather than from A on, and
        its lower() tested from the index alone.
        """
        if column_name not in WALKED_ORDERS or not _codepoint_order(session):
            return []
        column = getattr(Contact, column_name)
        return [Contact.anonymised_at.is_(None) & self.condition
                & (column >= _literal(head))
                & (column < _literal(head[:-1] + chr(ord(head[-1]) + 1)))
                for head in _heads(self.prefixes.get(column_name, ""))]

    def edge(self, session, column_name: str, ascending: bool):
        """Return a condition every live match of the lookup meets, a bound of the
        (column, id) index on the side the walk starts from (None if none is proven).

        In an ICU collation (`_column_order`) "Virtanen" does not sort by code
        point, but by collation weights, level by level: first the letters' primary
        weights ("V", "v" alike), then accents, then case (upper or lower first, by
        locale). Let p be the lowered prefix, drawn from `_BOUND_CHARACTERS` only, and
        b its part before its last letter or digit ("virtane"). Every s whose lower()
        starts with p begins with characters whose lower() are b's: case variants,
        the Kelvin sign, the angstrom sign or dotted capital I, each with the primary
        weights of its lower case (canonically equivalent, or the same letter). The
        allowed locales have no contraction among such characters (`_ICU_LANGUAGES`),
        so s's primary weights are b's, then those of the letter or digit that comes
        next (with any combining mark after it: "u" + diaeresis may be "y" in
        Finnish, still a letter), never empty. b's primary weights are thus a proper
        prefix of s's: s sorts after b whatever the lower levels (case first,
        backward accents, ignored punctuation) say. Below, ICU gives U+FFFF the
        greatest primary weight of all, so s sorts before b + U+FFFF. A digit is
        bound closer: digits weigh 0 < 1 < ... < 9 (no numeric option allowed), and
        no character but the digit itself has it as lower(), so "saarinen7..." sorts
        after "saarinen6" + U+FFFF and before "saarinen8".

        A one-letter prefix ("v") has no b. In ICU, "u" + U+FFFF sorts before "v"
        only if u's primary weight is less than v's (equal, the longer sorts last),
        which the database is asked (`_sorts_before`: "y" is after "z" in Estonian).
        Then every s starting with "v" or "V" sorts after it: its first primary
        weight is v's, or that of a letter a combining mark makes of v, which in the
        allowed locales is v's or after it (accented letters are secondary variants
        of theirs, or tailored after them: "å", "ä", "ö" after "z", "ü" as "y").
        """
        prefix = self.prefixes.get(column_name, "")
        linguistic = column_name in WALKED_ORDERS and _linguistic_order(session)
        bound = _prefix_bound(prefix, ascending) if linguistic else None
        if bound is None:
            return None
        bound, check = bound
        if check is not None and not _sorts_before(session, column_name, *check):
            return None
        column = getattr(Contact, column_name)
        return column > _literal(bound) if ascending else column < _literal(bound)

    def count_probe(self, session):
        """Return the probe of a common lookup: of a name, from its order index alone."""
        column_name = next(iter(self.prefixes), "") if len(self.prefixes) == 1 else ""
        ranges = self.ranges(session, column_name)
        return union_all(*(select(literal(1)).where(r) for r in ranges)).subquery().select() \
            if ranges else self.probe


def _matching(session, lookups: list[_Lookup], order: tuple[str, str] | None):
    """Return the condition of contacts any lookup matches, in the form fastest here.

    A rare value (the usual case) is a UNION of index lookups whose ids are then
    sorted. A common one (a surname, "Bench Org": tens of thousands) would sort all of
    them for 25 rows; instead, once a lookup has more matches than the list counts
    (its count stops at the cap then), the list walks its order index testing each row
    (the other lookups as one set of ids) and meets 25 matches soon. The walk would
    still be long if no match came early in the order (every "Virtanen" sorts late by
    last name), so it starts at the least key any lookup matches, each found by a short
    walk of its own. The contacts list shows live contacts only, so that bound leaves
    out none of its rows.
    """
    column_name = order[0] if order else ""
    # Whether each lookup has a COMMON_AT-th row (reading no further), then whether a
    # common one has more than the list counts.
    common = session.execute(select(*(_has(lookup.probe, COMMON_AT)
                                      for lookup in lookups))).one()
    if not any(common):
        return _ids(*(_contacts_where(lookup.condition) for lookup in lookups))
    over_cap = session.execute(select(*(
        _has(lookup.count_probe(session), count_cap() + 1) if many else literal(False)
        for lookup, many in zip(lookups, common, strict=True)))).one()
    if not any(over_cap):
        return _ids(*(_contacts_where(lookup.condition) for lookup in lookups))
    walked = [lookup for lookup, over in zip(lookups, over_cap, strict=True) if over]
    few = [_contacts_where(lookup.condition)
           for lookup, over in zip(lookups, over_cap, strict=True) if not over]
    condition = or_(*(lookup.walk for lookup in walked), *([_ids(*few)] if few else []))
    if column_name not in WALKED_ORDERS:
        return condition
    # As the list orders it (on SQLite a name's lower(), crm.views.interface.sort_key).
    column, ascending = sort_key(session, getattr(Contact, column_name)), order[1] != "desc"
    firsts = []
    for lookup in walked:
        ranges = lookup.ranges(session, column_name)
        if not ranges:
            # Not by code point: from the bound proven of the collation, if any
            # (`_Lookup.edge`), else from the order's first row.
            first, edge = (Contact.anonymised_at.is_(None) & lookup.walk,
                           lookup.edge(session, column_name, ascending))
            ranges = [first if edge is None else first & edge]
        firsts += ranges
    if few:
        firsts.append(Contact.anonymised_at.is_(None) & _ids(*few))
    keys = []
    for first in firsts:
        first = select(column.label("value"), Contact.id.label("id")).where(first)
        first = first.order_by(*_sort(column, ascending)).limit(1).subquery()
        keys.append(select(first.c.value, first.c.id))
    # The database compares the keys, in the column's collation.
    keys = union_all(*keys).subquery()
    bound = session.execute(select(keys.c.value, keys.c.id).order_by(
        *_sort(keys.c.value, ascending, keys.c.id)).limit(1)).first()
    if bound is None:
        return condition
    return condition & past_key(column, Contact.id, _literal(bound[0]), _literal(bound[1]),
                                ascending, inclusive=True)


def _has(probe, rows: int):
    return probe.offset(rows - 1).limit(1).exists()


def _sort(column, ascending: bool, pk=Contact.id):
    return (column.asc(), pk.asc()) if ascending else (column.desc(), pk.desc())


def _identifier_owners(text: str):
    """Return the select of the contacts having `text` as an identifier (a login id in
    one of the company's systems), exactly but in any letter case, as one look-up of
    the identifier's lower() index (crm.models.subject); None for whoever may not read
    identifiers, whom a match would tell a login id's owner."""
    if not can(roles.READ, roles.IDENTIFIER):
        return None
    postgres = not has_app_context() or db.engine.dialect.name == "postgresql"
    key = text.lower() if postgres else text.translate(_ASCII_LOWER)  # as SQLite lowers
    return select(Identifier.contact_id).where(func.lower(Identifier.identifier) == key)


def _by_identifier(text: str) -> list:
    """Return the condition of `_identifier_owners(text)`, as a list: empty for whoever
    may not read identifiers."""
    owners = _identifier_owners(text)
    return [] if owners is None else [Contact.id.in_(owners)]


#: The fewest characters looked for inside a name: fewer would match most people, and
#: the trigram index would have no trigram to look up.
PARTIAL_MIN_LENGTH = 3
#: The most partial matches one search gathers (and each column's look-up reads): a
#: common infix ("nen") is in half the register, and gathering all of it would take
#: seconds at a million contacts; a list or type-ahead of 500 is narrowed by typing.
PARTIAL_LIMIT = 500


def _contains(column, text: str):
    """Match `column` case-insensitively containing `text`, % and _ as themselves.

    PostgreSQL answers `column ILIKE '%text%'` from the column's trigram (pg_trgm GIN)
    index; the pattern is written into the statement, as the prefixes are. SQLite
    reads the table. Its lower() and LIKE fold ASCII letters only, so there the column
    is lowered by Python (`crm_lower`, which `_some_ids` registers), as PostgreSQL's
    lower() in a UTF-8 locale: "äki" is in "MÄKINEN". Python is called only for the
    values SQLite's own LIKE finds may match (`_sqlite_sieve`).
    """
    if not has_app_context() or db.engine.dialect.name == "postgresql":
        pattern = literal("%" + _escaped(text) + "%", literal_execute=True)
        return column.ilike(pattern, escape="\\")
    lowered = text.lower()
    pattern = literal("%" + _escaped(lowered) + "%", literal_execute=True)
    contains = func.crm_lower(column).like(pattern, escape="\\")
    sieve = _sqlite_sieve(lowered)
    if sieve == "%":
        return contains
    # SQLite tests a row's terms in the order written: the sieve first.
    return and_(column.like(literal(sieve, literal_execute=True), escape="\\"), contains)


#: The ASCII letters that a character beyond ASCII lowers to: the Kelvin sign's lower()
#: is "k", the dotted capital I's "i" and a combining dot.
_LOWERED_FROM_BEYOND_ASCII = frozenset("ik")


def _sqlite_sieve(lowered: str) -> str:
    """Return a pattern for SQLite's LIKE that every value whose Python lower() contains
    `lowered` matches, and few others: the other ASCII characters stand for themselves
    (LIKE folds ASCII letters, and nothing else lowers to them), and each run of those
    a character beyond ASCII may lower to ("ä" of "Ä", "k", "i") for any characters."""
    pieces, wild = ["%"], True
    for ch in lowered:
        if ch.isascii() and ch not in _LOWERED_FROM_BEYOND_ASCII:
            pieces.append(_escaped(ch))
            wild = False
        elif not wild:
            pieces.append("%")
            wild = True
    if not wild:
        pieces.append("%")
    return "".join(pieces)


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


#: How long the database may look for partial matches before the search gives up.
PARTIAL_TIMEOUT_MS = 300
#: SQLite's virtual machine instructions between two looks at the time
#: (`_sqlite_time_limit`): a few microseconds.
SQLITE_PROGRESS_STEPS = 1000
#: PostgreSQL's SQLSTATE of a statement cancelled by its statement_timeout.
_QUERY_CANCELED = "57014"


class PartialSearchTooSlow(Exception):
    """Looking for the text inside words took longer than PARTIAL_TIMEOUT_MS."""


def _some_ids(session, selects) -> tuple[list[int], bool]:
    """Return the ids `selects` find, at most PARTIAL_LIMIT, and whether there are more.

    Each select stops at PARTIAL_LIMIT + 1 rows, a LIMIT without ORDER BY: the
    database stops reading as soon as it has them (a scan of the table stops there
    too, where the planner finds a common infix cheaper so: "nen" among a million
    takes a millisecond), rather than reading and sorting every match. Which of a
    common infix's matches come is the database's choice; the list sorts those it got.

    A LIMIT does not bound a text that is rare but whose trigrams are everywhere
    ("q.example": only "example" is indexed, so every address is read and tested,
    0.7 s). The statement may therefore run PARTIAL_TIMEOUT_MS at most: on PostgreSQL
    in a savepoint that a cancelled statement rolls back alone, on SQLite by its
    progress handler (`_sqlite_time_limit`); raises `PartialSearchTooSlow` then.
    """
    bounded = [select_.limit(_literal(PARTIAL_LIMIT + 1)).subquery() for select_ in selects]
    statement = union_all(*(select(b.c.id) for b in bounded))
    if session.get_bind().dialect.name != "postgresql":
        raw = session.connection().connection.driver_connection
        raw.create_function("crm_lower", 1, _lower, deterministic=True)
        with _sqlite_time_limit(raw):
            return _first_ids(session.scalars(statement))
    try:
        with session.begin_nested():
            # Within the transaction only (set_config's true), and put back after.
            before = session.execute(select(
                func.current_setting("statement_timeout"),
                func.set_config("statement_timeout", str(PARTIAL_TIMEOUT_MS), True))).one()[0]
            found = _first_ids(session.scalars(statement))
            session.execute(select(func.set_config("statement_timeout", before, True)))
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != _QUERY_CANCELED:
            raise
        raise PartialSearchTooSlow from error
    return found


@contextmanager
def _sqlite_time_limit(raw) -> Iterator[None]:
    """Interrupt the statements run within on SQLite connection `raw` once they have
    taken PARTIAL_TIMEOUT_MS, as PostgreSQL's statement_timeout does; raise
    `PartialSearchTooSlow` then. An interrupted SELECT leaves the transaction as it was."""
    deadline = time.monotonic() + PARTIAL_TIMEOUT_MS / 1000
    raw.set_progress_handler(lambda: time.monotonic() > deadline, SQLITE_PROGRESS_STEPS)
    try:
        yield
    except OperationalError as error:
        if getattr(error.orig, "sqlite_errorcode", None) != sqlite3.SQLITE_INTERRUPT:
            raise
        raise PartialSearchTooSlow from error
    finally:
        raw.set_progress_handler(None, 0)


def _first_ids(ids) -> tuple[list[int], bool]:
    ids = sorted(set(ids))
    return ids[:PARTIAL_LIMIT], len(ids) > PARTIAL_LIMIT


def _one_of(column, ids: list[int]):
    """Match `column` against `ids`, so that their rows are read by primary key.

    On PostgreSQL the array is handed over through a subquery, as `_ids` gathers its
    own: seeing 500 ids of a million, the planner walked the list's order index testing
    each row against them ("ine": 222,700 rows read for a page of 26, 15 ms; a set
    sorting late would read the whole index).
    """
    if not ids:
        return false()
    if db.engine.dialect.name == "postgresql":
        given = select(func.unnest(literal(ids, ARRAY(Integer)))).scalar_subquery()
        return column == any_(func.array(given))
    return column.in_(ids)


class PartialSearch:
    """A list's partial search in one request: whether it left matches out, or gave up
    (`PartialSearchTooSlow`)."""

    cut = False
    too_slow = False
    #: Not looked for: shorter than PARTIAL_MIN_LENGTH, which the list then says.
    too_short = False
    #: Not looked for: a number, which is found whole only, as the list then says.
    whole_number = False


class _PartialSearchFilter(BaseFilter):
    """Match the records containing the text: the quick search's second try, when
    nothing begins with it (`_QuickSearchMixin`). Its matches are a set of ids."""

    name = "contains"
    sorts_matches = True
    #: Set by its view: told whether matches were left out (PARTIAL_LIMIT).
    outcome: PartialSearch | None = None
    #: The model whose ids the selects find.
    found_model: type

    def apply(self, query, value):
        text = " ".join(value.split())
        # Once per list read, as the prefix search: its page and its count ask alike.
        known = self.__dict__.setdefault("_found", {})
        if text not in known:
            try:
                known[text] = _some_ids(query.session, self.selects(text)) + (False,)
            except PartialSearchTooSlow:
                known[text] = [], False, True
        ids, cut, too_slow = known[text]
        if self.outcome is not None:
            self.outcome.cut, self.outcome.too_slow = cut, too_slow
        return query.filter(_one_of(self.found_model.id, ids))

    @staticmethod
    def selects(text: str) -> list:
        """Return the selects of the ids of the records containing `text`."""
        raise NotImplementedError


class ContactPartialSearch(_PartialSearchFilter):
    """Live contacts whose first or last name, emails or organisation's name contains
    the text (with an "@", the emails only)."""

    found_model = Contact

    @staticmethod
    def selects(text: str) -> list:
        live = Contact.anonymised_at.is_(None)
        columns = (Contact.email,) if "@" in text else (Contact.last_name,
                                                         Contact.first_name, Contact.email)
        selects = [select(Contact.id).where(live, _contains(column, text))
                   for column in columns]
        # Its condition implies the second email's index's (crm.models.indexes), which
        # holds the contacts that have one only.
        selects.append(select(Contact.id).where(live, Contact.alt_email.is_not(None),
                                                _contains(Contact.alt_email, text)))
        if "@" not in text:
            named = select(Organisation.id).where(_contains(Organisation.name, text))
            selects.append(select(Contact.id).where(
                live, Contact.organisation_id.in_(named.limit(_literal(PARTIAL_LIMIT + 1)))))
        return selects


class OrganisationPartialSearch(_PartialSearchFilter):
    """Organisations whose name contains the text."""

    found_model = Organisation

    @staticmethod
    def selects(text: str) -> list:
        return [select(Organisation.id).where(_contains(Organisation.name, text))]


#: The most words a text is read as a full name in: each split is two more look-ups.
MOST_NAME_WORDS = 4


class ContactQuickSearch(BaseFilter):
    """Match contacts by name, email, phone or organisation name, whichever the text is."""

    name = "matches"
    #: The list's (order column, direction), set by its view: a common value's page
    #: walks that order (see `_matching`).
    list_order: tuple[str, str] | None = None
    #: Matches are ids gathered from several indexes: the list sorts the page's ids
    #: before joining their rows (crm.views.interface).
    sorts_matches = True

    def apply(self, query, value):
        text = " ".join(value.split())
        if not text:
            return query
        phone = _typed_phone(text) if _typed_contacts_business_id(text) is None else None
        if phone:
            by_number = or_(Contact.phone == phone, Contact.mobile == phone)
            identified = _identifier_owners(text)
            if identified is None:
                return query.filter(by_number)
            # A number may as well be a login id ("100234"): each an exact look-up, as
            # one set of ids (OR-ing the identifier's IN into the two numbers' indexes
            # made PostgreSQL scan the contacts: 800 ms at 1,000,000).
            return query.filter(Contact.id.in_(union(
                select(Contact.id).where(Contact.phone == phone),
                select(Contact.id).where(Contact.mobile == phone), identified)))
        # Once per list read (a new filter each): its page and its count ask alike.
        known = self.__dict__.setdefault("_conditions", {})
        if text not in known:
            known[text] = _matching(query.session, self._lookups(query.session, text),
                                    self.list_order)
        return query.filter(known[text])

    @staticmethod
    def _lookups(session, text: str) -> list[_Lookup]:
        identified = [_Lookup(condition) for condition in _by_identifier(text)]
        business_id = _typed_contacts_business_id(text)
        if business_id:
            # The people of the organisation with this business ID.
            organisation = select(Organisation.id).where(
                Organisation.business_id == business_id)
            return [_Lookup(Contact.organisation_id.in_(organisation)), *identified]
        if "@" in text:
            return [_Lookup(Contact.email.is_not(None) & _starts_with(Contact.email, text)),
                    _Lookup(Contact.alt_email.is_not(None)
                            & _starts_with(Contact.alt_email, text)), *identified]
        named = select(Organisation.id).where(_starts_with(Organisation.name, text))
        # Told common by the people of its first organisations: a probe joining every
        # matching organisation would read all of them.
        first_organisations = named.limit(count_cap() + 1).subquery()
        organisations = _Lookup(Contact.organisation_id.in_(named), select(literal(1)).where(
            Contact.organisation_id == first_organisations.c.id))
        if session.execute(select(named.offset(COMMON_AT - 1).limit(1).exists())).scalar():
            # So many organisations that a walk reads each row's own rather than them all.
            organisations.walk = _starts_with(select(Organisation.name).where(
                Organisation.id == Contact.organisation_id).scalar_subquery(), text)
        lookups = [_Lookup(_starts_with(Contact.last_name, text), last_name=text),
                   _Lookup(_starts_with(Contact.first_name, text), first_name=text),
                   organisations]
        lookups += identified
        words = text.split(" ")
        # A full name, either way round, split at each space: "Outi Maria Ostaja" is
        # Outi Maria (first names) Ostaja, as a callback request's name is stored.
        for split in range(1, len(words) if len(words) <= MOST_NAME_WORDS else 1):
            first, last = " ".join(words[:split]), " ".join(words[split:])
            lookups.append(_Lookup(_starts_with(Contact.first_name, first)
                                   & _starts_with(Contact.last_name, last),
                                   first_name=first, last_name=last))
            lookups.append(_Lookup(_starts_with(Contact.last_name, first)
                                   & _starts_with(Contact.first_name, last),
                                   first_name=last, last_name=first))
        return lookups


class OrganisationQuickSearch(BaseFilter):
    name = "matches"

    def apply(self, query, value):
        text = " ".join(value.split())
        if not text:
            return query
        return query.filter(or_(_starts_with(Organisation.name, text),
                                Organisation.business_id == (_typed_business_id(text)
                                                             or text)))


#: The list's request arguments the search box keeps: its filters, order and page size
#: (FAB's `_flt_<op>_<column>`, `_oc_<view>`, `_od_<view>`, `psize_<view>`).
KEPT_WITH_SEARCH = ("_flt_", "_oc_", "_od_", "psize_")


class _QuickSearchMixin:
    """Add the `?q=` search box to a list view."""

    quick_search_filter: type[BaseFilter]
    #: The second try when nothing begins with the text (`_get_list_widget`).
    partial_search_filter: type[_PartialSearchFilter]
    list_template = "crm/list.html"

    # The search is applied as a base filter, so the visible filters and paging links
    # stay as they are. The view object is shared by every request and thread, so the
    # search text lives in `g` (this request only) and `_base_filters` adds it on read;
    # the view's own base filters are never changed.

    @property
    def _base_filters(self):
        base = self.__dict__.get("_crm_base_filters")
        text = g.get("crm_quick_search", {}).get(id(self)) if has_app_context() else None
        if base is None or not text:
            return base
        partial = g.get("crm_partial_search", {}).get(id(self))
        if partial is None:
            search = self.quick_search_filter("id", self.datamodel)
            search.list_order = self._quick_search_order()
        else:
            search = self.partial_search_filter("id", self.datamodel)
            search.outcome = partial
        joined = base.copy()
        joined._add_filter(search, text)
        return joined

    def _quick_search_order(self) -> tuple[str, str] | None:
        """Return the list's (order column, direction) as this request asked, else its
        base order; None if the list may show anonymised contacts (see `_matching`)."""
        if ["anonymised_at", FilterIsNull, None] not in (self.base_filters or []):
            return None
        order = g.get("crm_quick_search_order", {}).get(id(self))
        return order if order and order[0] else tuple(self.base_order or ("", ""))

    @_base_filters.setter
    def _base_filters(self, value):
        self.__dict__["_crm_base_filters"] = value

    @contextmanager
    def _searching(self, text: str, order: tuple | None = None) -> Iterator[None]:
        """Apply the search box's `text` (`_base_filters`) to the list reads within."""
        keys = ("crm_quick_search", "crm_quick_search_order", "crm_partial_search")
        for key, value in zip(keys, (text, order, None), strict=True):
            g.setdefault(key, {})[id(self)] = value
        try:
            yield
        finally:
            for key in keys:
                g.get(key, {}).pop(id(self), None)

    def _prefix_then_partial(self, text: str, read, found) -> tuple:
        """Return `read()` by the search's prefixes, or, when it finds nothing (`found`)
        and the text is looked for inside words, by its partial matches; and the partial
        search made (None if none), which tells whether matches were left out."""
        result = read()
        if found(result) or not self.searches_partly(text):
            return result, None
        # Nothing begins with it: what contains it.
        g.crm_partial_search[id(self)] = partial = PartialSearch()
        return read(), partial

    def _get_list_widget(self, filters, **kwargs):
        text = " ".join(request.args.get("q", "").split())[:200]
        if not text:
            return super()._get_list_widget(filters=filters, **kwargs)
        order = (kwargs.get("order_column"), kwargs.get("order_direction"))
        with self._searching(text, order):
            widgets, partial = self._prefix_then_partial(
                text, lambda: super(_QuickSearchMixin, self)._get_list_widget(
                    filters=filters, **kwargs),
                lambda found: found["list"].template_args.get("count"))
        shown = widgets["list"].template_args.get("count")
        if partial is None and not shown and len(text) < PARTIAL_MIN_LENGTH:
            # Not looked for inside words: say so, lest "no records" read as none.
            partial = PartialSearch()
            partial.too_short = True
        elif not shown and self.finds_whole(text) and not (partial and partial.too_slow):
            # Part of a phone number: found whole only, which "no records" leaves unsaid.
            partial = partial or PartialSearch()
            partial.whole_number = True
        if partial is not None and (shown or partial.too_slow or partial.too_short
                                    or partial.whole_number):
            # Said above the list (`_partial_hint`).
            g.setdefault("crm_partial_shown", {})[id(self)] = partial
        return widgets

    def searches_partly(self, text: str) -> bool:
        """Return whether `text`, which nothing begins with, is looked for inside."""
        return len(text) >= PARTIAL_MIN_LENGTH

    def finds_whole(self, text: str) -> bool:
        """Return whether `text` is a number that the search finds whole only."""
        return False

    def render_template(self, template, **kwargs):
        kwargs.setdefault("quick_search", request.args.get("q", ""))
        kept = self._quick_search_kept()
        kwargs.setdefault("quick_search_kept", kept)
        # "Clear" empties the search box only: the filters and the order stay.
        kwargs.setdefault("quick_search_clear", "?" + urlencode(kept))
        kwargs.setdefault("quick_search_placeholder", self.quick_search_placeholder())
        kwargs.setdefault("quick_search_hint", self._partial_hint())
        return super().render_template(template, **kwargs)

    @staticmethod
    def _quick_search_kept() -> list[tuple[str, str]]:
        """Return the list's filters, order and page size in this request's address: the
        search box sends them with the text, so a search looks within the filtered list
        (Receivables' billing contacts) rather than the whole register. The page starts
        from the first again."""
        return [(key, value) for key, values in request.args.lists()
                if key.startswith(KEPT_WITH_SEARCH) for value in values]

    def _partial_hint(self) -> str:
        """Return what the list says of partial matches it shows ("" if it shows none)."""
        partial = g.get("crm_partial_shown", {}).pop(id(self), None)
        if partial is None:
            return ""
        text = " ".join(request.args.get("q", "").split())[:200]
        if partial.too_short:
            return gettext("Nothing begins with “%(text)s”. To find it further on in a word, "
                           "type at least %(count)d characters.", text=text,
                           count=PARTIAL_MIN_LENGTH)
        if partial.whole_number:
            return gettext("No phone number is “%(text)s”. Phone numbers are found whole: "
                           "type the whole number, as 040 123 4567 or +358 40 123 4567.",
                           text=text)
        if partial.too_slow:
            return gettext("Nothing begins with “%(text)s”, and looking for it inside words "
                           "took too long: type more of it.", text=text)
        hint = gettext("Nothing begins with “%(text)s”: these are partial matches, which "
                       "contain it further on.", text=text)
        if partial.cut:
            hint += " " + gettext("Only %(count)s partial matches are shown: type more to "
                                  "narrow them down.", count=format_decimal(PARTIAL_LIMIT))
        return hint

    def quick_search_placeholder(self) -> str:
        """Return what the search box says it finds."""
        return gettext("Name, email, phone or organisation")

    def quick_search_page(self, text: str, size: int) -> list:
        """Return the first `size` rows the search box finds for `text`, in the list's
        base order: the list's own query, with its base filters (no anonymised contacts)."""
        order_column, direction = self.base_order or ("", "")
        with self._searching(text):
            rows, _partial = self._prefix_then_partial(
                text, lambda: self.datamodel._page(self._base_filters, order_column,
                                                   direction, 0, size), bool)
        return rows

    @expose("/lookup")
    @has_access
    def lookup(self):
        """Return the first matches of `?q=` for a link field's type-ahead list
        (crm.views.related), as a JSON object: read permission on the list's resource."""
        text = " ".join(request.args.get("q", "").split())[:200]
        rows = self.quick_search_page(text, LOOKUP_LIMIT + 1) if text else []
        return jsonify(results=[suggestion(row) for row in rows[:LOOKUP_LIMIT]],
                       more=len(rows) > LOOKUP_LIMIT)


class ContactSearchMixin(_QuickSearchMixin):
    quick_search_filter = ContactQuickSearch
    partial_search_filter = ContactPartialSearch

    def searches_partly(self, text: str) -> bool:
        # A phone number is matched whole (E.164), never as a part of one; a business
        # ID finds its organisation's people.
        return (super().searches_partly(text) and _typed_phone(text) is None
                and _typed_contacts_business_id(text) is None)

    def finds_whole(self, text: str) -> bool:
        # Digits without letters: a phone number, or a part of one (a business ID, found
        # whole, is said to be one by finding its organisation's people).
        return (not any(ch.isalpha() for ch in text) and "@" not in text
                and sum(ch.isdigit() for ch in text) >= PARTIAL_MIN_LENGTH
                and _typed_contacts_business_id(text) is None)

    def quick_search_placeholder(self) -> str:
        # A login id finds its owner only for whoever may read identifiers.
        if can(roles.READ, roles.IDENTIFIER):
            return gettext("Name, email, phone, organisation or login id")
        return super().quick_search_placeholder()


class OrganisationSearchMixin(_QuickSearchMixin):
    quick_search_filter = OrganisationQuickSearch
    partial_search_filter = OrganisationPartialSearch

    def quick_search_placeholder(self) -> str:
        # An organisation is found by its name or its whole business ID, as its link
        # fields' type-ahead list says (crm.views.related).
        return gettext("Search by name or business ID")
