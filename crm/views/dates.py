"""Date fields typed the way the page's reader writes dates: 20.11.2026 on Finnish pages.

FAB's date widget runs bootstrap-datepicker with the format yyyy-mm-dd, which turns
a date typed as 20.11.2026 into another day; the browser's own <input type="date">
follows the browser's language, not the page's, and takes no typed ISO date. These
fields are text boxes showing the date in the page's format, read back in either
format, with the calendar set up for the page's language (crm/templates/crm/date_picker.html,
which reads typed dates as `TYPED_FORMATS` do).
"""

from __future__ import annotations

import json
from datetime import date

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import DateField
from wtforms.widgets import html_params

#: How a typed date is read, on every page: day first with dots, or ISO 8601.
TYPED_FORMATS = ["%d.%m.%Y", "%Y-%m-%d"]
#: Languages whose readers write the day first (20.11.2026); other pages show ISO dates.
DAY_FIRST = {"fi"}
#: The picker lists a week from Sunday; Babel numbers the days from Monday.
_SUNDAY_FIRST = [6, 0, 1, 2, 3, 4, 5]


def day_first() -> bool:
    """Return whether the page's reader writes the day first (20.11.2026)."""
    locale = get_locale()
    return locale is not None and locale.language in DAY_FIRST


def typed_date(value: date) -> str:
    """Return `value` as the page's reader types it: 20.11.2026, or 2026-11-20."""
    return f"{value.day}.{value.month}.{value.year}" if day_first() else value.isoformat()


def date_shape() -> str:
    """Return how to write a date on the page, in its language: dd.mm.yyyy, or yyyy-mm-dd."""
    return str(_l("dd.mm.yyyy") if day_first() else _l("yyyy-mm-dd"))


def invalid_date_message() -> str:
    """Return what a date that could not be read is told, in the page's language."""
    return str(_l("Enter the date as %(format)s.", format=date_shape()))


def picker_options(latest: date | str | None = None) -> dict:
    """Return the calendar's settings for the page's language; `latest` is its last day."""
    locale = get_locale()
    days, months = locale.days["stand-alone"], locale.months["stand-alone"]
    return {
        "dayFirst": day_first(),
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

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        kwargs.setdefault("placeholder", date_shape())
        given = f"{kwargs.pop('class_', '')} {kwargs.pop('class', '')}".split()
        classes = " ".join(dict.fromkeys(["form-control", *given]))
        options = json.dumps(picker_options(kwargs.pop("max", None)))
        return Markup(
            '<div class="input-group date crm-date" {}>'
            '<input {}>'
            '<span class="input-group-addon"><i class="fa fa-calendar cursor-hand"></i></span>'
            "</div>"
        ).format(Markup(html_params(data_crm_date=options)),
                 Markup(html_params(type="text", value=field._value(), autocomplete="off",
                                    class_=classes, **kwargs)))


class LocalDateField(DateField):
    """A date typed as 20.11.2026 or 2026-11-20 on any page, shown as the page writes dates."""

    widget = DatePickerInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=TYPED_FORMATS, **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return typed_date(self.data) if self.data else ""

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not in the form posted: the record's own value stays
        typed = " ".join(valuelist).strip()
        if not typed:
            self.data = None
            return
        try:
            super().process_formdata([typed])
        except ValueError:
            raise ValueError(invalid_date_message()) from None
