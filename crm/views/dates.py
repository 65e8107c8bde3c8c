"""Date fields typed the way the page's reader writes dates: 20.11.2026 on Finnish pages,
20/11/2026 on English ones, as the page's lists write them (crm.views.locale: en_GB).

A date and time is typed and shown on the register's clock (`CRM_TIMEZONE`), as
20.11.2026 14.30 on Finnish pages and 20/11/2026 14:30 on English ones, and kept in UTC.

FAB's date widget runs bootstrap-datepicker with the format yyyy-mm-dd, which turns
a date typed as 20.11.2026 into another day; the browser's own <input type="date">
follows the browser's language, not the page's, and takes no typed ISO date. These
fields are text boxes showing the date in the page's format, read back in either
format, with the calendar set up for the page's language (crm/templates/crm/date_picker.html,
which reads typed dates as `TYPED_FORMATS` do and writes a picked day as the field shows it).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import Field
from wtforms.widgets import html_params

#: How a typed date is read, on every page: day first with dots, ISO 8601, or day first
#: with slashes, as English (en_GB) lists show dates (24/11/2026): a date copied from a
#: list, or typed as the list writes it, is read as that day. Month first (11/24/2026)
#: is never read, so it cannot be taken for another day.
TYPED_FORMATS = ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"]
#: How a typed time of day is read, after a typed date: 14.30 or 14:30, seconds optional.
TYPED_TIME_FORMATS = ["%H.%M", "%H:%M", "%H.%M.%S", "%H:%M:%S"]
#: How a page writes a date, by its Babel locale or else its language: the day first with
#: dots in Finnish (5.2.2026), with slashes in English as its en_GB lists (05/02/2026), and
#: ISO 8601 (2026-02-05) in any other and for the command line's en_SE. The calendar writes
#: a picked day in the same style (its "style" option).
DATE_STYLES = {"fi": "dots", "en": "slashes", "en_SE": "iso"}
#: How each style's reader is told to write a date, and a date and time.
SHAPES = {
    "dots": (_l("dd.mm.yyyy"), _l("dd.mm.yyyy hh.mm")),
    "slashes": (_l("dd/mm/yyyy"), _l("dd/mm/yyyy hh:mm")),
    "iso": (_l("yyyy-mm-dd"), _l("yyyy-mm-dd hh:mm")),
}
#: The picker lists a week from Sunday; Babel numbers the days from Monday.
_SUNDAY_FIRST = [6, 0, 1, 2, 3, 4, 5]


def date_style() -> str:
    """Return how the page writes dates (`DATE_STYLES`): "dots", "slashes" or "iso"."""
    locale = get_locale()
    if locale is None:
        return "iso"
    return DATE_STYLES.get(str(locale), DATE_STYLES.get(locale.language, "iso"))


def typed_date(value: date) -> str:
    """Return `value` as the page's reader types it: 5.2.2026, 05/02/2026 or 2026-02-05."""
    style = date_style()
    if style == "dots":
        return f"{value.day}.{value.month}.{value.year}"
    if style == "slashes":
        return f"{value.day:02d}/{value.month:02d}/{value.year}"
    return value.isoformat()


def register_zone() -> ZoneInfo:
    """Return the time zone of the register's clock (`CRM_TIMEZONE`)."""
    return ZoneInfo(current_app.config["CRM_TIMEZONE"])


def typed_datetime(value: datetime) -> str:
    """Return `value` on the register's clock as the reader types it: 20.11.2026 9.05, or
    20/11/2026 09:05 (a 24-hour clock, as English lists show it), or 2026-11-20 09:05."""
    local = value.astimezone(register_zone())
    if date_style() == "dots":
        return f"{typed_date(local.date())} {local.hour}.{local.minute:02d}"
    return f"{typed_date(local.date())} {local.hour:02d}:{local.minute:02d}"


def read_date(text: str) -> date | None:
    """Return the date typed as `text` (20.11.2026, 2026-11-20 or 20/11/2026), or None."""
    for shape in TYPED_FORMATS:
        try:
            return datetime.strptime(text.strip(), shape).date()
        except ValueError:
            continue
    return None


def read_datetime(text: str) -> tuple[datetime, timedelta] | None:
    """Return the instant typed as `text` on the register's clock, in UTC, and how long
    the typed time lasts (a minute, or a second when seconds are typed); or None.

    A time the clock skips or shows twice (daylight saving) is read as before the change
    (zoneinfo's fold=0): 3.30 on the spring night is 4.30 summer time.
    """
    # en_GB lists write "24/11/2026, 11:38": the comma is read as a space.
    text = " ".join(text.replace("T", " ").replace(",", " ").split())
    for day_shape in TYPED_FORMATS:
        for time_shape in TYPED_TIME_FORMATS:
            try:
                local = datetime.strptime(text, f"{day_shape} {time_shape}")
            except ValueError:
                continue
            length = timedelta(seconds=1 if "%S" in time_shape else 60)
            return local.replace(tzinfo=register_zone()).astimezone(UTC), length
    return None


def local_day(day: date) -> tuple[datetime, datetime]:
    """Return when the register's day `day` begins and when the next one begins, in UTC."""
    zone = register_zone()
    start = datetime.combine(day, datetime.min.time(), zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def date_shape() -> str:
    """Return how to write a date on the page, in its language: dd.mm.yyyy, dd/mm/yyyy..."""
    return str(SHAPES[date_style()][0])


def invalid_date_message() -> str:
    """Return what a date that could not be read is told, in the page's language."""
    return str(_l("Enter the date as %(format)s.", format=date_shape()))


def datetime_shape() -> str:
    """Return how to write a date and time on the page: dd.mm.yyyy hh.mm, dd/mm/yyyy hh:mm..."""
    return str(SHAPES[date_style()][1])


def invalid_datetime_message() -> str:
    """Return what a date and time that could not be read is told, in the page's language."""
    return str(_l("Enter the date and time as %(format)s.", format=datetime_shape()))


def picker_options(latest: date | str | None = None, with_time: bool = False) -> dict:
    """Return the calendar's settings for the page's language; `latest` is its last day.

    With `with_time`, a day picked keeps the time typed after the date.
    """
    locale = get_locale()
    days, months = locale.days["stand-alone"], locale.months["stand-alone"]
    return {
        "style": date_style(),
        "withTime": with_time,
        "latest": latest.isoformat() if isinstance(latest, date) else latest,
        "language": {
            "days": [days["wide"][d] for d in _SUNDAY_FIRST],
            "daysShort": [days["abbreviated"][d] for d in _SUNDAY_FIRST],
            "daysMin": [days["short"][d] for d in _SUNDAY_FIRST],
            "months": [months["wide"][m] for m in range(1, 13)],
            "monthsShort": [months["abbreviated"][m] for m in range(1, 13)],
            "weekStart": (locale.first_week_day + 1) % 7,
        },
    }


class DatePickerInput:
    """A text box with the calendar beside it; a `max` (as for <input type=date>) ends it."""

    with_time = False

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        kwargs.setdefault("placeholder", datetime_shape() if self.with_time else date_shape())
        given = f"{kwargs.pop('class_', '')} {kwargs.pop('class', '')}".split()
        classes = " ".join(dict.fromkeys(["form-control", *given]))
        latest = kwargs.pop("max", None)
        if callable(latest):  # a last day known only when the form is shown, e.g. today
            latest = latest()
        options = json.dumps(picker_options(latest, self.with_time))
        return Markup(
            '<div class="input-group date crm-date" {}>'
            '<input {}>'
            '<span class="input-group-addon"><i class="fa fa-calendar cursor-hand"></i></span>'
            "</div>"
        ).format(Markup(html_params(data_crm_date=options)),
                 Markup(html_params(type="text", value=field._value(), autocomplete="off",
                                    class_=classes, **kwargs)))


class _TypedField(Field):
    """A field typed as text and shown as the page's reader writes it (`_shown`), read
    back by `_read` (None: unreadable, told by `_unreadable`). Text typed stays as typed
    when the form comes back; an empty box is no value; a field not posted leaves the
    record's own value."""

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self._shown(self.data) if self.data else ""

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not in the form posted: the record's own value stays
        typed = " ".join(valuelist).strip()
        self.data = self._read(typed) if typed else None
        if typed and self.data is None:
            raise ValueError(self._unreadable())


class LocalDateField(_TypedField):
    """A date typed as 20.11.2026, 2026-11-20 or 20/11/2026 on any page, shown as the page
    writes dates."""

    widget = DatePickerInput()

    @staticmethod
    def _shown(value: date) -> str:
        return typed_date(value)

    @staticmethod
    def _read(typed: str) -> date | None:
        return read_date(typed)

    @staticmethod
    def _unreadable() -> str:
        return invalid_date_message()


class DateTimePickerInput(DatePickerInput):
    """A text box for a date and time, whose calendar changes the date and keeps the time."""

    with_time = True


class LocalDateTimeField(_TypedField):
    """A date and time typed on the register's clock, kept timezone-aware in UTC.

    Read as 20.11.2026 14.30, 20.11.2026 14:30, 2026-11-20 14:30 or 20/11/2026 14:30
    (seconds optional) on any page; shown as the page writes times, to the minute. A
    record's time sent back as the same minute keeps its seconds.
    """

    widget = DateTimePickerInput()

    @staticmethod
    def _shown(value: datetime) -> str:
        return typed_datetime(value)

    @staticmethod
    def _read(typed: str) -> datetime | None:
        read = read_datetime(typed)
        return read[0] if read else None

    @staticmethod
    def _unreadable() -> str:
        return invalid_datetime_message()

    def populate_obj(self, obj, name):
        stored = getattr(obj, name, None)
        if isinstance(stored, datetime) and self.data is not None \
                and self.data == stored.replace(second=0, microsecond=0):
            return  # the minute shown, sent back: the record keeps the seconds left out
        super().populate_obj(obj, name)
