"""Crontabs as cron(8) reads them, for APScheduler 3.

APScheduler 3's `CronTrigger.from_crontab` numbers weekdays from Monday (0 = Monday),
where cron numbers them from Sunday (0 and 7 = Sunday): "0 4 * * 0" would run on
Mondays. Its own documentation warns of it; its 4.x series reads crontabs as cron does.
Here a crontab's weekdays are given to APScheduler by name, so a schedule means what it
says in crontab(5), and the jobs screen describes it in words.
"""

from __future__ import annotations

from datetime import tzinfo

from apscheduler.triggers.cron import CronTrigger

#: Cron's weekday numbers (0 and 7 are Sunday) as names, which APScheduler reads alike.
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def weekdays(field: str) -> list[int] | None:
    """Return the cron weekday field's days as cron numbers 0-6 (0 = Sunday), in
    order; None for every day ("*"). Names (mon, tue...) are read too.

    :raises ValueError: a field cron would refuse.
    """
    if field == "*":
        return None
    days: set[int] = set()
    for item in field.lower().split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step must be positive: {item}")
        if span == "*":
            first, last = 0, 6
        else:
            start, _, end = span.partition("-")
            first = _weekday(start)
            last = _weekday(end) if end else (6 if step_text else first)
            if last < first:
                raise ValueError(f"weekday range runs backwards: {item}")
        days.update(day % 7 for day in range(first, last + 1, step))
    return sorted(days)


def _weekday(text: str) -> int:
    text = text.strip()
    if text.isdigit():
        day = int(text)
        if day > 7:
            raise ValueError(f"no such weekday: {text}")
        return day
    if text in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(text)
    raise ValueError(f"no such weekday: {text}")


def crontab_trigger(crontab: str, zone: tzinfo) -> CronTrigger:
    """Return APScheduler's trigger for a five-field crontab, weekdays as cron reads them.

    :raises ValueError: not a crontab cron would accept.
    """
    fields = crontab.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab has five fields, not {len(fields)}: {crontab!r}")
    minute, hour, day, month, weekday_field = fields
    days = weekdays(weekday_field)
    day_of_week = "*" if days is None else ",".join(WEEKDAY_NAMES[d] for d in days)
    return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                       day_of_week=day_of_week, timezone=zone)
