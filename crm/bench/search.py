"""The quick-search measures (DESIGN §10): by email, name, phone and organisation.

Each term comes from a generated contact deep in the register. A name and an
organisation are searched as people type them, by a common prefix: the plain surname
("Virtanen", tens of thousands of people) and "Bench Org" (every organisation); a
longer prefix with a few thousand people ("Virtanen7", "Bench Org 00375"), between
a rare value and one past the list's count cap, as `mid_ms`; and the whole unique
name (digits and all) as `rare_ms`. The figure is the
contacts list's search as the screen runs it (capped count and first page); the
baseline is the bare SQL query of the same first page with the same condition, in
the same run. The target is ≤ 50 ms at a million contacts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from crm.bench.lists import page_sql, view_page
from crm.bench.timing import (
    PAGE_MS_TARGET,
    bare_sql,
    compare,
    ensure_contacts,
    timings_ms,
)

if TYPE_CHECKING:
    from crm.bench import Bench


def _sample(bench: Bench) -> dict:
    """Return a contact from three quarters into the register, with its organisation."""
    with bench.engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT c.last_name, c.email, c.phone, o.name FROM contact c "
            "JOIN organisation o ON o.id = c.organisation_id "
            "WHERE c.anonymised_at IS NULL ORDER BY c.id LIMIT 1 OFFSET :n"),
            {"n": bench.contacts * 3 // 4}).one()
    return {"last_name": row[0], "email": row[1], "phone": row[2], "organisation": row[3]}


def _conditions(bench: Bench, sample: dict) -> dict[str, tuple[str, str, dict, dict]]:
    """Return measure -> (search text, SQL condition, parameters, {"mid"/"rare": text})."""
    local_phone = "0" + sample["phone"][4:]  # +35850... as typed: 050...
    surname = sample["last_name"].rstrip("0123456789")  # "Virtanen750000": "Virtanen"
    number = sample["last_name"][len(surname):]
    org = " ".join(sample["organisation"].split()[:2])  # "Bench Org 0037500 Oy": "Bench Org"
    org_number = sample["organisation"].split()[2]
    return {
        "search_email": (sample["email"],
                         "AND lower(contact.email) LIKE :p", {"p": sample["email"] + "%"},
                         {}),
        "search_name": (surname,
                        "AND (lower(contact.last_name) LIKE :p "
                        "OR lower(contact.first_name) LIKE :p)",
                        {"p": surname.lower() + "%"},
                        {"mid": surname + number[:1], "rare": sample["last_name"]}),
        "search_phone": (local_phone,
                         "AND (contact.phone = :p OR contact.mobile = :p)",
                         {"p": sample["phone"]}, {}),
        "search_organisation": (org,
                                "AND lower(organisation.name) LIKE :p",
                                {"p": org.lower() + "%"},
                                {"mid": f"{org} {org_number[:5]}",
                                 "rare": sample["organisation"]}),
    }


def _measure(bench: Bench, name: str) -> dict:
    ensure_contacts(bench)
    text, where, params, others = _conditions(bench, _sample(bench))[name]
    result = _search_row(bench, name, text, where, params)
    # The same search with a longer prefix (a few thousand people) and a unique value:
    # extra rows, each against the bare query of its own condition, all within 50 ms.
    result["extra"] = [_search_row(bench, f"{name} ({kind})", other, where,
                                   {"p": other.lower() + "%"})
                       for kind, other in others.items()]
    for row in result["extra"]:
        result["ok"] = result["ok"] and row["ok"]
    result["details"]["baseline_ratio"] = result["ratio"]
    return {k: v for k, v in result.items() if k != "name"}


def _search_row(bench: Bench, name: str, text: str, where: str, params: dict) -> dict:
    figure = timings_ms(view_page(bench, 0, search=text))
    baseline = timings_ms(bare_sql(bench.engine, page_sql(bench, where, 0), params))
    row = compare(name, figure, baseline, target_ratio=None, target_ms=PAGE_MS_TARGET)
    row["details"]["search"], row["details"]["matches"] = \
        text, view_page(bench, 0, search=text)()[0]
    return row


def email(bench: Bench) -> dict:
    return _measure(bench, "search_email")


def name(bench: Bench) -> dict:
    return _measure(bench, "search_name")


def phone(bench: Bench) -> dict:
    return _measure(bench, "search_phone")


def organisation(bench: Bench) -> dict:
    return _measure(bench, "search_organisation")
