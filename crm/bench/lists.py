"""The list measures (DESIGN §10): the contacts list's first page and page 10,000.

The figure is what the list screen asks of the database for a page, through the
CRM's data interface (the page with its organisations, then the capped count unless
the page settles it or it was counted moments ago), against the baseline: the bare
SQL query of the same page (same filter, order, OFFSET and LIMIT, organisation
joined) through the DB-API, in the same run. Extra rows: the same data path when the
count must be run (a list's first visit), and the full HTTP request (rendering
included), both against the ms target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import g

from crm.bench.timing import (
    PAGE_MS_TARGET,
    bare_sql,
    compare,
    ensure_contacts,
    signed_in_client,
    timings_ms,
)
from crm.views import keyset
from crm.views.interface import COUNTS, count_cap

if TYPE_CHECKING:
    from crm.bench import Bench

PAGE_SIZE = 25
DEEP_PAGE = 10_000

PAGE_SQL = """SELECT contact.*, organisation.* FROM contact
LEFT OUTER JOIN organisation ON organisation.id = contact.organisation_id
WHERE contact.anonymised_at IS NULL {where}
ORDER BY {order} ASC, contact.id ASC LIMIT 25 OFFSET {offset}"""

#: The same page as the row after a key, as the list's "›" link reads it.
KEY_PAGE_SQL = """SELECT contact.*, organisation.* FROM contact
LEFT OUTER JOIN organisation ON organisation.id = contact.organisation_id
WHERE contact.anonymised_at IS NULL AND {after}
ORDER BY {order} ASC, contact.id ASC LIMIT 25"""

#: database -> (the list's order by last name, the rows after a key in it): on SQLite
#: the last name's lower(), the key written out (crm.views.interface.sort_key,
#: crm.views.keyset.past_key).
LAST_NAME_ORDER = {
    "postgresql": ("contact.last_name", "(contact.last_name, contact.id) > (:value, :pk)"),
    "sqlite": ("lower(contact.last_name)",
               "lower(contact.last_name) >= lower(:value) AND "
               "(lower(contact.last_name) > lower(:value) OR contact.id > :pk)"),
}


def page_sql(bench: Bench, where: str, offset: int) -> str:
    """Return the bare SQL of a contacts list page by last name (`PAGE_SQL`)."""
    order, _after = LAST_NAME_ORDER[bench.engine.dialect.name]
    return PAGE_SQL.format(where=where, offset=offset, order=order)


def key_page_sql(bench: Bench) -> str:
    """Return the bare SQL of the page after a key (`KEY_PAGE_SQL`)."""
    order, after = LAST_NAME_ORDER[bench.engine.dialect.name]
    return KEY_PAGE_SQL.format(order=order, after=after)


def contact_view(app):
    from crm.views.register import ContactView

    return next(v for v in app.appbuilder.baseviews if type(v) is ContactView)


def view_page(bench: Bench, page: int, search: str | None = None, *,
              first_visit: bool = False):
    """Return a function reading one contacts list page as the screen does.

    :param first_visit: forget the counts kept from earlier runs first.
    """
    view = contact_view(bench.app)

    def run():
        if first_visit:
            COUNTS.clear()
        with bench.app.test_request_context("/contactview/list/"):
            # The bench's own app context holds `g` for every request it makes: the
            # search must not stay behind for the next measure's pages.
            if search:
                g.crm_quick_search = {id(view): search}
            try:
                count, rows = view.datamodel.query(view._base_filters, "last_name", "asc",
                                                   page=page, page_size=PAGE_SIZE)
            finally:
                g.pop("crm_quick_search", None)
            return count, [str(r.organisation) for r in rows]

    return run


def key_page(bench: Bench, page: int):
    """Return a function reading page `page` as the "›" link of the page before it does,
    that link's URL, and the key it carries (last name, id)."""
    view = contact_view(bench.app)
    with bench.app.test_request_context("/contactview/list/"):
        paging = keyset.start(view.datamodel, "ContactView", page - 1)
        view.datamodel.query(view._base_filters, "last_name", "asc", page=page - 1,
                             page_size=PAGE_SIZE)
        seek = paging.last
    url = f"/contactview/list/?page_ContactView={page}&seek_ContactView={seek.encode()}"

    def run():
        with bench.app.test_request_context(url):
            keyset.start(view.datamodel, "ContactView", page)
            count, rows = view.datamodel.query(view._base_filters, "last_name", "asc",
                                               page=page, page_size=PAGE_SIZE)
            return count, [str(r.organisation) for r in rows]

    return run, url, (seek.value, seek.pk)


def page_rows(bench: Bench, page: int) -> int:
    """Return the page a bench of this size has, at most page `page` (0-based)."""
    return min(page, max(0, bench.contacts // PAGE_SIZE - 2))


def _page_measure(bench: Bench, name: str, page: int) -> dict:
    ensure_contacts(bench)
    page = page_rows(bench, page)
    figure = timings_ms(view_page(bench, page))
    baseline = timings_ms(bare_sql(bench.engine, page_sql(bench, "", page * PAGE_SIZE)))
    result = compare(name, figure, baseline, target_ms=PAGE_MS_TARGET)
    extra = []
    if (page + 1) * PAGE_SIZE <= count_cap():  # else the page itself proves "10 000+"
        first = timings_ms(view_page(bench, page, first_visit=True))
        extra.append(compare(f"{name} (count run)", first, baseline, target_ratio=None,
                             target_ms=PAGE_MS_TARGET))
    client = signed_in_client(bench)
    url = f"/contactview/list/?page_ContactView={page}" if page else "/contactview/list/"
    http = timings_ms(lambda: client.get(url), repetitions=20)
    row = compare(f"{name} (HTTP, rendered)", http, baseline, target_ratio=None,
                  target_ms=PAGE_MS_TARGET)
    if page:
        extra += _key_page_measure(bench, client, page, baseline)
    result["extra"] = [*extra, row]
    result["details"]["page"] = page
    return {k: v for k, v in result.items() if k != "name"}


def _key_page_measure(bench: Bench, client, page: int, numbered: list[float]) -> list[dict]:
    """The same page reached by the "›" link of the page before it (crm.views.keyset)."""
    run, url, (value, pk) = key_page(bench, page)
    baseline = timings_ms(bare_sql(bench.engine, key_page_sql(bench),
                                   {"value": value, "pk": pk}))
    data = compare("list_deep_page (› link)", timings_ms(run), baseline,
                   target_ms=PAGE_MS_TARGET)
    data["details"]["baseline"] = "the bare keyset query of the same page"
    http = timings_ms(lambda: client.get(url), repetitions=20)
    return [data, compare("list_deep_page (› link, HTTP, rendered)", http, baseline,
                          target_ratio=None, target_ms=PAGE_MS_TARGET)]


def first_page(bench: Bench) -> dict:
    return _page_measure(bench, "list_first_page", 0)


def deep_page(bench: Bench) -> dict:
    return _page_measure(bench, "list_deep_page", DEEP_PAGE)


def permission_queries(bench: Bench) -> dict:
    """Count the permission queries (and all queries) of a contacts list page as Sales."""
    import sqlalchemy as sa

    ensure_contacts(bench)
    client = signed_in_client(bench)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    client.get("/contactview/list/")
    sa.event.listen(bench.engine, "before_cursor_execute", record)
    try:
        status = client.get("/contactview/list/").status_code
    finally:
        sa.event.remove(bench.engine, "before_cursor_execute", record)
    permission = sum("ab_permission" in s for s in statements)
    return {"figure": permission, "unit": "queries", "target": "≤ 1",
            "ok": permission <= 1 and status == 200,
            "extra": [{"name": "list page queries, all", "figure": len(statements),
                       "unit": "queries", "target": "fixed", "ok": status == 200}],
            "details": {"status": status, "queries": len(statements)}}
