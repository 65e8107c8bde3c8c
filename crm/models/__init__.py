"""The CRM's models (DESIGN §5); importing this package registers every table."""

from flask_appbuilder.security.sqla.models import User  # noqa: F401  (ab_* tables)

from crm.models.activity import Activity, ActivityKind, CallbackRequest, CallbackStatus
from crm.models.contact import (
    Consent,
    ConsentMethod,
    Contact,
    Identifier,
    Language,
    LegalBasis,
    MarketingStatus,
    Purpose,
    RelationshipRole,
    contact_purpose,
)
from crm.models.identity import OidcIdentity
from crm.models.organisation import CustomerStatus, Organisation
from crm.models.privacy import (
    AuditEvent,
    ClockStart,
    DataSubjectRequest,
    JobRun,
    JobStatus,
    RecordKind,
    RequestChannel,
    RequestStatus,
    RequestType,
    RetentionAction,
    RetentionPolicy,
    SuppressionEntry,
)
from crm.models.provenance import Provenance, Source, SourceKind
from crm.models.recipient import Recipient, RecipientRole, TransferSafeguard
from crm.models.session import UserSession

__all__ = [
    "Activity", "ActivityKind", "AuditEvent", "CallbackRequest", "CallbackStatus",
    "ClockStart", "Consent", "ConsentMethod", "Contact", "CustomerStatus",
    "DataSubjectRequest", "Identifier", "JobRun", "JobStatus", "Language", "LegalBasis",
    "MarketingStatus", "OidcIdentity", "Organisation", "Provenance", "Purpose", "Recipient",
    "RecipientRole", "RecordKind", "RelationshipRole", "RequestChannel", "RequestStatus",
    "RequestType", "RetentionAction", "RetentionPolicy", "Source", "SourceKind",
    "SuppressionEntry", "TransferSafeguard", "User", "UserSession", "contact_purpose",
]
