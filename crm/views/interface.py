"""FAB's data interface made for a million rows: a capped count and index-only paging.

Stock FAB counts every matching row on every list page and pages with a plain
OFFSET that reads (and joins) every skipped row. Here:

* the count stops at `CRM_LIST_COUNT_CAP` + 1 (the list says "10 000+"), and is
  not run at all when the page itself settles it: a short last page gives the exact
  count, a full page past the cap proves "10 000+". A count past the cap is kept
  for `CRM_LIST_COUNT_CACHE_SECONDS` per list and filters (or until a row of the
  model is added or deleted in this process), so paging through a large list does
  not scan 10,001 index entries per click; a count within the cap is always exact,
  also read with an empty page past the list's end (which the list then leaves for
  its last page, crm.views.base);
* a page past the first few is read as a deferred join in one statement: the page's
  ids come from an ORDER BY ... OFFSET ... LIMIT over the ids alone, which an index on
  the order column answers without touching the table, and only those rows are
  loaded with their joins;
* LIMIT and OFFSET are written into the statement as numbers (`_literal_int`);
* a page holds at most `MAX_PAGE_SIZE` rows, whatever the address asks
  (`psize_<view>`), and a page number is at most `MAX_PAGE` (crm.views.errors
  refuses an address past either before the list reads it);
* a filter on a date reads 01.02.2026 as 1 February (crm.views.date_filters);
* on SQLite a text column is ordered by its lower() (`sort_key`), as a Finnish
  PostgreSQL database orders it: "aalto", "Aaltodata", "AaltoSolutions", "Zeta", "Örnsköld";
* a save the database refuses is rolled back and logged without its values, and the
  user is told in plain words (crm.views.save_refusals), not with FAB's SQL.
"""

from __future__ import annotations

import functools
import inspect
import time
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context, url_for
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import ListWidget
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crm.services.anonymised import ANONYMISED, about_anonymised
from crm.views import keyset
from crm.views.date_filters import CrmFilterConverter
from crm.views.record_ids import filter_value_fits, no_such_number
from crm.views.save_refusals import refusal, refused_with

#: Count at most this many rows for a list's header; beyond it the list says "N+".
DEFAULT_COUNT_CAP = 10_000
#: How long a count past the cap is reused for the same list and filters.
DEFAULT_COUNT_CACHE_SECONDS = 30.0
#: Pages starting before this row are read directly: skipping so few rows costs less
#: than the deferred join's extra step.
DEFERRED_FROM_ROW = 100
#: Counts kept at most, over all lists and filters.
COUNT_CACHE_SIZE = 512
#: Rows on one list page at most: the largest page size the list offers.
MAX_PAGE_SIZE = 100
#: The last page number a list reads; its OFFSET still fits a 64-bit integer.
MAX_PAGE = 10_000_000


def _literal_int(value: int):
    """Return `value` for a LIMIT or OFFSET, written into the SQL rather than bound.

    psycopg prepares a statement the list runs often; PostgreSQL then plans a statement
    with `LIMIT $1` anew on every run (its generic plan, for an unknown limit, costs
    more than planning), which took longer than the page's own execution (0.12 ms
    planning against 0.04 ms). With the number in the text the prepared plan is reused.
    The compiled statement is still cached once per shape: the number is put in at
    execution (`literal_execute`).
    """
    return sa.literal(int(value), literal_execute=True)


def _config(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def count_cap() -> int:
    """Return the configured cap of a list's row count."""
    return int(_config("CRM_LIST_COUNT_CAP", DEFAULT_COUNT_CAP))


class CountCache:
    """Counts past the cap, per model and filters, for a few seconds.

    Only "more than the cap" is ever kept, which a few rows added or deleted meanwhile
    do not change; adding or deleting a row of the model in this process forgets them.
    """

    def __init__(self) -> None:
        self._expires: dict[tuple, float] = {}

    def above_cap(self, key: tuple | None) -> bool:
        expires = self._expires.get(key) if key is not None else None
        return expires is not None and expires > time.monotonic()

    def remember(self, key: tuple | None) -> None:
        seconds = float(_config("CRM_LIST_COUNT_CACHE_SECONDS", DEFAULT_COUNT_CACHE_SECONDS))
        if key is None or seconds <= 0:
            return
        if len(self._expires) >= COUNT_CACHE_SIZE:
            self._expires.clear()
        self._expires[key] = time.monotonic() + seconds

    def __bool__(self) -> bool:
        return bool(self._expires)

    def clear(self) -> None:
        self._expires.clear()

    def forget(self, models: set[type]) -> None:
        for key in [k for k in list(self._expires) if k[0] in models]:
            self._expires.pop(key, None)


COUNTS = CountCache()


@event.listens_for(Session, "after_flush")
def _forget_changed_counts(session, flush_context) -> None:
    if COUNTS:  # nothing kept (the usual case for a bulk load): nothing to look at
        COUNTS.forget({type(obj) for obj in session.new} | {type(obj) for obj in session.deleted})


def filters_key(model: type, filters) -> tuple | None:
    """Return what identifies a list's matching rows, or None if it cannot be told.

    A filter whose value is a function (FAB's FilterEqualFunction) can match other
    rows for another user: such a list is never cached.
    """
    parts = []
    for flt, value in zip(getattr(filters, "filters", ()), getattr(filters, "values", ()),
                          strict=False):
        if callable(value):
            return None
        parts.append((type(flt), flt.column_name, repr(value)))
    return (model, count_cap(), tuple(parts))


def shown_rows(datamodel, rows: list) -> list:
    """Note `rows` as the last page `datamodel` read in this request, for the audit trail
    of lists (crm.views.list_audit, `last_shown_rows`), and return them."""
    if has_request_context():
        g.setdefault("crm_shown_rows", {})[id(datamodel)] = rows
    return rows


def last_shown_rows(datamodel) -> list | None:
    """Return (and forget) the last page `datamodel` read in this request, if any."""
    if not has_request_context():
        return None
    return g.get("crm_shown_rows", {}).pop(id(datamodel), None)


def _sqlite_indexes(table: sa.Table) -> list:
    """Return the first column (or expression) and WHERE of each index `table` has on
    SQLite, a unique constraint's too."""
    firsts = [(index.expressions[0], index.dialect_options["sqlite"].get("where"))
              for index in table.indexes
              if getattr(index, "_ddl_if", None) is None or index._ddl_if.dialect in (None,
                                                                                   "sqlite")]
    return firsts + [(next(iter(constraint.columns)), None) for constraint in table.constraints
                     if isinstance(constraint, sa.UniqueConstraint) and constraint.columns]


@functools.cache
def _lower_keeps_its_index(column: sa.Column) -> bool:
    """Whether ordering `column` by its lower() on SQLite loses no index: an index of its
    lower(), for every row, orders it, or none ordered the column itself."""
    indexes = _sqlite_indexes(column.table)
    lowered = any(isinstance(first, sa.sql.functions.Function) and first.name == "lower"
                  and [c is column for c in first.clauses] == [True] and where is None
                  for first, where in indexes)
    return lowered or not any(first is column for first, _where in indexes)


def orders_by_lower(session: Session, column) -> bool:
    """Whether a list orders `column` by its lower() (`sort_key`): a text column on SQLite
    whose lower() no index leaves out."""
    kind = getattr(column, "type", None)
    mapped = getattr(column, "property", None)  # a model's attribute: its table's column
    table_column = getattr(mapped, "columns", [None])[0]
    return (isinstance(kind, sa.String) and not isinstance(kind, sa.Enum)
            and isinstance(table_column, sa.Column)
            and session.get_bind().dialect.name == "sqlite"
            and _lower_keeps_its_index(table_column))


def sort_key(session: Session, column):
    """Return what a list orders `column` by: on SQLite a text column's lower().

    SQLite compares text by code point, so "AaltoSolutions" came before "Aaltodata"
    and "Zeta" before "aalto". Its lower() folds ASCII letters and leaves the rest
    after "z", as Finnish has å, ä and ö (among themselves by code point: Ä, Å, Ö,
    then ä, å, ö). The names' lower() indexes (crm.models.indexes, crm.models.subject)
    order their pages. A column whose own index orders its list but whose lower() none
    does keeps its order by code point (a contact's email, an organisation's city, a
    business ID): sorting a million contacts by lower(email) took seconds a page.
    PostgreSQL orders by the column's collation (ICU fi-FI in a Finnish company's
    database), from the list's (column, id) index.
    """
    return func.lower(column) if orders_by_lower(session, column) else column


def _sorts_matches(filters) -> bool:
    """Whether a filter's matches come as a set of ids to sort rather than in the
    order index's order (`sorts_matches`, the quick search's): the page's 25 ids are
    then sorted before any row is joined, not after joining every match."""
    return any(getattr(flt, "sorts_matches", False) for flt in getattr(filters, "filters", ()))


class CrmFilters(Filters):
    """FAB's filters of a list's address, leaving out a filter no longer offered.

    An address names a filter by its place among its column's filters (`_flt_3_name`);
    FAB answered a place past the end (an old bookmark, a hand-edited link) with an
    error page. Such a filter is left out, as FAB leaves out columns it does not know.
    A number no record can have, on a link or a whole-number column, matches nothing
    (crm.views.record_ids) instead of failing the list's query.
    """

    def add_filter_index(self, column_name: str, filter_instance_index: int, value) -> None:
        offered = self._all_filters.get(column_name, [])
        if not 0 <= filter_instance_index < len(offered):
            return
        if not filter_value_fits(self.datamodel, column_name, value):
            self._add_filter(no_such_number(self.datamodel, column_name), value)
            return
        super().add_filter_index(column_name, filter_instance_index, value)


class CrmSQLAInterface(SQLAInterface):
    """A `SQLAInterface` whose count is capped and whose pages are read by their ids.

    Its list filters read dates as the reader writes them (crm.views.date_filters).
    """

    filter_converter_class = CrmFilterConverter
    filters_class = CrmFilters

    def get_order_columns_list(self, list_columns: list[str] | None = None) -> list[str]:
        """FAB's sortable columns less those the database cannot order by: a model's plain
        Python properties (a request's deadline, say) and JSON columns (PostgreSQL has
        no order for json). FAB's list would offer them as headers that end in an error."""
        columns = self.obj.__table__.columns

        def sortable(name: str) -> bool:
            if isinstance(inspect.getattr_static(self.obj, name, None), property):
                return False
            return name not in columns or not isinstance(columns[name].type, sa.JSON)

        return [name for name in super().get_order_columns_list(list_columns)
                if sortable(name)]

    def apply_order_by(self, query, order_column, order_direction, aliases_mapping=None,
                       bypass_many_to_many=False, add_pk=False):
        """FAB's ORDER BY, a text column by its `sort_key` (on SQLite, its lower())."""
        column = getattr(self.obj, order_column, None) if order_column else None
        if column is None or not orders_by_lower(self.session, column):
            return super().apply_order_by(query, order_column, order_direction,
                                          aliases_mapping, bypass_many_to_many, add_pk)
        direction = sa.asc if order_direction == "asc" else sa.desc
        return query.order_by(direction(sort_key(self.session, column)),
                              *([direction(self.get_pk())] if add_pk else []))

    def get_filters(self, search_columns=None, search_filters=None):
        return self.filters_class(self.filter_converter_class, self,
                                  search_columns=search_columns or [],
                                  search_filters=search_filters)

    def is_unique(self, col_name: str) -> bool:
        # The CRM's views check unique values themselves, naming the field in the
        # reader's language (crm.views.save_refusals); FAB's check said "Already
        # exists." in whichever language first asked.
        return False

    def add(self, item, commit: bool = True) -> None:
        self._refuse_anonymised(item)
        try:
            self.session.add(item)
            if commit:
                self.session.commit()
        except SQLAlchemyError as error:
            self.session.rollback()
            raise refusal(error, "add", self.obj) from None

    def edit(self, item, commit: bool = True) -> None:
        self._refuse_anonymised(item)
        try:
            self.session.merge(item)
            if commit:
                self.session.commit()
        except SQLAlchemyError as error:
            self.session.rollback()
            raise refusal(error, "edit", self.obj) from None

    def _refuse_anonymised(self, item) -> None:
        """Refuse to save a record about an anonymised person, whichever screen or form
        sent it (crm.services.anonymised); what the form changed is dropped. Deleting
        one is left to the permissions: it writes nothing about the person."""
        if about_anonymised(item):
            self.session.rollback()
            raise refused_with(ANONYMISED)

    def delete(self, item, commit: bool = True) -> None:
        try:
            self.session.delete(item)
            if commit:
                self.session.commit()
        except SQLAlchemyError as error:
            self.session.rollback()
            raise refusal(error, "delete", self.obj) from None

    def delete_all(self, items) -> None:
        try:
            for item in items:
                self.session.delete(item)
            self.session.commit()
        except SQLAlchemyError as error:
            self.session.rollback()
            raise refusal(error, "delete", self.obj) from None

    def get_inner_filters(self, filters):
        # FAB copies the filters into a new `Filters`, which converts every column of
        # the model into its filters on each call; with no dotted column the copy would
        # hold the very same filters.
        if filters is None or not any("." in f.column_name for f in filters.filters):
            return filters
        return super().get_inner_filters(filters)

    def query_count(self, query, filters=None, select_columns=None) -> int:
        """Return the number of matching rows, but at most the cap + 1."""
        pk = self.get_pk()
        ids = self._apply_inner_all(self.session.query(pk), filters, aliases_mapping={})
        limited = ids.limit(_literal_int(count_cap() + 1)).subquery()
        return self.session.execute(select(func.count()).select_from(limited)).scalar_one()

    def count_all(self, filters=None) -> int:
        """Return the number of matching rows, uncapped: only where a list past the cap
        must know where it ends (a page past its end, `CrmModelView`)."""
        ids = self._apply_inner_all(self.session.query(self.get_pk()), filters,
                                    aliases_mapping={})
        return self.session.execute(select(func.count()).select_from(ids.subquery())
                                    ).scalar_one()

    def query(self, filters=None, order_column="", order_direction="", page=None,
              page_size=None, select_columns=None, outer_default_load=False):
        # The address's page and page size, within bounds (a page never holds a million rows).
        page = min(max(page or 0, 0), MAX_PAGE)
        page_size = min(max(page_size, 1), MAX_PAGE_SIZE) if page_size else page_size
        if not page_size or "." in (order_column or "") or (
                select_columns and self.exists_col_to_many(select_columns)):
            count, rows = super().query(filters, order_column, order_direction, page,
                                        page_size, select_columns, outer_default_load)
            return count, shown_rows(self, rows)
        paging = keyset.paging_of(self)
        if paging is None:
            rows = self._page(filters, order_column, order_direction, page, page_size)
        else:
            rows = self._paged(paging, filters, order_column, order_direction, page, page_size)
        count = self._count(filters, page * page_size, len(rows), page_size)
        return count, shown_rows(self, rows)

    def _paged(self, paging: keyset.Paging, filters, order_column: str, order_direction: str,
               page: int, page_size: int) -> list:
        """Return a page by its key if the request asked so, and note the page's keys."""
        column = sa.inspect(self.obj).columns.get(order_column) if order_column else None
        if order_column and column is None:  # ordered by something else: numbered pages only
            return self._page(filters, order_column, order_direction, page, page_size)
        direction = "asc" if not order_column or order_direction == "asc" else "desc"
        digest = keyset.filters_digest(filters)
        seek = paging.seek(order_column, direction, page, page_size, digest)
        rows = self._seek(filters, order_column, seek, page_size) if seek else None
        if rows is None:
            rows = self._page(filters, order_column, order_direction, page, page_size)
        pk_name = self.get_pk_name()

        def key(row) -> tuple | None:
            value = getattr(row, order_column) if order_column else None
            return (value, getattr(row, pk_name)) if keyset.keyable(value) else None

        paging.read(rows, order_column, direction, page, page_size, digest, key)
        return rows

    def _seek(self, filters, order_column: str, seek: keyset.Seek, page_size: int
              ) -> list | None:
        """Return the page after (or before) the seek's key, or None to read it by number.

        Each run of rows (with a value, without one) is one range scan of the order
        column's index, from the key on.
        """
        pk = self.get_pk()
        column, value = None, seek.value
        if order_column:
            attr = getattr(self.obj, order_column)
            column = sort_key(self.session, attr)
            if column is not attr and value is not None:  # the key's value as ordered
                value = func.lower(sa.literal(value, attr.type))
        reverse = {"asc": "desc", "desc": "asc"}
        walk = seek.direction if seek.after else reverse[seek.direction]
        order = [getattr(c, walk)() for c in (column, pk) if c is not None]
        nulls_high = self.session.get_bind().dialect.name != "sqlite"
        rows: list = []
        for run in keyset.segments(column, pk, walk, value, seek.pk, nulls_high):
            query = self._apply_inner_all(self.session.query(self.obj), filters,
                                          aliases_mapping={})
            rows += query.filter(run).order_by(*order).limit(
                _literal_int(page_size - len(rows))).all()
            if len(rows) == page_size:
                break
        if seek.after:
            return rows
        # Back at the start sooner than the page number says: read it by number instead.
        return rows[::-1] if len(rows) == page_size else None

    def apply_pagination(self, query, page, page_size):
        """FAB's OFFSET and LIMIT, as numbers in the statement (`_literal_int`)."""
        if page and page_size:
            query = query.offset(_literal_int(page * page_size))
        if page_size:
            query = query.limit(_literal_int(page_size))
        return query

    def _page(self, filters, order_column, order_direction, page, page_size) -> list:
        """Return the rows of one page, with their many-to-one joins, in one statement."""
        if page * page_size < DEFERRED_FROM_ROW and not _sorts_matches(filters):
            rows = self._ordered(self.session.query(self.obj), filters, order_column,
                                 order_direction)
            return self.apply_pagination(rows, page, page_size).all()
        pk = self.get_pk()
        # The page's ids alone: an index-only scan of the order column's index.
        ids = self._ordered(self.session.query(pk), filters, order_column, order_direction)
        ids = self.apply_pagination(ids, page, page_size)
        rows = self.session.query(self.obj).filter(pk.in_(ids.subquery().select()))
        return self._ordered(rows, None, order_column, order_direction).all()

    def _ordered(self, query, filters, order_column, order_direction):
        """Return `query` filtered and ordered, the id breaking ties (or alone ordering)."""
        query = self._apply_inner_all(query, filters, order_column, order_direction,
                                      aliases_mapping={})
        return query if order_column else query.order_by(self.get_pk())

    def _count(self, filters, offset: int, rows: int, page_size: int) -> int:
        """Return the capped count of a list whose page at `offset` holds `rows` rows."""
        cap = count_cap()
        if 0 < rows < page_size or (rows == 0 and offset == 0):
            return min(offset + rows, cap + 1)  # the last page: nothing after it
        if rows and offset + rows > cap:
            return cap + 1  # this very page lies past the cap
        # A full page, or an empty one past the list's end (an old link): counted.
        key = filters_key(self.obj, filters)
        if COUNTS.above_cap(key):
            return cap + 1
        count = self.query_count(None, filters)
        if count > cap:
            COUNTS.remember(key)
        return count


class RowLinks:
    """The show, edit and delete links of a list's rows, each route built once per page.

    FAB's list builds three URLs (and translates three titles) per row through its
    macros; the routes differ only in the key, so the key is put into one built URL.
    """

    MARK = "__crm_pk__"
    #: Rows offered no edit link: records about an anonymised person (set by the view).
    read_only: frozenset = frozenset()

    def __init__(self, modelview_name: str, filters) -> None:
        self._routes = {kind: self._route(f"{modelview_name}.{kind}")
                        for kind in ("show", "edit", "delete")}
        # FAB's `set_link_filters`: a related list's own filter goes with show and edit.
        self._related = urlencode([(f"_flt_0_{flt.column_name}", str(value))
                                   for flt, value in (filters.get_filters_values() if filters
                                                      else ())
                                   if flt.is_related_view])

    def _route(self, endpoint: str) -> tuple[str, str] | None:
        try:
            return tuple(url_for(endpoint, pk=self.MARK).split(self.MARK, 1))
        except Exception:  # as FAB's `safe_url_for`: no such route, no link
            return None

    def __call__(self, kind: str, pk) -> str:
        """Return the link of row `pk` to `kind` ("show", "edit", "delete"), or ""."""
        route = self._routes.get(kind)
        if route is None or (kind == "edit" and pk in self.read_only):
            return ""
        # As werkzeug's default converter quotes a path segment.
        link = quote(str(pk), safe="!$&'()*+,/:;=@").join(route)
        if self._related and kind != "delete":
            link += ("&" if "?" in link else "?") + self._related
        return link


class CrmListWidget(ListWidget):
    """FAB's list, whose header shows a capped count as "10 000+" and whose rows are lean."""

    template = "crm/widgets/list.html"

    def __init__(self, **kwargs):
        cap = count_cap()
        count = kwargs.get("count") or 0
        kwargs["count_label"] = (_l("%(count)s+", count=format_decimal(cap)) if count > cap
                                 else format_decimal(count))
        if kwargs.get("modelview_name"):
            kwargs["row_links"] = RowLinks(kwargs["modelview_name"], kwargs.get("filters"))
        super().__init__(**kwargs)
