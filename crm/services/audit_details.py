"""An audit event's detail in the reader's language (DESIGN §9.5).

The trail stores its details as short codes and figures ("sso", "request 12",
"new=3 merged=1 ..."), never personal values, so that they stay stable and searchable;
the screens read them out through this module. A detail it does not know (an older
event's, a provider's reason code) is shown as stored.

A contact's change history keeps the system's reasons for a change the same way
(`SYSTEM_REASONS`), read out by `reason_text`; a reason a user typed is shown as typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.models import JobStatus
from crm.security.roles import role_label
from crm.services.consents import LAPSED, NO_CONSENT, WITHDRAWN

#: The change history's reason of what an objection to direct marketing changed
#: (crm.services.objection).
OBJECTION = "objection"


def mailchimp_reason(event: str) -> str:
    """Return the change history's reason of what Mailchimp's webhook reported
    (crm.services.audience): `event` is "unsubscribe" or "cleaned"."""
    return f"Mailchimp webhook: {event}"

#: Details that are one fixed code or phrase.
WORDS = {
    "password": _l("With username and password"),
    "password_api": _l("With username and password, through the REST API"),
    "api": _l("Through the REST API"),
    "sso": _l("Through single sign-on"),
    "backchannel": _l("Ended by the identity provider (back-channel logout)"),
    "no_mapped_group": _l("In no group that gives access"),
    "disabled": _l("Account disabled"),
    "local_login_off": _l("Signing in with a password is switched off"),
    "cancelled": _l("Cancelled or refused at the identity provider"),
    "unavailable": _l("The identity provider could not be reached"),
    "public callback form": _l("Public callback form"),
    "consent on the public callback form confirmed by the call back":
        _l("Consent on the public callback form, confirmed by the call back"),
    "erasure at processors": _l("Erasure at the processors"),
    "suppressed contact details given again by the person":
        _l("Suppressed contact details given again by the person"),
    # Unsubscribed for want of a consent to direct marketing (crm.services.consents).
    "direct-marketing consent withdrawn":
        _l("Unsubscribed: their last consent to direct marketing was withdrawn"),
    "direct-marketing consent lapsed":
        _l("Unsubscribed: their last consent to direct marketing lapsed"),
    "no direct-marketing consent":
        _l("Unsubscribed: no consent to direct marketing on record"),
    OBJECTION: _l("The person objected to direct marketing"),
    "subject find": _l("Finding a person on the command line"),
    "fi": _l("In Finnish"), "en": _l("In English"), "sv": _l("In Swedish"),
    "json": _l("As JSON"), "html": _l("As HTML"),
    # The access export's printable forms (crm.views.subjects, crm.privacy.cli).
    "html-fi": _l("As HTML in Finnish"), "html-en": _l("As HTML in English"),
}

#: A purchased list's counts (`new=3 merged=1 ...`), as its import screen names them.
IMPORT_COUNTS = {
    "new": _l("New contacts"), "merged": _l("Merged into existing contacts"),
    "duplicate": _l("Duplicates"), "suppressed": _l("Skipped: on the suppression list"),
    "opted_out": _l("Skipped: unsubscribed or objected"), "invalid": _l("Lines with errors"),
}

MAILCHIMP_EVENTS = {"unsubscribe": _l("unsubscribed"), "cleaned": _l("address cleaned")}

#: Every reason the system writes into a contact's change history, stored as it is
#: here (data, never rewritten) and read out in the reader's language by `reason_text`.
#: Any other reason was typed by a user on the edit form or a rectification.
SYSTEM_REASONS = frozenset({WITHDRAWN, LAPSED, NO_CONSENT, OBJECTION,
                            *(mailchimp_reason(event) for event in MAILCHIMP_EVENTS)})


def _request(match: re.Match) -> str:
    return _("Request #%(id)s", id=match["id"])


def _rectification(match: re.Match) -> str:
    return _("Rectification request #%(id)s", id=match["id"])


def _export(match: re.Match) -> str:
    how = str(WORDS[match["format"]])
    return _("%(how)s, request #%(id)s", how=how, id=match["id"]) if match["id"] else how


def _matches(match: re.Match) -> str:
    count = int(match["count"])
    return ngettext("%(num)d match", "%(num)d matches", count)


def _audience(match: re.Match) -> str:
    count = int(match["count"])
    return ngettext("Marketing audience as CSV, %(num)d row",
                    "Marketing audience as CSV, %(num)d rows", count)


def _audit_trail(match: re.Match) -> str:
    count = int(match["count"])
    if match["capped"]:
        return ngettext("Audit trail as CSV, the first %(num)d row (the most a file holds)",
                        "Audit trail as CSV, the first %(num)d rows (the most a file holds)",
                        count)
    return ngettext("Audit trail as CSV, %(num)d row", "Audit trail as CSV, %(num)d rows",
                    count)


def _list_view(match: re.Match) -> str:
    """A list page shown (crm.views.list_audit): its title and the people on it."""
    from crm.views.audit_trail import list_text  # the views import this module

    return list_text(match["view"], int(match["rows"]), int(match["people"]))


def _mailchimp(match: re.Match) -> str:
    event = str(MAILCHIMP_EVENTS.get(match["event"], match["event"]))
    if match.groupdict().get("unknown"):
        return _("Mailchimp webhook: %(event)s; an address not in the register put on the "
                 "suppression list", event=event)
    return _("Mailchimp webhook: %(event)s", event=event)


def _import_counts(match: re.Match) -> str:
    """The counts in the import screen's order, whatever order they were stored in."""
    pairs = [part.split("=") for part in match[0].split()]
    order = list(IMPORT_COUNTS)
    pairs.sort(key=lambda pair: order.index(pair[0]) if pair[0] in order else len(order))
    return ", ".join(f"{IMPORT_COUNTS.get(key, key)} {count}" for key, count in pairs)


def _art14(match: re.Match) -> str:
    """An Art. 14 notice recorded as sent (crm.services.art14): to how many, which day."""
    day = date.fromisoformat(match["date"])
    return ngettext("%(num)d person, sent on %(date)s", "%(num)d people, sent on %(date)s",
                    int(match["count"]), date=format_date(day, "short"))


def _job(match: re.Match) -> str:
    """A job's run: its job, status and the counts its job sums up (crm.jobs.runner),
    labelled as on the run's page: "Mailchimp sync: Succeeded. Sent to Mailchimp 120, ..."."""
    from crm.jobs import job_title  # the jobs import the services: not at import time
    from crm.views.jobs import counts_text  # the views import this module

    text = f"{job_title(match['job'])}: {JobStatus(match['status']).label}"
    if match["dry"]:
        text = f"{text} ({_('Dry run')})"
    if not match["counts"]:
        return text
    counts = [(key, int(value)) for key, value in
              (part.split("=") for part in match["counts"].split())]
    return f"{text}. {counts_text(match['job'], counts)}"


def _role_changes(match: re.Match) -> str:
    return ", ".join(f"{part[0]}{role_label(part[1:])}" for part in match[0].split())


def _roles(match: re.Match) -> str:
    return ", ".join(role_label(name) for name in match[0].split(","))


_STATUSES = "|".join(status.value for status in JobStatus)
#: (pattern of a whole detail, how to read it), tried in order.
PATTERNS: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"request (?P<id>\d+)"), _request),
    (re.compile(r"rectification request (?P<id>\d+)"), _rectification),
    (re.compile(r"(?P<format>json|html(?:-fi|-en)?)(?: request (?P<id>\d+))?"), _export),
    (re.compile(r"matches (?P<count>\d+)"), _matches),
    (re.compile(r"list (?P<view>\w+) rows=(?P<rows>\d+) people=(?P<people>\d+)"
                r"(?: key=\w+)?"), _list_view),
    (re.compile(r"audience CSV, (?P<count>\d+) rows"), _audience),
    (re.compile(r"audit trail CSV, (?P<count>\d+) rows(?P<capped>, capped)?"), _audit_trail),
    (re.compile(r"mailchimp webhook (?P<event>\w+)(?P<unknown>: unknown address suppressed)?"),
     _mailchimp),
    (re.compile(r"Mailchimp webhook: (?P<event>\w+)"), _mailchimp),  # a change's reason
    (re.compile(r"art14 (?P<count>\d+) sent (?P<date>\d{4}-\d\d-\d\d)"), _art14),
    (re.compile(r"\w+=\d+(?: \w+=\d+)*"), _import_counts),
    (re.compile(rf"(?P<job>\w+) (?P<status>{_STATUSES})(?P<dry> dry run)?"
                rf"(?P<counts>(?: \w+=\d+)+)?"), _job),
    (re.compile(r"[+-]\w+(?: [+-]\w+)*"), _role_changes),
    (re.compile(r"\w+(?:,\w+)*"), _roles),
]


def detail_text(detail: str | None) -> str:
    """Return an audit event's stored detail in the reader's language."""
    if not detail:
        return ""
    if detail in WORDS:
        return str(WORDS[detail])
    for pattern, read in PATTERNS:
        match = pattern.fullmatch(detail)
        if match:
            return read(match)
    return detail


def reason_text(reason: str | None) -> str:
    """Return a contact change's reason in the reader's language: the system's own
    (`SYSTEM_REASONS`) read out, a user's as typed."""
    if reason in SYSTEM_REASONS:
        return detail_text(reason)
    return reason or ""


#: A failed sign-in with a password records how it was tried ("password"): what failed
#: is the username or the password (which of the two is not told, nor recorded).
FAILED_PASSWORD = {
    "password": _l("Wrong username or password"),
    "password_api": _l("Wrong username or password, through the REST API"),
}


def event_detail_text(action: str | None, detail: str | None) -> str:
    """Return an event's detail as `detail_text`, a failed password sign-in's as why it
    failed rather than how it was tried."""
    if action == "login_failed" and detail in FAILED_PASSWORD:
        return str(FAILED_PASSWORD[detail])
    if action == "access_denied":  # the screen and what was tried, else as requested
        from crm.views.audit_trail import refusal_reading  # the views import this module

        reading = refusal_reading(detail)
        return reading.text if reading is not None else detail or ""
    return detail_text(detail)
