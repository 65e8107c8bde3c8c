"""The permission matrix of DESIGN §6, checked on the server for every role.

The expected matrix is written out below, independently of `crm.security.roles`, so a
wrong role definition fails here. Every role is tried on every screen and action (list,
show, add, edit, delete, export) over HTTP; the field-level rules are checked in the
HTML the server sends, in what a POST can change, and in filters and sorting given in
the URL. Nothing here reads templates.

How §6 is read (R read = list and show, W = add and edit, E edit only, D delete,
X export, empty: nothing):

- contacts are never deleted through the screens, only by erasure (§9.3);
- Receivables edit an organisation's invoicing fields only, and add no organisations;
- legal hold is seen by Privacy and the DPO and set by Privacy only, on contacts and
  organisations: so Privacy may edit an organisation, but only its legal hold;
- Admin and Maintainer see no contact data at all: of the register's screens they read
  the job runs only;
- the DPO reads and never writes;
- identifiers and provenance go with a contact's core fields for those who keep
  contacts (Sales, Marketing, Support, Privacy) and those who read them for their work
  (Receivables, the DPO), not for Communications, whose §6 row is organisations,
  contacts' core fields and consent only (its purchased-list import is "-");
  provenance is read-only;
- the privacy officer may delete a wrong identifier (rectification, §2) and a recipient
  entered by mistake; nothing else is deleted through the screens;
- roles are data in code that nobody edits by hand (§6), so the admin only reads them,
  on a read-only page with no route to write through, but adds and edits users
  (break-glass accounts).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from itertools import count
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_appbuilder.security.sqla.models import Role, User
from werkzeug.datastructures import MultiDict

from crm.extensions import db
from crm.models import (
    Activity,
    AuditEvent,
    CallbackRequest,
    Consent,
    Contact,
    ContactChange,
    CustomerStatus,
    DataSubjectRequest,
    Identifier,
    JobRun,
    JobStatus,
    MarketingStatus,
    Organisation,
    Provenance,
    Purpose,
    Recipient,
    RelationshipRole,
    RetentionPolicy,
    Source,
    SourceKind,
)
from crm.models.privacy import ClockStart, RecordKind, RetentionAction
from crm.services.reference import load_reference_data
from tests.conftest import _empty_register, _reset_demo_users, login, session_csrf_token
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_organisation,
    make_recipient,
    make_request,
)

# ---------------------------------------------------------------------------
# The matrix of DESIGN §6, screen by screen.
# ---------------------------------------------------------------------------

#: The demo users, one per role, in the column order of the table below.
USERS = ("sales", "marketing", "comms", "ar", "support", "privacy", "dpo", "admin",
         "maintainer")

EXPECTED: dict[str, tuple[str, ...]] = {
    #                     sales mkt   comms ar    supp  priv   dpo  admin maint
    "contact":            ("RW", "RW", "R", "R",  "RW", "RW",  "R", "",   ""),
    "organisation":       ("RW", "R",  "R", "RE", "R",  "RE",  "R", "",   ""),
    "callbackrequest":    ("RW", "R",  "",  "",   "",   "R",   "R", "",   ""),
    "activity":           ("RW", "R",  "",  "R",  "RW", "R",   "R", "",   ""),
    "consent":            ("R",  "RW", "R", "",   "",   "RW",  "R", "",   ""),
    "identifier":         ("RW", "RW", "",  "R",  "RW", "RWD", "R", "",   ""),
    "provenance":         ("R",  "R",  "",  "R",  "R",  "R",   "R", "",   ""),
    "source":             ("",   "R",  "",  "",   "",   "R",   "R", "",   ""),
    "datasubjectrequest": ("",   "",   "",  "",   "",   "RWX", "R", "",   ""),
    "recipient":          ("",   "",   "",  "",   "",   "RWD", "R", "",   ""),
    "retentionpolicy":    ("",   "",   "",  "",   "",   "RW",  "R", "",   ""),
    "jobrun":             ("",   "",   "",  "",   "",   "R",   "R", "R",  "R"),
    "auditevent":         ("",   "",   "",  "",   "",   "RX",  "RX", "",  ""),
    "contactchange":      ("",   "",   "",  "",   "",   "R",   "R", "",   ""),
    "users":              ("",   "",   "",  "",   "",   "",    "R", "RW", ""),
    "roles":              ("",   "",   "",  "",   "",   "",    "R", "R",  ""),
}

#: Resources with no screen of their own yet (§6 rows "purchased-list import",
#: "marketing audience export / sync", starting a job run): who holds which permission.
RESOURCE_PERMISSIONS: dict[tuple[str, str], set[str]] = {
    ("can_export", "MarketingAudience"): {"marketing", "comms"},
    ("can_add", "PurchasedListImport"): {"marketing"},
    # Recording a purchased list's Art. 14 notices as sent (crm.views.art14).
    ("can_edit", "PurchasedListImport"): {"marketing"},
    ("can_read", "PurchasedListImport"): {"privacy", "dpo"},
    ("can_run", "JobRun"): {"privacy"},
    ("can_read", "RecordOfProcessing"): {"privacy", "dpo"},
}

#: Screens that are not model views (DESIGN §6 "purchased-list import", "marketing
#: audience export / sync"): who may open each; everyone else is refused with 403.
#: The jobs screens (§6 "job runs": read; run by the privacy officer) too; `{dry_run}` is
#: a dry run of the session purge, whose confirmation page asks to run it for real.
PAGES: dict[str, set[str]] = {
    "/imports/": {"marketing", "privacy", "dpo"},
    "/audience/": {"marketing", "comms"},
    "/audience/export.csv": {"marketing", "comms"},
    # The audit trail as CSV, the list's filters in the address (crm.views.audit_export).
    "/auditeventview/export.csv?_flt_0_action=view": {"privacy", "dpo"},
    "/jobs/": {"privacy", "dpo", "admin", "maintainer"},
    "/jobs/forecast": {"privacy", "dpo", "admin", "maintainer"},
    "/jobs/confirm/session_purge/{dry_run}": {"privacy"},
    # A link field's type-ahead list (crm.views.related): who reads contacts, or
    # organisations.
    "/contactview/lookup?q=Aalto": {"sales", "marketing", "comms", "ar", "support", "privacy",
                                    "dpo"},
    "/organisationview/lookup?q=Aalto": {"sales", "marketing", "comms", "ar", "support",
                                         "privacy", "dpo"},
}
#: Posts of those screens that change something: who may make them. (A job's "run now"
#: with no confirmation does its dry run and asks.)
PAGE_POSTS: dict[str, set[str]] = {
    "/imports/upload": {"marketing"},
    "/imports/run": {"marketing"},
    "/audience/sync": {"marketing", "comms"},
    "/jobs/run/session_purge": {"privacy"},
    # A purchased list's Art. 14 notices recorded as sent, for the list or one person (its
    # provenance row). Posted with no date, Marketing's is refused on the page.
    "/art14/list/{source}": {"marketing"},
    "/art14/contact/{provenance}": {"marketing"},
}

ACTIONS = ("list", "show", "add", "edit", "delete", "export")
#: The letters of the table that allow each action.
ALLOWING = {"list": "R", "show": "R", "add": "WA", "edit": "WE", "delete": "D", "export": "X"}

#: Contact-data screens: Admin and Maintainer are refused every one of them.
CONTACT_DATA = ("contact", "organisation", "callbackrequest", "activity", "consent",
                "identifier", "provenance", "source", "datasubjectrequest", "contactchange")


def allowed(user: str, view: str, action: str) -> bool:
    letters = EXPECTED[view][USERS.index(user)]
    return any(letter in letters for letter in ALLOWING[action])


def test_matrix_is_complete_and_keeps_contact_data_from_admin_and_maintainer():
    assert all(len(row) == len(USERS) for row in EXPECTED.values())
    for view in CONTACT_DATA:
        assert EXPECTED[view][USERS.index("admin")] == ""
        assert EXPECTED[view][USERS.index("maintainer")] == ""
    dpo = USERS.index("dpo")
    # Reading includes downloading what the DPO may read (the audit trail as CSV).
    assert all(set(row[dpo]) <= {"R", "X"} for row in EXPECTED.values()), \
        "the DPO changes nothing"


# ---------------------------------------------------------------------------
# A browser-like client and form handling.
# ---------------------------------------------------------------------------


def sign_in(app, username: str) -> FlaskClient:
    """Return a client signed in as `username`, with English pages and a CSRF token.

    The suite's client gives every request an app context of its own, as in production.
    """
    client = login(app.test_client(), username)
    client.get("/lang/en")
    client.token = session_csrf_token(client)
    return client


class _Forms(HTMLParser):
    """The fields of every form on a page, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        #: Per form, the names of all its controls, unticked checkboxes included.
        self.names: list[set[str]] = []
        self._fields: list[tuple[str, str]] | None = None
        self._select: dict | None = None
        self._textarea: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._fields = []
            self.forms.append(self._fields)
            self.names.append(set())
        elif self._fields is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            self.names[-1].add(a["name"])
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._fields.append((a["name"], a.get("value") or "on"))
            elif kind not in ("submit", "button", "image", "file", "reset"):
                self._fields.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self.names[-1].add(a["name"])
            self._select = {"name": a["name"], "multiple": "multiple" in a, "options": [],
                            "selected": []}
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))
            if "selected" in a:
                self._select["selected"].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self.names[-1].add(a["name"])
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            select, self._select = self._select, None
            values = select["selected"]
            if not values and not select["multiple"] and select["options"]:
                values = select["options"][:1]
            self._fields.extend((select["name"], v) for v in values)
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self._textarea = None
            # A browser drops the newline that follows <textarea>.
            self._fields.append((name, re.sub(r"^\r?\n", "", text)))
        elif tag == "form":
            self._fields = None


def _entry_form(html: str) -> tuple[list[tuple[str, str]], set[str]]:
    parser = _Forms()
    parser.feed(html)
    forms = [i for i, f in enumerate(parser.forms) if any(k == "csrf_token" for k, _ in f)]
    assert forms, "no form with a CSRF token on the page"
    best = max(forms, key=lambda i: len(parser.names[i]))
    return parser.forms[best], parser.names[best]


def form_fields(html: str) -> list[tuple[str, str]]:
    """Return the fields of the page's data-entry form (the largest one with a CSRF token)."""
    return _entry_form(html)[0]


def field_names(html: str) -> set[str]:
    """Return the names of every control of the page's data-entry form."""
    return _entry_form(html)[1]


def filled(fields: list[tuple[str, str]], values: dict[str, str]) -> MultiDict:
    """Return `fields` as submitted with `values` typed over them."""
    data = MultiDict([(k, v) for k, v in fields if k not in values])
    for key, value in values.items():
        data.add(key, value)
    return data


def form_errors(response) -> str:
    html = response.get_data(as_text=True)
    errors = re.findall(r'class="help-block">\s*([^<\s][^<]*)<', html)
    flashes = re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)
    return f"{response.status_code}: errors {errors} flashes {[f.strip()[:200] for f in flashes]}"


def text(response) -> str:
    return response.get_data(as_text=True)


def column(model, name: str, pk) -> Any:
    """Read one column of one row fresh from the database."""
    db.session.rollback()
    return db.session.scalar(sa.select(getattr(model, name)).where(model.id == pk))


def exists(model, pk) -> bool:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).where(model.id == pk)) == 1


def rows(model) -> int:
    db.session.rollback()
    query = sa.select(sa.func.count()).select_from(model)
    if model is AuditEvent:  # a refused request is itself recorded (crm.views.errors)
        query = query.where(AuditEvent.action != "access_denied")
    return db.session.scalar(query)


def permissions_of(username: str) -> set[tuple[str, str]]:
    """The (permission, resource) pairs the database grants `username`, by plain SQL."""
    db.session.rollback()
    result = db.session.execute(sa.text(
        "SELECT p.name, v.name FROM ab_user u"
        " JOIN ab_user_role ur ON ur.user_id = u.id"
        " JOIN ab_permission_view_role pvr ON pvr.role_id = ur.role_id"
        " JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id"
        " JOIN ab_permission p ON p.id = pv.permission_id"
        " JOIN ab_view_menu v ON v.id = pv.view_menu_id"
        " WHERE u.username = :username"), {"username": username})
    return {(perm, resource) for perm, resource in result}


# ---------------------------------------------------------------------------
# The screens: where they are, a row of each, and what a user types into them.
# ---------------------------------------------------------------------------

_serial = count(1)
FAR_FUTURE = datetime(2099, 1, 1, 12, 0, tzinfo=UTC)  # sorts first in "newest first" lists


@dataclass
class World:
    """The rows every matrix test looks at, and one signed-in client per role."""

    pk: dict[str, Any] = field(default_factory=dict)
    contact_id: int = 0
    purpose_id: int = 0
    #: The purpose a contact added on a screen is kept for.
    relationship_purpose_id: int = 0
    source_id: int = 0
    role_id: int = 0
    #: A dry run of a job, for its confirmation page.
    dry_run_id: int = 0
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    #: user -> the (permission, resource) pairs the database grants them.
    granted: dict[str, set[tuple[str, str]]] = field(default_factory=dict)


def eq(value) -> Callable[[Any], bool]:
    return lambda stored: stored == value


def on_day(day: date) -> Callable[[Any], bool]:
    return lambda stored: stored is not None and stored.date() == day


@dataclass(frozen=True)
class Screen:
    prefix: str
    model: Any
    #: Resource whose `can_export` the server would check: the view's permission name.
    view_class: str
    #: A distinctive text of the shared row, on its list and show pages (on a read-only
    #: page: a text of the page).
    marker: str
    #: make(session, world, tag) -> a new row (the shared one has tag "").
    make: Callable[..., Any]
    #: add(world, user) -> form values that add a row.
    add: Callable[[World, str], dict[str, str]]
    #: edit(user) -> (field, form value, test of the stored value) of an edit by `user`.
    edit: Callable[[str], tuple[str, str, Callable[[Any], bool]]]
    #: One page that is both list and show, with no route to write through (the roles
    #: page): a write by anyone finds nothing (404, 405) rather than being refused (403).
    read_only_page: bool = False

    def url(self, action: str, pk: Any) -> str:
        """Return the address of the list ("list") or show ("show") page."""
        if self.read_only_page:
            return self.prefix
        return f"{self.prefix}list/" if action == "list" else f"{self.prefix}show/{pk}"

    @property
    def refused_write(self) -> tuple[int, ...]:
        """The statuses a write the user may not make answers."""
        return (404, 405) if self.read_only_page else (403,)


def _contact(session, world, tag):
    if tag:
        return make_contact(session, last_name=f"Poistettava-{tag}")
    return make_contact(session, first_name="Maija", last_name="Aaltomatriisi")


def _organisation(session, world, tag):
    name = f"Poistettava {tag} Oy" if tag else "Aalto Matriisi Oy"
    return make_organisation(session, name=name)


def _callback(session, world, tag):
    if tag:
        return make_callback_request(session)
    return make_callback_request(session, name="Matriisi Soittaja", received_at=FAR_FUTURE)


def _activity(session, world, tag):
    contact = session.get(Contact, world.contact_id)
    if tag:
        return make_activity(session, contact, occurred_at=datetime.now(UTC) - timedelta(days=1))
    # Newest, so first in the list; not a day to come, which its form would refuse.
    return make_activity(session, contact, subject="Matriisiaktiviteetti",
                         occurred_at=datetime.now(UTC))


def _consent(session, world, tag):
    contact = session.get(Contact, world.contact_id)
    if tag:
        return make_consent(session, contact)
    # Given before the edits' withdrawals (February 2026), which may not precede it.
    return make_consent(session, contact, given_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC))


def _identifier(session, world, tag):
    contact = session.get(Contact, world.contact_id)
    return make_identifier(session, contact,
                           identifier=f"del-{tag}" if tag else "MATRIX-LOGIN-1")


def _provenance(session, world, tag):
    source_id = _source(session, world, tag).id if tag else world.source_id
    row = Provenance(contact_id=world.contact_id, source_id=source_id,
                     art14_due_on=date(2026, 3, 1))
    session.add(row)
    session.flush()
    return row


def _source(session, world, tag):
    row = Source(kind=SourceKind.purchased_list, name=f"Lista {tag}" if tag else
                 "Matriisiostolista", supplier="Listatoimittaja", received_on=date(2026, 1, 5),
                 row_count=10, created_at=datetime.now(UTC) if tag else FAR_FUTURE)
    session.add(row)
    session.flush()
    return row


def _request(session, world, tag):
    if tag:
        return make_request(session)
    return make_request(session, requester_name="Matriisi Pyytäjä",
                        received_on=date(2001, 1, 1))


def _recipient(session, world, tag):
    return make_recipient(session, name=f"Poistettava {tag}" if tag else "Matriisikäsittelijä")


def _policy(session, world, tag):
    row = RetentionPolicy(code=f"del_{tag}" if tag else "matrix_policy",
                          name=f"Säilytys {tag}" if tag else "Matriisisäilytys",
                          record_kind=RecordKind.prospect_contact,
                          clock_start=ClockStart.last_activity, period_days=100,
                          action=RetentionAction.anonymise)
    session.add(row)
    session.flush()
    return row


def _job_run(session, world, tag):
    row = JobRun(job=f"job-{tag}" if tag else "matrix-job",
                 started_at=datetime.now(UTC) if tag else FAR_FUTURE)
    session.add(row)
    session.flush()
    return row


def _audit_event(session, world, tag):
    row = AuditEvent(action="view", object_type=f"Poistettava{tag}" if tag else "MatrixObject",
                     object_id="1", at=datetime.now(UTC) if tag else FAR_FUTURE)
    session.add(row)
    session.flush()
    return row


def _contact_change(session, world, tag):
    row = ContactChange(contact_id=world.contact_id, field="title", old_value="Vanha",
                        new_value="Uusi", changed_by="privacy",
                        reason=f"Poistettava {tag}" if tag else "Matriisimuutos",
                        changed_at=datetime.now(UTC) if tag else FAR_FUTURE)
    session.add(row)
    session.flush()
    return row


def _user(session, world, tag):
    row = User(first_name="Matriisi", last_name="Käyttäjä", username="matrixuser",
               email="matrixuser@crm-demo.example", active=True,
               roles=[session.get(Role, world.role_id)])
    session.add(row)
    session.flush()
    return row


def _role(session, world, tag):
    row = Role(name="MatrixRole")
    session.add(row)
    session.flush()
    return row


def _when(day: date) -> str:
    return f"{day.isoformat()} 12:00:00"


SCREENS: dict[str, Screen] = {
    "contact": Screen(
        "/contactview/", Contact, "ContactView", "Aaltomatriisi", _contact,
        lambda w, u: {"first_name": "Lisätty", "last_name": f"Lisätty-{u}",
                      "purposes": str(w.relationship_purpose_id)},
        lambda u: ("title", f"Muokannut {u}", eq(f"Muokannut {u}"))),
    "organisation": Screen(
        "/organisationview/", Organisation, "OrganisationView", "Aalto Matriisi Oy",
        _organisation,
        lambda w, u: {"name": f"Uusi {u} Oy", "business_id": ""},
        lambda u: {"ar": ("billing_email", "laskut@matriisi.example",
                          eq("laskut@matriisi.example")),
                   "privacy": ("legal_hold", "y", eq(True))}.get(
            u, ("name", f"Aalto Matriisi Oy {u}", eq(f"Aalto Matriisi Oy {u}")))),
    "callbackrequest": Screen(
        "/callbackrequestview/", CallbackRequest, "CallbackRequestView", "Matriisi Soittaja",
        _callback,
        lambda w, u: {"name": f"Uusi soittaja {u}", "email": f"uusi-{u}@firma.example"},
        lambda u: ("message", f"Soitettu {u}", eq(f"Soitettu {u}"))),
    "activity": Screen(
        "/activityview/", Activity, "ActivityView", "Matriisiaktiviteetti", _activity,
        lambda w, u: {"contact": str(w.contact_id), "subject": f"Uusi {u}",
                      "occurred_at": _when(date(2026, 1, 2))},
        lambda u: ("body", f"Kirjannut {u}", eq(f"Kirjannut {u}"))),
    "consent": Screen(
        "/consentview/", Consent, "ConsentView", "Aaltomatriisi", _consent,
        lambda w, u: {"contact": str(w.contact_id), "purpose": str(w.purpose_id),
                      "given_how": "phone", "text_version": "2026-02",
                      "given_at": _when(date(2026, 1, 2)), "evidence": f"puhelu {u}"},
        lambda u: ("withdrawn_at", _when(date(2026, 2, 1 + USERS.index(u))),
                   on_day(date(2026, 2, 1 + USERS.index(u))))),
    "identifier": Screen(
        "/identifierview/", Identifier, "IdentifierView", "MATRIX-LOGIN-1", _identifier,
        lambda w, u: {"contact": str(w.contact_id), "system": "Portaali",
                      "identifier": f"uusi-{u}"},
        lambda u: ("system", f"Järjestelmä {u}", eq(f"Järjestelmä {u}"))),
    "provenance": Screen(
        "/provenanceview/", Provenance, "ProvenanceView", "Matriisiostolista", _provenance,
        lambda w, u: {"contact": str(w.contact_id), "source": str(w.source_id)},
        lambda u: ("art14_due_on", "2030-01-01", eq(date(2030, 1, 1)))),
    "source": Screen(
        "/sourceview/", Source, "SourceView", "Matriisiostolista", _source,
        lambda w, u: {"name": f"Uusi lista {u}", "kind": "purchased_list"},
        lambda u: ("name", f"Lista {u}", eq(f"Lista {u}"))),
    "datasubjectrequest": Screen(
        "/datasubjectrequestview/", DataSubjectRequest, "DataSubjectRequestView",
        "Matriisi Pyytäjä", _request,
        lambda w, u: {"requester_name": f"Uusi pyytäjä {u}", "received_on": "2026-01-02"},
        lambda u: ("outcome", f"Ratkaissut {u}", eq(f"Ratkaissut {u}"))),
    "recipient": Screen(
        "/recipientview/", Recipient, "RecipientView", "Matriisikäsittelijä", _recipient,
        lambda w, u: {"name": f"Uusi käsittelijä {u}", "country": "FI", "purpose": "Testaus",
                      "active": "y"},
        lambda u: ("purpose", f"Ylläpito {u}", eq(f"Ylläpito {u}"))),
    "retentionpolicy": Screen(
        "/retentionpolicyview/", RetentionPolicy, "RetentionPolicyView", "Matriisisäilytys",
        _policy,
        lambda w, u: {"code": f"uusi_{u}", "name": f"Uusi säilytys {u}", "period_days": "30",
                      "enabled": "y"},
        lambda u: ("description", f"Kuvannut {u}", eq(f"Kuvannut {u}"))),
    "jobrun": Screen(
        "/jobrunview/", JobRun, "JobRunView", "matrix-job", _job_run,
        lambda w, u: {"job": f"uusi-{u}"},
        lambda u: ("error", f"Muuttanut {u}", eq(f"Muuttanut {u}"))),
    "auditevent": Screen(
        "/auditeventview/", AuditEvent, "AuditEventView", "MatrixObject", _audit_event,
        lambda w, u: {"action": "delete", "object_type": f"Uusi{u}"},
        lambda u: ("detail", f"Muuttanut {u}", eq(f"Muuttanut {u}"))),
    "contactchange": Screen(
        "/contactchangeview/", ContactChange, "ContactChangeView", "Matriisimuutos",
        _contact_change,
        lambda w, u: {"contact": str(w.contact_id), "field": "title", "reason": f"Uusi {u}"},
        lambda u: ("reason", f"Muuttanut {u}", eq(f"Muuttanut {u}"))),
    "users": Screen(
        "/users/", User, "CrmUserDBModelView", "matrixuser", _user,
        lambda w, u: {"first_name": "Uusi", "last_name": "Käyttäjä", "username": f"uusi-{u}",
                      "email": f"uusi-{u}@crm-demo.example", "active": "y",
                      "roles": str(w.role_id), "password": "Salainen-sana-1",
                      "conf_password": "Salainen-sana-1"},
        lambda u: ("first_name", f"Muokannut {u}", eq(f"Muokannut {u}"))),
    # The roles page (crm.security.role_views): the CRM's roles and their groups, read only.
    "roles": Screen(
        "/roles/", Role, "CrmRoleView", "crm-sales", _role,
        lambda w, u: {"name": f"Uusi rooli {u}"},
        lambda u: ("name", f"MatrixRole {u}", eq(f"MatrixRole {u}")), read_only_page=True),
}


def resource_of(app, view_class: str) -> str:
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == view_class)
    return view.class_permission_name


def _clean_up(app) -> None:
    """Leave the database as the suite's own fixtures do after a test."""
    db.session.rollback()
    _empty_register()
    db.session.execute(sa.delete(Role).where(Role.name.like("MatrixRole%")))
    load_reference_data(db.session)
    _reset_demo_users(app)
    db.session.commit()


# ---------------------------------------------------------------------------
# Every role x every screen x every action.
# ---------------------------------------------------------------------------

CELLS = [(user, view, action) for view in EXPECTED for user in USERS for action in ACTIONS]


@pytest.fixture(autouse=True)
def _clean_register(app):
    """Replaces the suite's emptying of the register after each test, for this module.

    The rows of `world` and the sessions of its clients live as long as the module;
    every test here makes rows with values of its own, and the module empties the
    register when it ends.
    """
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()


@pytest.fixture(scope="module")
def world(app):
    with app.app_context():
        session = db.session
        _clean_up(app)
        world = World()
        world.purpose_id = session.scalar(
            sa.select(Purpose.id).where(Purpose.code == "direct_marketing"))
        world.relationship_purpose_id = session.scalar(
            sa.select(Purpose.id).where(Purpose.code == "customer_relationship"))
        # A role without personal data: only such roles are granted by hand (the users
        # screen's add form; crm.security.user_views).
        world.role_id = session.scalar(sa.select(Role.id).where(Role.name == "Maintainer"))
        world.contact_id = _contact(session, world, "").id
        world.pk["contact"] = world.contact_id
        world.source_id = _source(session, world, "").id
        world.pk["source"] = world.source_id
        for view, screen in SCREENS.items():
            if view not in world.pk:
                world.pk[view] = screen.make(session, world, "").id
        dry_run = JobRun(job="session_purge", started_at=datetime.now(UTC), dry_run=True,
                         status=JobStatus.succeeded, trigger="screen", counts={"sessions": 0})
        session.add(dry_run)
        session.flush()
        world.dry_run_id = dry_run.id
        session.commit()
        for user in USERS:
            world.clients[user] = sign_in(app, user)
            world.granted[user] = permissions_of(user)
        db.session.remove()
    yield world
    with app.app_context():
        _clean_up(app)
        db.session.remove()


class TestMatrix:
    """Every role on every screen, with every action."""

    @pytest.mark.parametrize(("user", "view", "action"), CELLS,
                             ids=[f"{u}-{v}-{a}" for u, v, a in CELLS])
    def test_cell(self, app, world, user, view, action):
        screen = SCREENS[view]
        client = world.clients[user]
        may = allowed(user, view, action)
        pk = world.pk[view]
        if action == "export":
            resource = resource_of(app, screen.view_class)
            assert (("can_export", resource) in world.granted[user]) is may
        elif action in ("list", "show"):
            response = client.get(screen.url(action, pk))
            if may:
                assert response.status_code == 200
                assert screen.marker in text(response)
            else:
                assert response.status_code == 403
                assert screen.marker not in text(response)
        elif action == "add":
            before = rows(screen.model)
            values = screen.add(world, user)
            if may:
                response = client.get(f"{screen.prefix}add")
                assert response.status_code == 200
                data = filled(form_fields(text(response)), values)
                response = client.post(f"{screen.prefix}add", data=data)
                assert response.status_code == 302, form_errors(response)
                assert rows(screen.model) == before + 1
            else:
                response = client.post(f"{screen.prefix}add",
                                       data={**values, "csrf_token": client.token})
                assert response.status_code in screen.refused_write
                assert rows(screen.model) == before
        elif action == "edit":
            name, value, stored_ok = screen.edit(user)
            before = column(screen.model, name, pk)
            if may:
                response = client.get(f"{screen.prefix}edit/{pk}")
                assert response.status_code == 200
                fields = form_fields(text(response))
                assert name in field_names(text(response)), f"{name} is not in {user}'s form"
                response = client.post(f"{screen.prefix}edit/{pk}",
                                       data=filled(fields, {name: value}))
                assert response.status_code == 302, form_errors(response)
                assert stored_ok(column(screen.model, name, pk))
            else:
                response = client.post(f"{screen.prefix}edit/{pk}",
                                       data={name: value, "csrf_token": client.token})
                assert response.status_code in screen.refused_write
                assert column(screen.model, name, pk) == before
        elif action == "delete":
            if may:
                # A row of its own; a refused delete is tried on the shared row.
                pk = screen.make(db.session, world, f"{user}{next(_serial)}").id
                db.session.commit()
                # No state change on GET (DESIGN §11): the row survives a GET.
                response = client.get(f"{screen.prefix}delete/{pk}")
                assert response.status_code == 302
                assert exists(screen.model, pk)
                response = client.post(f"{screen.prefix}delete/{pk}",
                                       data={"csrf_token": client.token})
                assert response.status_code == 302
                assert not exists(screen.model, pk)
            else:
                response = client.post(f"{screen.prefix}delete/{pk}",
                                       data={"csrf_token": client.token})
                assert response.status_code in screen.refused_write
                assert exists(screen.model, pk)

    @pytest.mark.parametrize("user", USERS)
    @pytest.mark.parametrize(("permission", "resource"), list(RESOURCE_PERMISSIONS))
    def test_resource_without_screen(self, world, user, permission, resource):
        holders = RESOURCE_PERMISSIONS[(permission, resource)]
        assert ((permission, resource) in world.granted[user]) is (user in holders)

    @pytest.mark.parametrize("user", USERS)
    @pytest.mark.parametrize("url", list(PAGES))
    def test_page_without_model(self, world, user, url):
        response = world.clients[user].get(url.format(dry_run=world.dry_run_id))
        assert response.status_code == (200 if user in PAGES[url] else 403)

    @pytest.mark.parametrize("user", USERS)
    @pytest.mark.parametrize("url", list(PAGE_POSTS))
    def test_page_post_without_model(self, world, user, url):
        client = world.clients[user]
        response = client.post(url.format(source=world.source_id,
                                           provenance=world.pk["provenance"]),
                               data={"csrf_token": client.token})
        if user in PAGE_POSTS[url]:
            assert response.status_code in (200, 302)
        else:
            assert response.status_code == 403

    @pytest.mark.parametrize("user", USERS)
    @pytest.mark.parametrize("url", ["/groups/list/", "/permissions/list/", "/viewmenus/list/",
                                     "/permissionviews/list/", "/userstatschartview/chart/",
                                     "/resetpassword/form", "/contactview/download/a.txt",
                                     "/users/download/a.txt"])
    def test_screens_outside_the_matrix_are_refused(self, world, user, url):
        assert world.clients[user].get(url).status_code == 403

    @pytest.mark.parametrize("user", USERS)
    def test_nobody_copies_a_role(self, world, user):
        client = world.clients[user]
        before = rows(Role)
        response = client.post("/roles/action_post", data={
            "action": "copyrole", "rowid": str(world.pk["roles"]), "csrf_token": client.token})
        # FAB's roles screen, whose action this was, is gone: nothing answers it.
        assert response.status_code in SCREENS["roles"].refused_write
        assert rows(Role) == before

    @pytest.mark.parametrize("user", USERS)
    def test_everyone_sees_their_own_account(self, world, user):
        response = world.clients[user].get("/users/userinfo/")
        assert response.status_code == 200
        assert f"{user}@crm-demo.example" in text(response)

    @pytest.mark.parametrize("view", list(EXPECTED))
    def test_anonymous_is_sent_to_sign_in(self, app, world, view):
        response = app.test_client().get(SCREENS[view].url("list", world.pk[view]))
        assert response.status_code == 302
        assert "/login/" in response.location
        assert SCREENS[view].marker not in text(response)


# ---------------------------------------------------------------------------
# Field-level rules (§6: "enforced on the server: forms, list and show columns").
# ---------------------------------------------------------------------------

#: Field groups of §6: who reads them (R) and who writes them (W) on screens they open.
FIELD_RULES: dict[str, dict[str, set[str]]] = {
    # "customer-relationship info": relationship role and notes of a contact.
    "relationship": {"R": {"sales", "marketing", "ar", "support", "privacy", "dpo"},
                     "W": {"sales"}},
    # "invoicing details" of an organisation.
    "invoicing": {"R": {"ar", "privacy", "dpo"}, "W": {"ar"}},
    # "consent, marketing status".
    "marketing_status": {"R": {"sales", "marketing", "comms", "privacy", "dpo"},
                         "W": {"marketing", "privacy"}},
    # Legal hold stops the retention clock (§8): the privacy officer's, seen by the DPO.
    "legal_hold": {"R": {"privacy", "dpo"}, "W": {"privacy"}},
    # An organisation's own details (name, business id, addresses).
    "organisation_profile": {"W": {"sales"}},
    # Where a contact came from (its source: a purchased list by name), as its
    # provenance tab: the readers of provenance, not Communications.
    "source": {"R": {"sales", "marketing", "ar", "support", "privacy", "dpo"}},
}

CONTACT_READERS = [u for u in USERS if allowed(u, "contact", "show")]
CONTACT_EDITORS = [u for u in USERS if allowed(u, "contact", "edit")]
ORGANISATION_READERS = [u for u in USERS if allowed(u, "organisation", "show")]
ORGANISATION_EDITORS = [u for u in USERS if allowed(u, "organisation", "edit")]

RELATIONSHIP_NOTE = "Suhdemuistio-QX7 golf ja purjehdus"
E_INVOICE = "003799887766QX"
BILLING_EMAIL = "reskontra-qx7@laskutus.example"


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}x"


def submit_form(client, url: str, values: dict[str, str], untick: tuple[str, ...] = ()):
    """Open the form at `url`, type `values` over it and send it, as a browser would.

    :return: (response to the POST, names of the form's controls)
    """
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    fields = [(k, v) for k, v in form_fields(text(page)) if k not in untick]
    return client.post(url, data=filled(fields, values)), field_names(text(page))


def commit(*objects):
    db.session.commit()
    return [o.id for o in objects]


def contact_page_and_list(client, pk: int, last_name: str) -> tuple[str, str]:
    show = client.get(f"/contactview/show/{pk}")
    listing = client.get("/contactview/list/", query_string={"q": last_name})
    assert show.status_code == listing.status_code == 200
    assert last_name in text(listing)
    return text(show), text(listing)


class TestFieldRules:
    @pytest.mark.parametrize("user", CONTACT_READERS)
    def test_relationship_info_is_shown_only_to_its_readers(self, world, user):
        name = unique("Suhde")
        (pk,) = commit(make_contact(db.session, last_name=name,
                                    relationship_notes=RELATIONSHIP_NOTE,
                                    relationship_role=RelationshipRole.decision_maker))
        show, listing = contact_page_and_list(world.clients[user], pk, name)
        reads = user in FIELD_RULES["relationship"]["R"]
        assert (RELATIONSHIP_NOTE in show) is reads
        assert ("decision_maker" in show or "Decision maker" in show) is reads
        assert ("Role in the customer relationship" in show) is reads
        # Not in the list's rows (its filter box offers the roles to filter by).
        rows = re.search(r'<table class="table table-bordered table-hover">.*?</table>',
                         listing, re.S).group(0)
        assert RELATIONSHIP_NOTE not in rows
        assert "decision_maker" not in rows and "Decision maker" not in rows
        assert ("Decision maker" in listing) is reads  # offered as a filter to readers only

    @pytest.mark.parametrize("user", CONTACT_EDITORS)
    def test_relationship_info_is_written_only_by_its_writers(self, world, user):
        (pk,) = commit(make_contact(db.session, relationship_notes="Alkuperäinen muistio"))
        response, names = submit_form(world.clients[user], f"/contactview/edit/{pk}", {
            "title": f"Titteli {user}", "relationship_notes": "Muutettu muistio",
            "relationship_role": "billing"})
        assert response.status_code == 302, form_errors(response)
        writes = user in FIELD_RULES["relationship"]["W"]
        assert ("relationship_notes" in names) is writes
        assert column(Contact, "title", pk) == f"Titteli {user}"
        assert column(Contact, "relationship_notes", pk) == (
            "Muutettu muistio" if writes else "Alkuperäinen muistio")
        assert (column(Contact, "relationship_role", pk) == RelationshipRole.billing) is writes

    @pytest.mark.parametrize("user", ORGANISATION_READERS)
    def test_invoicing_details_are_shown_only_to_their_readers(self, world, user):
        name = unique("Laskutettava ")
        (pk,) = commit(make_organisation(db.session, name=name, e_invoice_address=E_INVOICE,
                                         billing_email=BILLING_EMAIL))
        client = world.clients[user]
        show = text(client.get(f"/organisationview/show/{pk}"))
        listing = text(client.get("/organisationview/list/", query_string={"q": name}))
        assert name in show and name in listing
        reads = user in FIELD_RULES["invoicing"]["R"]
        assert (E_INVOICE in show) is reads
        assert (BILLING_EMAIL in show) is reads
        assert ("E-invoice address" in show) is reads
        assert E_INVOICE not in listing and BILLING_EMAIL not in listing

    def test_sales_cannot_set_invoicing_details_when_adding(self, world):
        name = unique("Myyjän ")
        response, names = submit_form(world.clients["sales"], "/organisationview/add", {
            "name": name, "billing_email": BILLING_EMAIL, "e_invoice_address": E_INVOICE})
        assert response.status_code == 302, form_errors(response)
        assert not names & {"billing_email", "e_invoice_address", "invoicing_street"}
        db.session.rollback()
        org = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
        assert (org.billing_email, org.e_invoice_address) == (None, None)

    def test_sales_cannot_change_invoicing_details(self, world):
        (pk,) = commit(make_organisation(db.session, billing_email="vanha@laskutus.example"))
        new_name = unique("Uusi nimi ")
        response, _ = submit_form(world.clients["sales"], f"/organisationview/edit/{pk}", {
            "name": new_name, "billing_email": BILLING_EMAIL, "e_invoice_address": E_INVOICE})
        assert response.status_code == 302, form_errors(response)
        assert column(Organisation, "name", pk) == new_name
        assert column(Organisation, "billing_email", pk) == "vanha@laskutus.example"
        assert column(Organisation, "e_invoice_address", pk) is None

    def test_receivables_change_billing_details_but_not_the_name(self, world):
        old_name = unique("Vanha nimi ")
        (pk,) = commit(make_organisation(db.session, name=old_name))
        response, names = submit_form(world.clients["ar"], f"/organisationview/edit/{pk}", {
            "name": "Reskontran nimi", "billing_email": BILLING_EMAIL,
            "e_invoice_address": E_INVOICE, "relationship_notes": "Reskontran muistio"})
        assert response.status_code == 302, form_errors(response)
        assert {"billing_email", "e_invoice_address"} <= names
        assert not names & {"name", "business_id", "relationship_notes", "legal_hold"}
        assert column(Organisation, "billing_email", pk) == BILLING_EMAIL
        assert column(Organisation, "e_invoice_address", pk) == E_INVOICE
        assert column(Organisation, "name", pk) == old_name
        assert column(Organisation, "relationship_notes", pk) == "Key account"

    @pytest.mark.parametrize("user", ORGANISATION_EDITORS)
    def test_organisation_name_is_written_only_by_its_writers(self, world, user):
        old_name = unique("Nimi ")
        (pk,) = commit(make_organisation(db.session, name=old_name))
        response, names = submit_form(world.clients[user], f"/organisationview/edit/{pk}",
                                      {"name": f"{old_name} {user}"})
        assert response.status_code == 302, form_errors(response)
        writes = user in FIELD_RULES["organisation_profile"]["W"]
        assert ("name" in names) is writes
        assert column(Organisation, "name", pk) == (f"{old_name} {user}" if writes else old_name)

    @pytest.mark.parametrize("user", CONTACT_READERS)
    def test_marketing_status_is_shown_only_to_its_readers(self, world, user):
        name = unique("Markkinointi")
        (pk,) = commit(make_contact(db.session, last_name=name,
                                    marketing_status=MarketingStatus.unsubscribed))
        show, listing = contact_page_and_list(world.clients[user], pk, name)
        reads = user in FIELD_RULES["marketing_status"]["R"]
        for page in (show, listing):
            assert ("Unsubscribed" in page or "unsubscribed" in page) is reads

    @pytest.mark.parametrize("user", CONTACT_EDITORS)
    def test_marketing_status_is_written_only_by_its_writers(self, world, user):
        contact = make_contact(db.session, marketing_status=MarketingStatus.never)
        make_consent(db.session, contact)  # subscribing needs it (crm.services.consents)
        (pk,) = commit(contact)
        response, names = submit_form(world.clients[user], f"/contactview/edit/{pk}", {
            "title": f"Titteli {user}", "marketing_status": "subscribed"})
        assert response.status_code == 302, form_errors(response)
        writes = user in FIELD_RULES["marketing_status"]["W"]
        assert ("marketing_status" in names) is writes
        assert column(Contact, "title", pk) == f"Titteli {user}"
        assert column(Contact, "marketing_status", pk) == (
            MarketingStatus.subscribed if writes else MarketingStatus.never)

    @pytest.mark.parametrize("user", CONTACT_EDITORS)
    def test_marketing_status_of_a_new_contact_is_set_only_by_its_writers(self, world, user):
        name = unique("Uusi")
        writes = user in FIELD_RULES["marketing_status"]["W"]
        # A subscribed contact is added with its consent to direct marketing
        # (crm.services.consents), by those who may record one.
        consent = {"legal_basis": "consent", "consent_purpose": str(world.purpose_id),
                   "consent_text_version": "2026-01", "consent_given_how": "phone",
                   "consent_evidence": "Puhelu",
                   "consent_given_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
                   } if writes else {}
        response, _ = submit_form(world.clients[user], "/contactview/add", {
            "first_name": "Uusi", "last_name": name, "marketing_status": "subscribed",
            "purposes": str(world.relationship_purpose_id), **consent})
        assert response.status_code == 302, form_errors(response)
        db.session.rollback()
        status = db.session.scalar(sa.select(Contact.marketing_status)
                                   .where(Contact.last_name == name))
        assert status == (MarketingStatus.subscribed if writes else MarketingStatus.never)

    @pytest.mark.parametrize("user", CONTACT_READERS)
    def test_source_of_a_contact_is_shown_only_to_its_readers(self, world, user):
        name = unique("Lähde")
        source = Source(kind=SourceKind.purchased_list, name=f"{name}-OSTOLISTA",
                        supplier=f"{name}-TOIMITTAJA")
        db.session.add(source)
        contact = make_contact(db.session, last_name=name, source=source)
        db.session.add(Provenance(contact=contact, source=source,
                                  art14_due_on=date(2026, 3, 1)))
        (pk,) = commit(contact)
        show, listing = contact_page_and_list(world.clients[user], pk, name)
        reads = user in FIELD_RULES["source"]["R"]
        # The Register part's "Source" and the provenance tab's column of that name.
        assert (">Source<" in show) is reads
        assert (f"{name}-OSTOLISTA" in show) is reads
        assert f"{name}-OSTOLISTA" not in listing

    @pytest.mark.parametrize("user", CONTACT_READERS)
    def test_legal_hold_is_shown_only_to_its_readers(self, world, user):
        name = unique("Pito")
        contact, org = make_contact(db.session, last_name=name, legal_hold=True), \
            make_organisation(db.session, name=f"{name} Oy", legal_hold=True)
        pk, org_pk = commit(contact, org)
        client = world.clients[user]
        show, _ = contact_page_and_list(client, pk, name)
        org_show = text(client.get(f"/organisationview/show/{org_pk}"))
        assert f"{name} Oy" in org_show
        reads = user in FIELD_RULES["legal_hold"]["R"]
        assert ("Legal hold" in show) is reads
        assert ("Legal hold" in org_show) is reads

    @pytest.mark.parametrize("user", CONTACT_EDITORS)
    def test_legal_hold_of_a_contact_is_set_only_by_its_writers(self, world, user):
        (pk,) = commit(make_contact(db.session))
        response, names = submit_form(world.clients[user], f"/contactview/edit/{pk}", {
            "title": f"Titteli {user}", "legal_hold": "y"})
        assert response.status_code == 302, form_errors(response)
        writes = user in FIELD_RULES["legal_hold"]["W"]
        assert ("legal_hold" in names) is writes
        assert column(Contact, "title", pk) == f"Titteli {user}"
        assert column(Contact, "legal_hold", pk) is writes

    @pytest.mark.parametrize("user", ORGANISATION_EDITORS)
    def test_legal_hold_of_an_organisation_is_set_only_by_its_writers(self, world, user):
        (pk,) = commit(make_organisation(db.session))
        response, names = submit_form(world.clients[user], f"/organisationview/edit/{pk}",
                                      {"legal_hold": "y"})
        assert response.status_code == 302, form_errors(response)
        writes = user in FIELD_RULES["legal_hold"]["W"]
        assert ("legal_hold" in names) is writes
        assert column(Organisation, "legal_hold", pk) is writes

    def test_privacy_lifts_a_legal_hold(self, world):
        contact, org = make_contact(db.session, legal_hold=True), \
            make_organisation(db.session, legal_hold=True)
        pk, org_pk = commit(contact, org)
        client = world.clients["privacy"]
        for url in (f"/contactview/edit/{pk}", f"/organisationview/edit/{org_pk}"):
            response, _ = submit_form(client, url, {}, untick=("legal_hold",))
            assert response.status_code == 302, form_errors(response)
        assert column(Contact, "legal_hold", pk) is False
        assert column(Organisation, "legal_hold", org_pk) is False


# ---------------------------------------------------------------------------
# Filters and sorting given in the URL reveal nothing a role cannot read.
# ---------------------------------------------------------------------------


def order_of(page: str, *names: str) -> list[str]:
    assert all(name in page for name in names), names
    return sorted(names, key=page.index)


class TestFiltersAndSorting:
    @pytest.mark.parametrize("user", ["marketing", "sales", "support", "ar"])
    def test_filter_on_marketing_status_works_only_for_its_readers(self, world, user):
        prefix = unique("Suodatus")
        commit(make_contact(db.session, last_name=f"{prefix}a",
                            marketing_status=MarketingStatus.subscribed),
               make_contact(db.session, last_name=f"{prefix}b",
                            marketing_status=MarketingStatus.never))
        response = world.clients[user].get("/contactview/list/", query_string={
            "q": prefix, "_flt_0_marketing_status": "subscribed"})
        assert response.status_code == 200
        assert f"{prefix}a" in text(response)
        reads = user in FIELD_RULES["marketing_status"]["R"]
        assert (f"{prefix}b" in text(response)) is not reads

    @pytest.mark.parametrize("user", ["comms", "sales"])
    def test_filter_on_relationship_notes_filters_nothing(self, world, user):
        prefix = unique("Muistio")
        commit(make_contact(db.session, last_name=f"{prefix}a", relationship_notes="Golf"),
               make_contact(db.session, last_name=f"{prefix}b", relationship_notes="Tennis"))
        response = world.clients[user].get("/contactview/list/", query_string={
            "q": prefix, "_flt_0_relationship_notes": "Golf",
            "_flt_1_relationship_notes": "Golf", "_flt_2_relationship_notes": "Golf"})
        assert response.status_code == 200
        assert f"{prefix}a" in text(response) and f"{prefix}b" in text(response)
        assert "Tennis" not in text(response)

    @pytest.mark.parametrize("user", ["sales", "comms"])
    def test_filter_on_customer_status_works_only_for_its_readers(self, world, user):
        prefix = unique("Suodatin")
        commit(make_organisation(db.session, name=f"{prefix} A Oy",
                                 customer_status=CustomerStatus.customer),
               make_organisation(db.session, name=f"{prefix} B Oy",
                                 customer_status=CustomerStatus.prospect))
        response = world.clients[user].get("/organisationview/list/", query_string={
            "q": prefix, "_flt_0_customer_status": "customer"})
        assert response.status_code == 200
        assert f"{prefix} A Oy" in text(response)
        reads = user in FIELD_RULES["relationship"]["R"]
        assert (f"{prefix} B Oy" in text(response)) is not reads

    @pytest.mark.parametrize("user", ["comms", "sales", "ar"])
    def test_sorting_by_relationship_notes_does_not_error_or_leak(self, world, user):
        prefix = unique("Jarjestys")
        a, b = f"{prefix}a", f"{prefix}b"
        commit(make_contact(db.session, first_name="Aapo", last_name=a,
                            relationship_notes="Zzz viimeinen"),
               make_contact(db.session, first_name="Veikko", last_name=b,
                            relationship_notes="Aaa ensimmäinen"))
        client = world.clients[user]

        def listed(column_name, direction):
            response = client.get("/contactview/list/", query_string={
                "q": prefix, "_oc_ContactView": column_name, "_od_ContactView": direction})
            assert response.status_code == 200
            return order_of(text(response), a, b)

        # Sorting does work: by a column the role may sort by, the order follows it.
        assert listed("first_name", "desc") == [b, a]
        for direction in ("asc", "desc"):
            assert listed("relationship_notes", direction) == [a, b]
            assert listed("anonymised_at", direction) == [a, b]
            assert listed("no_such_column", direction) == [a, b]

    @pytest.mark.parametrize("user", ["sales", "comms"])
    def test_sorting_by_customer_status_works_only_for_its_readers(self, world, user):
        prefix = unique("Lajittelu")
        a, b = f"{prefix} A Oy", f"{prefix} B Oy"
        commit(make_organisation(db.session, name=a, customer_status=CustomerStatus.prospect),
               make_organisation(db.session, name=b, customer_status=CustomerStatus.customer))
        response = world.clients[user].get("/organisationview/list/", query_string={
            "q": prefix, "_oc_OrganisationView": "customer_status",
            "_od_OrganisationView": "asc"})
        assert response.status_code == 200
        reads = user in FIELD_RULES["relationship"]["R"]
        assert order_of(text(response), a, b) == ([b, a] if reads else [a, b])


# ---------------------------------------------------------------------------
# Tabs of related records on a record's page.
# ---------------------------------------------------------------------------


class TestRelatedTabs:
    @pytest.mark.parametrize("user", CONTACT_READERS)
    def test_contact_page_shows_the_tabs_its_reader_may_read(self, world, user):
        session = db.session
        name = unique("Välilehti")
        contact = make_contact(session, last_name=name)
        purpose = Purpose(code=name, name_fi=f"{name}-SUOSTUMUS", name_en=f"{name}-CONSENT")
        source = Source(kind=SourceKind.purchased_list, name=f"{name}-LÄHDE")
        session.add_all([purpose, source])
        make_identifier(session, contact, identifier=f"{name}-TUNNISTE")
        make_consent(session, contact, purpose=purpose)
        session.add(Provenance(contact=contact, source=source))
        make_activity(session, contact, subject=f"{name}-AKTIVITEETTI")
        (pk,) = commit(contact)
        page = text(world.clients[user].get(f"/contactview/show/{pk}"))
        assert name in page
        assert (f"{name}-TUNNISTE" in page) is allowed(user, "identifier", "list")
        assert (f"{name}-CONSENT" in page or f"{name}-SUOSTUMUS" in page) is allowed(
            user, "consent", "list")
        assert (f"{name}-LÄHDE" in page) is allowed(user, "provenance", "list")
        assert (f"{name}-AKTIVITEETTI" in page) is allowed(user, "activity", "list")

    @pytest.mark.parametrize("user", ORGANISATION_READERS)
    def test_organisation_page_shows_the_tabs_its_reader_may_read(self, world, user):
        session = db.session
        org = make_organisation(session, name=unique("Välilehti Oy "))
        contact = make_contact(session, organisation=org, last_name=unique("Työntekijä"))
        make_activity(session, None, organisation=org, subject="ORG-AKTIVITEETTI-QX")
        org_pk, _ = commit(org, contact)
        page = text(world.clients[user].get(f"/organisationview/show/{org_pk}"))
        assert org.name in page
        assert (contact.last_name in page) is allowed(user, "contact", "list")
        assert ("ORG-AKTIVITEETTI-QX" in page) is allowed(user, "activity", "list")


# ---------------------------------------------------------------------------
# Cost of the checks, pages outside the screens, and CSRF.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["list", "show", "edit"])
def test_permission_checks_cost_at_most_one_query(world, page):
    client = world.clients["sales"]
    url = {"list": "/contactview/list/", "show": f"/contactview/show/{world.contact_id}",
           "edit": f"/contactview/edit/{world.contact_id}"}[page]
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert statements, "the listener saw no queries at all"
    permission_queries = [s for s in statements if "ab_permission" in s]
    assert len(permission_queries) <= 1, permission_queries


@pytest.mark.parametrize("user", ["admin", "maintainer", "sales"])
def test_home_page_shows_contact_data_only_to_its_readers(world, user):
    response = world.clients[user].get("/")
    assert response.status_code == 200
    reads = allowed(user, "contact", "list")
    assert ("/contactview/list/" in text(response)) is reads
    assert SCREENS["contact"].marker not in text(response) or reads


def test_delete_without_csrf_token_changes_nothing(world):
    (pk,) = commit(make_identifier(db.session, db.session.get(Contact, world.contact_id)))
    world.clients["privacy"].post(f"/identifierview/delete/{pk}")
    assert exists(Identifier, pk)
