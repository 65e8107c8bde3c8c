"""The retention jobs: anonymise or delete what has expired (DESIGN §8)."""

from __future__ import annotations

from crm.jobs.context import JobContext
from crm.models import RecordKind
from crm.services.retention import RetentionRun, RetentionSettings


def _run(ctx: JobContext, kinds: tuple[RecordKind, ...]) -> None:
    settings = RetentionSettings(
        now=ctx.now,
        batch_size=ctx.config["CRM_RETENTION_BATCH_SIZE"],
        pause=ctx.config["CRM_RETENTION_BATCH_PAUSE"],
        dry_run=ctx.dry_run,
        suppression_key=ctx.config["CRM_SUPPRESSION_KEY"],
        workers=ctx.config["CRM_RETENTION_WORKERS"],
    )
    RetentionRun(ctx.engine, settings, heartbeat=ctx.heartbeat, counts=ctx.counts,
                 before_batch=ctx.hooks.get("before_batch")).run(kinds)


def retention(ctx: JobContext) -> None:
    """Anonymise contacts and delete callback requests past their policies' periods."""
    _run(ctx, (RecordKind.prospect_contact, RecordKind.former_customer_contact,
               RecordKind.callback_request))


def audit_pruning(ctx: JobContext) -> None:
    """Delete audit events and job runs older than their policies' periods."""
    _run(ctx, (RecordKind.audit_event, RecordKind.job_run))
