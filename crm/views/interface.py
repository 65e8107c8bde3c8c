"""FAB's data interface made for a million rows: a capped count and index-only paging.

Stock FAB counts every matching row on every list page and pages with a plain
OFFSET that reads (and joins) every skipped row. Here the count stops at
`CRM_LIST_COUNT_CAP` + 1 (the list says "10 000+"), and a page is read as a
deferred join: the page's ids come from an ORDER BY ... OFFSET ... LIMIT over
the ids alone, which an index on the order column answers without touching the
table, and only those 25 rows are then loaded with their joins.
"""

from __future__ import annotations

from flask import current_app, has_app_context
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import ListWidget
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

#: Count at most this many rows for a list's header; beyond it the list says "N+".
DEFAULT_COUNT_CAP = 10_000


def count_cap() -> int:
    """Return the configured cap of a list's row count."""
    if has_app_context():
        return int(current_app.config.get("CRM_LIST_COUNT_CAP", DEFAULT_COUNT_CAP))
    return DEFAULT_COUNT_CAP


class CrmSQLAInterface(SQLAInterface):
    """A `SQLAInterface` whose count is capped and whose pages are read by their ids."""

    def query_count(self, query, filters=None, select_columns=None) -> int:
        """Return the number of matching rows, but at most the cap + 1."""
        pk = self.get_pk()
        ids = self._apply_inner_all(self.session.query(pk), filters, aliases_mapping={})
        limited = ids.limit(count_cap() + 1).subquery()
        return self.session.execute(select(func.count()).select_from(limited)).scalar_one()

    def query(self, filters=None, order_column="", order_direction="", page=None,
              page_size=None, select_columns=None, outer_default_load=False):
        if not page_size or "." in (order_column or "") or (
                select_columns and self.exists_col_to_many(select_columns)):
            return super().query(filters, order_column, order_direction, page, page_size,
                                 select_columns, outer_default_load)
        count = self.query_count(None, filters)
        pk = self.get_pk()
        # The page's ids alone: an index-only scan of the order column's index.
        ids = self._apply_inner_all(self.session.query(pk), filters, order_column,
                                    order_direction, page, page_size, aliases_mapping={})
        rows = self.session.query(self.obj).filter(pk.in_(ids.subquery().select()))
        rows = self.apply_order_by(rows, order_column, order_direction, add_pk=True)
        if not order_column:
            rows = rows.order_by(pk)
        return count, rows.all()


class CrmListWidget(ListWidget):
    """FAB's list, whose header shows a capped count as "10 000+"."""

    template = "crm/widgets/list.html"

    def __init__(self, **kwargs):
        cap = count_cap()
        count = kwargs.get("count") or 0
        kwargs["count_label"] = (_l("%(count)s+", count=format_decimal(cap)) if count > cap
                                 else format_decimal(count))
        super().__init__(**kwargs)
