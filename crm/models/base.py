"""Shared column types and helpers for the CRM's models."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def register_today() -> date:
    """Return today's date where the register is kept (the app's `CRM_TIMEZONE`)."""
    return register_day(utcnow())


def day_in(moment: datetime, zone: ZoneInfo) -> date:
    """Return the date `moment` falls on in `zone`; a naive `moment` is UTC, as stored."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).date()


def register_day(moment: datetime) -> date:
    """Return the date `moment` falls on where the register is kept (the app's
    `CRM_TIMEZONE`); a naive `moment` is UTC, as stored."""
    from flask import current_app

    return day_in(moment, ZoneInfo(current_app.config["CRM_TIMEZONE"]))


class LabelledEnum(enum.StrEnum):
    """An enum stored by its value, shown to people by a translated label."""

    @property
    def label(self) -> str:
        return str(self._labels().get(self.value, self.value))

    @classmethod
    def _labels(cls) -> dict[str, object]:
        return {}


def enum_column(enum_cls: type[LabelledEnum]) -> sa.Enum:
    """Return a portable column type for `enum_cls`: VARCHAR with a CHECK constraint."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=32,
        name=f"ck_{enum_cls.__name__.lower()}",
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


# SQLite stores datetimes naive; keep them timezone-aware in Python on both engines.
class AwareDateTime(sa.types.TypeDecorator):
    """A UTC timestamp that is timezone-aware in Python on SQLite and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


__all__ = ["AwareDateTime", "LabelledEnum", "enum_column", "lazy_gettext", "utcnow"]
