"""Keyset paging for the list screens: "next" and "previous" cost the same on any page.

A numbered page link is read with OFFSET (crm.views.interface), which at page 10,000
still walks 250,000 index entries. The list's "›" and "‹" links carry instead the
key of the row they continue from (the order column's value and the id), and the
page is read as "the next 25 rows after that key" in the list's own order: a range
scan of the order column's index, as short on page 10,000 as on page 2.

A key is only a position. It is used when the request still asks for the same list it
was made for (order, direction, filters, page number and size); otherwise it is ignored and
the page is read by its number. The rows shown are always what the request's own
filters allow; a forged or stale key can only change which of them come first.

NULLs sort last ascending on PostgreSQL and first on SQLite (the reverse descending),
so a list is walked as two runs, the rows with a value and the rows without, in the
order the database itself sorts them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from flask import g, has_request_context, request, url_for
from sqlalchemy import and_, or_, tuple_
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.functions import FunctionElement

from crm.views.record_ids import MAX_ID, record_id

#: How a key's value is read back, by the tag it was written with.
_LOADERS = {"t": dt.datetime.fromisoformat, "d": dt.date.fromisoformat, "n": Decimal,
            "s": str, "i": int, "f": float}
#: The JSON types the plain tags arrive as.
_JSON = {"s": str, "i": int, "f": float}


def _dump(value) -> list | None:
    """Return `value` as JSON, tagged with its type."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return ["t", value.isoformat()]
    if isinstance(value, dt.date):
        return ["d", value.isoformat()]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    for tag, kind in _JSON.items():
        if type(value) is kind:  # not a bool, not an enum member
            return [tag, value]
    raise TypeError(f"no key for a value of type {type(value).__name__}")


def _load(tagged):
    if tagged is None:
        return None
    tag, text = tagged
    if type(text) is not _JSON.get(tag, str):
        raise ValueError(f"not a value of tag {tag!r}")
    return _LOADERS[tag](text)


def keyable(value) -> bool:
    """Tell whether a key can carry `value` (an order column's value)."""
    try:
        _dump(value)
    except TypeError:
        return False
    return True


def filters_digest(filters) -> str:
    """Return a short digest of a list's filters: a key is for these filters only."""
    parts = [(type(flt).__name__, flt.column_name, "fn" if callable(value) else repr(value))
             for flt, value in zip(getattr(filters, "filters", ()),
                                   getattr(filters, "values", ()), strict=False)]
    return hashlib.blake2s(repr(parts).encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class Seek:
    """Read the page of rows after (or before) the row whose key is (value, pk)."""

    order: str
    direction: str
    page: int
    page_size: int
    digest: str
    after: bool
    value: object
    pk: int

    def encode(self) -> str:
        data = [self.order, self.direction, self.page, self.page_size, self.digest,
                int(self.after),
                _dump(self.value), self.pk]
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Seek | None:
        """Return the seek a link carries, or None if it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            order, direction, page, page_size, digest, after, value, pk = json.loads(raw)
            seek = cls(str(order), str(direction), int(page), int(page_size), str(digest),
                       bool(after), _load(value), int(pk))
        except (ValueError, TypeError, KeyError, ArithmeticError, binascii.Error):
            return None
        # A number past 64 bits is no row's key: SQLite could not even bind it.
        return seek if (seek.direction in ("asc", "desc") and seek.page >= 0
                        and record_id(seek.pk) is not None
                        and (type(seek.value) is not int or abs(seek.value) <= MAX_ID)) \
            else None


def segments(column, pk, walk: str, value, key, nulls_high: bool):
    """Yield the conditions of the rows past (`value`, `key`) walking in `walk` order.

    One condition per run of rows (with a value, without one) from the key's run on,
    in the order the database sorts them; each run is read in the same ORDER BY.
    """
    up = walk == "asc"

    def past(left, right):
        return left > right if up else left < right

    if column is None:
        yield past(pk, key)
        return
    nulls_last = up == nulls_high
    if value is None:
        yield and_(column.is_(None), past(pk, key))
        if not nulls_last:
            yield column.is_not(None)
    else:
        yield past_key(column, pk, value, key, up)
        if nulls_last:
            yield column.is_(None)


def past_key(column, pk, value, key, up: bool, inclusive: bool = False):
    """Return the condition of the rows whose (`column`, `pk`) sorts after (`value`,
    `key`) walking up (`up`), or before it walking down; `inclusive`: the key's own too.

    On a column, a row comparison: the (column, id) index answers it with one range
    scan. A plain tuple on the right: its values are bound as the columns' own types.
    On an expression (SQLite's lower(name), crm.views.interface.sort_key) it is written
    out, a range of the expression and the id within its first value: SQLite seeks
    an expression's index by a range of it, but reads it all for a row comparison.
    """
    if isinstance(column, FunctionElement):
        within = (pk >= key if up else pk <= key) if inclusive else (pk > key if up
                                                                        else pk < key)
        if up:
            return and_(column >= value, or_(column > value, within))
        return and_(column <= value, or_(column < value, within))
    left = tuple_(column, pk)
    right = tuple_(value, key) if isinstance(value, ClauseElement) else (value, key)
    if inclusive:
        return left >= right if up else left <= right
    return left > right if up else left < right


class Paging:
    """One list's paging in one request: the key it was asked to seek, and its links."""

    def __init__(self, modelview_name: str, page: int) -> None:
        self.arg = f"seek_{modelview_name}"
        self.page_arg = f"page_{modelview_name}"
        self.page = page
        token = request.args.get(self.arg, "")
        self.asked = Seek.decode(token[:400]) if token else None
        self.first: Seek | None = None  # where "‹" goes back from
        self.last: Seek | None = None  # where "›" goes on from

    def seek(self, order: str, direction: str, page: int, page_size: int, digest: str
             ) -> Seek | None:
        """Return the asked seek if it was made for this very list and page."""
        asked = self.asked
        if asked and (asked.order, asked.direction, asked.page, asked.page_size,
                      asked.digest) == (order, direction, page, page_size, digest):
            return asked
        return None

    def read(self, rows: list, order: str, direction: str, page: int, page_size: int,
             digest: str, key) -> None:
        """Note the page's first and last keys (`key(row)` is (value, pk) or None)."""
        first, last = (key(rows[0]), key(rows[-1])) if rows else (None, None)
        where = (order, direction)
        if first is not None and page > 0:
            self.first = Seek(*where, page - 1, page_size, digest, False, *first)
        if last is not None:
            self.last = Seek(*where, page + 1, page_size, digest, True, *last)

    def url(self, page: int, seek: Seek | None = None) -> str:
        """Return this request's URL at `page`, with `seek` (the numbered links: none)."""
        args = request.args.to_dict(flat=False)
        args.pop(self.arg, None)
        args[self.page_arg] = [page]
        if seek is not None:
            args[self.arg] = [seek.encode()]
        return url_for(request.endpoint, **{**request.view_args, **args})

    def next_url(self) -> str:
        return self.url(self.page + 1, self.last)

    def previous_url(self) -> str:
        return self.url(self.page - 1, self.first)


def paging_of(datamodel) -> Paging | None:
    """Return the paging this request asked of the list read through `datamodel`."""
    if not has_request_context():
        return None
    return g.get("crm_paging", {}).get(id(datamodel))


def start(datamodel, modelview_name: str, page: int) -> Paging:
    """Begin a list's paging for this request."""
    paging = Paging(modelview_name, page)
    g.setdefault("crm_paging", {})[id(datamodel)] = paging
    return paging


def stop(datamodel) -> None:
    g.get("crm_paging", {}).pop(id(datamodel), None)
