"""The Mailchimp Marketing API v3 (DESIGN §9.8): the audience's members, and erasure there.

`CRM_MAILCHIMP_API_KEY` ("<key>-<dc>", the server prefix after the dash),
`CRM_MAILCHIMP_AUDIENCE_ID` and, for tests, `CRM_MAILCHIMP_BASE_URL` configure it.
Requests have timeouts; 429 and 5xx answers and broken connections are retried with
exponential backoff and jitter, honouring Retry-After, a bounded number of times.
Every call here is safe to repeat. Nothing personal is logged: paths are logged
with the subscriber hash left out, and Mailchimp's error details (which may quote
an address) never.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from crm.privacy.processors import (
    NOTHING_SENT,
    ErasureResult,
    ErasureSubject,
    register_erasure_hook,
)

log = logging.getLogger(__name__)

PROCESSOR = "mailchimp"
#: Members per batch call: Mailchimp's maximum.
BATCH_SIZE = 500
#: Tries of one call, and the backoff between them (seconds; doubled each time).
ATTEMPTS = 5
BACKOFF_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0
TIMEOUT = (5, 60)  # connect, read


#: Kinds of a failed call, by its answer (`failure_kind`): the screens say each in words.
UNREACHABLE = "unreachable"  # no connection or no answer, after the retries
BAD_KEY = "bad_key"  # 401, 403: the API key
NO_AUDIENCE = "no_audience"  # 404: the audience (list) id
BUSY = "busy"  # 429, 5xx: still so after the retries
REFUSED = "refused"  # any other answer

# A `MailchimpError`'s message, as a job run records it (the operators' log).
_MESSAGE = re.compile(r"Mailchimp (?:answered (\d{3})|could not be reached): ")


class MailchimpError(Exception):
    """A call failed for good; the message has the status and Mailchimp's title only."""

    def __init__(self, status: int | None, title: str) -> None:
        super().__init__(f"Mailchimp answered {status}: {title}" if status
                         else f"Mailchimp could not be reached: {title}")
        self.status = status


def failure_kind(message: str | None) -> tuple[str, int | None] | None:
    """Return (kind, HTTP status) of a `MailchimpError`'s message; None if it is not one.

    Runs record the message in English; the screens read its kind back from it.
    """
    match = _MESSAGE.match(message or "")
    if match is None:
        return None
    status = int(match.group(1)) if match.group(1) else None
    if status is None:
        return UNREACHABLE, None
    if status in (401, 403):
        return BAD_KEY, status
    if status == 404:
        return NO_AUDIENCE, status
    if status == 429 or status >= 500:
        return BUSY, status
    return REFUSED, status


def subscriber_hash(address: str) -> str:
    """Mailchimp's id of a member: the MD5 of the lower-cased email address."""
    return hashlib.md5(address.strip().lower().encode(), usedforsecurity=False).hexdigest()


def server_prefix(api_key: str) -> str:
    """Return the data centre of an API key ("...-us21" -> "us21")."""
    prefix = api_key.rpartition("-")[2]
    if not prefix or prefix == api_key or not prefix.isalnum():
        raise ValueError("CRM_MAILCHIMP_API_KEY must end with its server prefix, e.g. -us21")
    return prefix


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    #: Lower-cased addresses Mailchimp refused, with its error code; never logged.
    refused: dict[str, str] = field(default_factory=dict)


class MailchimpClient:
    """Calls to one audience (list) of one Mailchimp account."""

    def __init__(self, api_key: str, audience_id: str, base_url: str | None = None, *,
                 attempts: int = ATTEMPTS, http: requests.Session | None = None) -> None:
        self.audience_id = audience_id
        self.base_url = (base_url or
                         f"https://{server_prefix(api_key)}.api.mailchimp.com/3.0").rstrip("/")
        self.attempts = attempts
        self.http = http or requests.Session()
        self.http.auth = ("crm", api_key)
        self.http.headers["User-Agent"] = "crm-contact-register"

    @classmethod
    def from_config(cls, config) -> MailchimpClient | None:
        """Return a client for the configured audience, or None when Mailchimp is off."""
        key, audience = config.get("CRM_MAILCHIMP_API_KEY"), config.get(
            "CRM_MAILCHIMP_AUDIENCE_ID")
        if not key or not audience:
            return None
        return cls(key, audience, config.get("CRM_MAILCHIMP_BASE_URL"))

    # -- the calls -----------------------------------------------------------------

    def batch_upsert(self, members: list[dict]) -> BatchResult:
        """Add or update up to 500 members (POST /lists/{id}, update_existing)."""
        if len(members) > BATCH_SIZE:
            raise ValueError(f"at most {BATCH_SIZE} members per call")
        answer = self._call("POST", f"/lists/{self.audience_id}",
                            json={"members": members, "update_existing": True}).json()
        refused = {str(e.get("email_address", "")).lower(): str(e.get("error_code") or "error")
                   for e in answer.get("errors") or []}
        return BatchResult(int(answer.get("total_created") or 0),
                           int(answer.get("total_updated") or 0), refused)

    def archive(self, member_hash: str) -> bool:
        """Archive a member (DELETE); return False when there was none."""
        return self._call("DELETE", self._member(member_hash), missing_ok=True) is not None

    def delete_permanently(self, member_hash: str) -> bool:
        """Delete a member and its history for good; return False when there was none."""
        return self._call("POST", self._member(member_hash) + "/actions/delete-permanent",
                          missing_ok=True) is not None

    def check_audience(self) -> None:
        """Raise `MailchimpError` (404) unless the audience exists: Mailchimp answers a
        member of a missing audience as it answers a missing member."""
        self._call("GET", f"/lists/{self.audience_id}")

    def _member(self, member_hash: str) -> str:
        return f"/lists/{self.audience_id}/members/{member_hash}"

    # -- retries -------------------------------------------------------------------

    def _call(self, method: str, path: str, *, json: dict | None = None,
              missing_ok: bool = False) -> requests.Response | None:
        shown = path.split("/members/")[0] + ("/members/{hash}" if "/members/" in path else "")
        for attempt in range(1, self.attempts + 1):
            retry_after = None
            try:
                response = self.http.request(method, self.base_url + path, json=json,
                                             timeout=TIMEOUT)
            except (requests.ConnectionError, requests.Timeout) as exc:
                status, title = None, type(exc).__name__
            else:
                status = response.status_code
                if status < 400:
                    log.info("mailchimp %s %s: %s", method, shown, status)
                    return response
                if status == 404 and missing_ok:
                    log.info("mailchimp %s %s: 404, nothing there", method, shown)
                    return None
                title = _title(response)
                retry_after = _retry_after(response)
                if status != 429 and status < 500:
                    log.warning("mailchimp %s %s: %s %s", method, shown, status, title)
                    raise MailchimpError(status, title)
            if attempt == self.attempts:
                break
            wait = min(MAX_WAIT_SECONDS, BACKOFF_SECONDS * 2 ** (attempt - 1))
            wait = wait / 2 + random.uniform(0, wait / 2)  # jitter: retries do not align
            if retry_after is not None:
                if retry_after > MAX_WAIT_SECONDS:
                    break
                wait = max(wait, retry_after)
            log.warning("mailchimp %s %s: %s, try %d of %d again in %.1f s", method, shown,
                        status or title, attempt + 1, self.attempts, wait)
            time.sleep(wait)
        raise MailchimpError(status, title)


def _title(response: requests.Response) -> str:
    """Mailchimp's short error title ("Resource Not Found"); never its detail."""
    try:
        title = response.json().get("title")
    except ValueError:
        title = None
    return str(title or response.reason or "error")[:100]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# -- erasure (DESIGN §9.3) --------------------------------------------------------------


def erase_member(app: Flask, subject: ErasureSubject) -> ErasureResult:
    """Delete the person's members permanently; forget their sync state here."""
    from crm.extensions import db
    from crm.models import MailchimpMember

    with app.app_context(), Session(db.engine) as session:
        rows = session.scalars(sa.select(MailchimpMember).where(sa.or_(
            MailchimpMember.contact_id == subject.contact_id,
            MailchimpMember.subscriber_hash.in_([subscriber_hash(e) for e in subject.emails]),
        ))).all()
        hashes = {subscriber_hash(e) for e in subject.emails} | {r.subscriber_hash for r in rows}
        client = MailchimpClient.from_config(app.config)
        if client is None:
            if rows:
                return ErasureResult(PROCESSOR, False, "not configured; members left there")
            return ErasureResult(PROCESSOR, True, NOTHING_SENT)
        deleted = absent = 0
        try:
            for member in sorted(hashes):
                if client.delete_permanently(member):
                    deleted += 1
                else:
                    absent += 1
            if absent:
                # "Not a member" of an audience that is not there (a wrong audience id)
                # deleted no one: it is a failure, not a success.
                client.check_audience()
        except MailchimpError as error:
            # Mailchimp's status and title only: kept as the detail, which the request's
            # page says in words by its kind (`failure_kind`). The members stay listed.
            log.warning("erasure at processor %s failed: %s", PROCESSOR, error)
            return ErasureResult(PROCESSOR, False, str(error))
        for row in rows:
            session.delete(row)
        session.commit()
    return ErasureResult(PROCESSOR, True, f"deleted {deleted}, not a member {absent}")


register_erasure_hook(PROCESSOR, erase_member, title="Mailchimp")
