"""Data subject requests, retention policies, job runs, the audit trail, suppression."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import AwareDateTime, LabelledEnum, enum_column, lazy_gettext, utcnow


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


class DataSubjectRequest(Model):
    __tablename__ = "data_subject_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[RequestType] = mapped_column(enum_column(RequestType))
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True
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
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)

    contact = relationship("Contact")
    identity_verified_by = relationship("User")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<DataSubjectRequest {self.id} {self.type}>"


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
    counts: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<JobRun {self.id} {self.job}>"


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


class SuppressionEntry(Model):
    """A keyed hash of an erased or opted-out email or phone: never imported again."""

    __tablename__ = "suppression_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<SuppressionEntry {self.id} {self.kind}>"
