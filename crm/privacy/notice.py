"""The privacy notice and the Art. 30 record, generated from what the system really does.

Both are built from the live configuration and registers (controller settings,
purposes, sources, recipients and retention policies), so they cannot drift from
the system: change a retention period and the notice says the new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import distinct, select
from sqlalchemy.orm import Session

from crm.models import (
    LegalBasis,
    Purpose,
    Recipient,
    RecordKind,
    RetentionAction,
    RetentionPolicy,
    Source,
    SourceKind,
    TransferSafeguard,
)
from crm.security import roles

#: EEA member states: a recipient elsewhere means a transfer that needs a safeguard.
EEA = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
       "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS",
       "LI", "NO"}
LANGUAGES = ("fi", "en", "sv")


@dataclass
class NoticeRecipient:
    name: str
    country: str
    purpose: str
    role: str
    safeguard: TransferSafeguard
    outside_eea: bool

    @property
    def safeguard_valid(self) -> bool:
        return self.safeguard.valid


@dataclass
class NoticeRetention:
    record_kind: RecordKind
    period_days: int
    action: RetentionAction

    @property
    def period_months(self) -> int:
        return round(self.period_days / 30.44)


@dataclass
class Notice:
    controller: dict[str, str | None]
    register_name: str
    purposes: list[Purpose]
    legal_bases: list[LegalBasis]
    source_kinds: list[SourceKind]
    list_suppliers: list[str]
    recipients: list[NoticeRecipient]
    retention: list[NoticeRetention]
    staff_roles: list[str] = field(default_factory=list)

    @property
    def invalid_transfers(self) -> list[NoticeRecipient]:
        return [r for r in self.recipients if not r.safeguard_valid]


def build_notice(session: Session, config) -> Notice:
    """Collect what the notice and the Art. 30 record say, from the database and config."""
    recipients = [
        NoticeRecipient(r.name, r.country, r.purpose, r.role.value, r.transfer_safeguard,
                        r.country.upper() not in EEA)
        for r in session.scalars(select(Recipient).where(Recipient.active.is_(True))
                                 .order_by(Recipient.name))
    ]
    retention = [
        NoticeRetention(p.record_kind, p.period_days, p.action)
        for p in session.scalars(select(RetentionPolicy).where(RetentionPolicy.enabled.is_(True))
                                 .order_by(RetentionPolicy.period_days))
    ]
    suppliers = sorted(s for s in session.scalars(
        select(distinct(Source.supplier)).where(Source.kind == SourceKind.purchased_list)) if s)
    return Notice(
        controller={
            "name": config["CRM_CONTROLLER_NAME"],
            "address": config["CRM_CONTROLLER_ADDRESS"],
            "phone": config["CRM_CONTROLLER_PHONE"],
            "email": config["CRM_CONTROLLER_EMAIL"],
            "register_contact": config["CRM_REGISTER_CONTACT"],
            "dpo": config["CRM_DPO_CONTACT"],
        },
        register_name=config["CRM_REGISTER_NAME"],
        purposes=list(session.scalars(select(Purpose).order_by(Purpose.id))),
        legal_bases=list(LegalBasis),
        # The notice names every source the register may use, whether in use yet or not.
        source_kinds=list(SourceKind),
        list_suppliers=suppliers,
        recipients=recipients,
        retention=retention,
        staff_roles=[r for r in roles.ROLES if r not in ("Admin", "Maintainer")],
    )
