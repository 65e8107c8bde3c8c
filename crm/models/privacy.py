"""Data subject requests, retention policies, job runs, the audit trail, suppression."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import AwareDateTime, LabelledEnum, enum_column, lazy_gettext, utcnow

if TYPE_CHECKING:
    from crm.services.requests import Lateness


class RequestType(LabelledEnum):
    access = "access"
    rectification = "rectification"
    erasure = "erasure"
    objection = "objection"

    @classmethod
    def _labels(cls):
        return {
            "access": lazy_gettext("Access"),
            "rectification": lazy_gettext("Rectification"),
            "erasure": lazy_gettext("Erasure"),
            "objection": lazy_gettext("Objection"),
        }


class RequestStatus(LabelledEnum):
    received = "received"
    verifying = "verifying"
    in_progress = "in_progress"
    completed = "completed"
    rejected = "rejected"

    @classmethod
    def _labels(cls):
        return {
            "received": lazy_gettext("Received"),
            "verifying": lazy_gettext("Verifying identity"),
            "in_progress": lazy_gettext("In progress"),
            "completed": lazy_gettext("Completed"),
            "rejected": lazy_gettext("Rejected"),
        }


class RequestChannel(LabelledEnum):
    letter = "letter"
    email = "email"
    phone = "phone"
    in_person = "in_person"

    @classmethod
    def _labels(cls):
        return {"letter": lazy_gettext("Letter"), "email": lazy_gettext("Email"),
                "phone": lazy_gettext("Phone"), "in_person": lazy_gettext("In person")}


class DeliveryMethod(LabelledEnum):
    """How the answer to a request went to the person."""

    email = "email"
    letter = "letter"
    in_person = "in_person"

    @classmethod
    def _labels(cls):
        return {"email": lazy_gettext("Email"), "letter": lazy_gettext("Letter"),
                "in_person": lazy_gettext("In person")}


class DataSubjectRequest(Model):
    __tablename__ = "data_subject_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[RequestType] = mapped_column(enum_column(RequestType))
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    #: Who the request is about when they are not in the register: a callback request
    #: kept apart from it (no contact). A request names a contact or this, not both.
    callback_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("callback_request.id", ondelete="SET NULL"), index=True
    )
    requester_name: Mapped[str] = mapped_column(sa.String(200))
    requester_email: Mapped[str | None] = mapped_column(sa.String(320))
    requester_phone: Mapped[str | None] = mapped_column(sa.String(32))
    channel: Mapped[RequestChannel] = mapped_column(enum_column(RequestChannel))
    received_on: Mapped[date] = mapped_column(sa.Date)
    identity_verified_how: Mapped[str | None] = mapped_column(sa.String(200))
    identity_verified_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="SET NULL")
    )
    identity_verified_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    due_on: Mapped[date] = mapped_column(sa.Date, index=True)
    extended_due_on: Mapped[date | None] = mapped_column(sa.Date)
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    extension_notified_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus), default=RequestStatus.received, index=True
    )
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    #: How the answer (the export, a confirmation, a refusal) went to the person.
    delivered_how: Mapped[DeliveryMethod | None] = mapped_column(enum_column(DeliveryMethod))
    #: What an erasure did: counts per kind of record and each processor's status; no values.
    erasure_result: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    contact = relationship("Contact")
    callback_request = relationship("CallbackRequest")
    identity_verified_by = relationship("User")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<DataSubjectRequest {self.id} {self.type}>"

    @property
    def deadline(self) -> date:
        """The day the answer is due: the extended date when there is one."""
        return self.extended_due_on or self.due_on

    @property
    def lateness(self) -> Lateness:
        """Still open after its deadline (today where the register is kept), or answered
        how many days after it (crm.services.requests.Lateness)."""
        from crm.services.requests import lateness

        return lateness(self)


class RecordKind(LabelledEnum):
    prospect_contact = "prospect_contact"
    former_customer_contact = "former_customer_contact"
    callback_request = "callback_request"
    audit_event = "audit_event"
    job_run = "job_run"

    @classmethod
    def _labels(cls):
        return {
            "prospect_contact": lazy_gettext("Contacts of prospects"),
            "former_customer_contact": lazy_gettext("Contacts of former customers"),
            "callback_request": lazy_gettext("Callback requests that led nowhere"),
            "audit_event": lazy_gettext("Audit events"),
            "job_run": lazy_gettext("Job runs"),
        }


class ClockStart(LabelledEnum):
    last_activity = "last_activity"
    relationship_end = "relationship_end"
    received = "received"
    created = "created"

    @classmethod
    def _labels(cls):
        return {
            "last_activity": lazy_gettext("Last activity"),
            "relationship_end": lazy_gettext("End of the customer relationship"),
            "received": lazy_gettext("Received"),
            "created": lazy_gettext("Created"),
        }


class RetentionAction(LabelledEnum):
    anonymise = "anonymise"
    delete = "delete"

    @classmethod
    def _labels(cls):
        return {"anonymise": lazy_gettext("Anonymise"), "delete": lazy_gettext("Delete")}


class RetentionPolicy(Model):
    __tablename__ = "retention_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    record_kind: Mapped[RecordKind] = mapped_column(enum_column(RecordKind))
    clock_start: Mapped[ClockStart] = mapped_column(enum_column(ClockStart))
    period_days: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[RetentionAction] = mapped_column(enum_column(RetentionAction))
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    description: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<RetentionPolicy {self.code}>"

    def __str__(self) -> str:
        return self.name


class JobStatus(LabelledEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"

    @classmethod
    def _labels(cls):
        return {"running": lazy_gettext("Running"), "succeeded": lazy_gettext("Succeeded"),
                "failed": lazy_gettext("Failed"), "skipped": lazy_gettext("Skipped")}


class JobRun(Model):
    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(100), index=True)
    started_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.running)
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: What started the run: "schedule", "command" (the CLI) or "screen" (the UI).
    trigger: Mapped[str | None] = mapped_column(sa.String(20))
    #: Counts only (rows changed per kind of record); never personal data.
    counts: Mapped[dict | None] = mapped_column(sa.JSON)
    #: The error's kind and code, never its message: database errors quote row values.
    error: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<JobRun {self.id} {self.job}>"


class JobLock(Model):
    """Which process runs a job now, on SQLite (PostgreSQL uses advisory locks instead).

    A process claims the row in one atomic UPDATE and keeps `heartbeat_at` fresh while
    it runs; a row whose owner died (SIGKILL) is reclaimed once its heartbeat is stale.
    """

    __tablename__ = "job_lock"

    job: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    #: host:pid:nonce of the holder; NULL when free.
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    acquired_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(AwareDateTime)

    def __repr__(self) -> str:
        return f"<JobLock {self.job}>"


class NotificationKind(LabelledEnum):
    request_due = "request_due"
    request_overdue = "request_overdue"
    art14_owed = "art14_owed"

    @classmethod
    def _labels(cls):
        return {
            "request_due": lazy_gettext("Request due soon"),
            "request_overdue": lazy_gettext("Request overdue"),
            "art14_owed": lazy_gettext("Art. 14 notices owed"),
        }


class Notification(Model):
    """Something a role must act on, raised by a scheduled job; ids and dates, no values."""

    __tablename__ = "notification"
    __table_args__ = (sa.UniqueConstraint("kind", "object_type", "object_id",
                                          name="uq_notification_object"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    #: The CRM role that must act (e.g. "Privacy").
    audience: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    #: How many records it covers (e.g. contacts of one purchased list owed a notice).
    count: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(AwareDateTime, index=True)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind}>"


class AuditEvent(Model):
    """Who did what to which object; identifiers and field names, never the values."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    # No foreign key: the trail outlives the accounts it names.
    actor_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    actor: Mapped[str | None] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(32), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    fields: Mapped[list | None] = mapped_column(sa.JSON)
    detail: Mapped[str | None] = mapped_column(sa.String(200))

    __table_args__ = (sa.Index("ix_audit_event_object", "object_type", "object_id"),)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"


class AuditEventPerson(Model):
    """A person a list showed, one row per person of a "view_list" event (DESIGN §9.5):
    the contact by id, or the record itself where it names no contact (a callback
    request or data subject request of someone not in the register, a user account).
    Ids only, as the event's own object: the trail outlives the records it names."""

    __tablename__ = "audit_event_person"

    event_id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("audit_event.id", ondelete="CASCADE"), primary_key=True)
    object_type: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    object_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)

    # The person filter of the trail asks which events showed a person.
    __table_args__ = (sa.Index("ix_audit_event_person_object", "object_type", "object_id"),)

    def __repr__(self) -> str:
        return f"<AuditEventPerson {self.event_id} {self.object_type}>"


class SuppressionEntry(Model):
    """A keyed hash of an erased or opted-out email or phone: never imported again."""

    __tablename__ = "suppression_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: HMAC-SHA256, 32 bytes (crm.privacy.suppression).
    key_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<SuppressionEntry {self.id} {self.kind}>"


def _organisation_billing_email_index() -> sa.Index:
    # The anonymiser looks for a person's emails among organisations' billing emails.
    from crm.models.organisation import Organisation

    billing_email = Organisation.__table__.c.billing_email
    return sa.Index("ix_organisation_billing_email_lower", sa.func.lower(billing_email),
                    postgresql_where=billing_email.is_not(None),
                    sqlite_where=billing_email.is_not(None))


ix_organisation_billing_email_lower = _organisation_billing_email_index()
