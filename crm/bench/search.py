"""The quick-search measures (DESIGN §10): by email, name, phone and organisation.

Each term comes from a generated contact deep in the register. A name and an
organisation are searched as people type them, by a common prefix: the plain surname
("Virtanen", tens of thousands of people) and "Bench Org" (every organisation); the
whole unique name (digits and all) is measured too, as `rare_ms`. The figure is the
contacts list's search as the screen runs it (capped count and first page); the
baseline is the bare SQL query of the same first page with the same condition, in
the same run. The target is ≤ 50 ms at a million contacts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from crm.bench.lists import PAGE_SQL, view_page
from crm.bench.timing import (
    PAGE_MS_TARGET,
    bare_sql,
    compare,
    ensure_contacts,
    p95,
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


def _conditions(bench: Bench, sample: dict) -> dict[str, tuple[str, str, dict, str | None]]:
    """Return measure -> (search text, SQL condition, parameters, rare search text)."""
    local_phone = "0" + sample["phone"][4:]  # +35850... as typed: 050...
    surname = sample["last_name"].rstrip("0123456789")  # "Virtanen750000": "Virtanen"
    org = " ".join(sample["organisation"].split()[:2])  # "Bench Org 0037500 Oy": "Bench Org"
    return {
        "search_email": (sample["email"],
                         "AND lower(contact.email) LIKE :p", {"p": sample["email"] + "%"},
                         None),
        "search_name": (surname,
                        "AND (lower(contact.last_name) LIKE :p "
                        "OR lower(contact.first_name) LIKE :p)",
                        {"p": surname.lower() + "%"}, sample["last_name"]),
        "search_phone": (local_phone,
                         "AND (contact.phone = :p OR contact.mobile = :p)",
                         {"p": sample["phone"]}, None),
        "search_organisation": (org,
                                "AND lower(organisation.name) LIKE :p",
                                {"p": org.lower() + "%"}, sample["organisation"]),
    }


def _measure(bench: Bench, name: str) -> dict:
    ensure_contacts(bench)
    text, where, params, rare = _conditions(bench, _sample(bench))[name]
    figure = timings_ms(view_page(bench, 0, search=text))
    baseline = timings_ms(bare_sql(bench.engine, PAGE_SQL.format(where=where, offset=0),
                                   params))
    result = compare(name, figure, baseline, target_ratio=None, target_ms=PAGE_MS_TARGET)
    details = result["details"]
    details["search"], details["matches"] = text, view_page(bench, 0, search=text)()[0]
    if rare:
        details["rare_search"] = rare
        details["rare_ms"] = round(p95(timings_ms(view_page(bench, 0, search=rare))), 3)
        details["rare_matches"] = view_page(bench, 0, search=rare)()[0]
        result["ok"] = result["ok"] and details["rare_ms"] <= PAGE_MS_TARGET
    details["baseline_ratio"] = result["ratio"]
    return {k: v for k, v in result.items() if k != "name"}


def email(bench: Bench) -> dict:
    return _measure(bench, "search_email")


def name(bench: Bench) -> dict:
    return _measure(bench, "search_name")


def phone(bench: Bench) -> dict:
    return _measure(bench, "search_phone")


def organisation(bench: Bench) -> dict:
    return _measure(bench, "search_organisation")
