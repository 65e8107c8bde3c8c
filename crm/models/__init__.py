"""The CRM's models (DESIGN §5); importing this package registers every table."""

from flask_appbuilder.security.sqla.models import User  # noqa: F401  (ab_* tables)

from crm.models import indexes as _indexes  # noqa: F401  (list and search indexes)
from crm.models.activity import (
    Activity,
    ActivityKind,
    CallbackConsent,
    CallbackRequest,
    CallbackStatus,
)
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
from crm.models.marketing import MailchimpMember, MailchimpStatus
from crm.models.organisation import CustomerStatus, Organisation
from crm.models.privacy import (
    AuditEvent,
    AuditEventPerson,
    ClockStart,
    DataSubjectRequest,
    DeliveryMethod,
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
from crm.models.subject import ContactChange

__all__ = [
    "Activity", "ActivityKind", "AuditEvent", "AuditEventPerson", "CallbackConsent",
    "CallbackRequest", "CallbackStatus",
    "ClockStart", "Consent", "ConsentMethod", "Contact", "ContactChange", "CustomerStatus",
    "DataSubjectRequest", "DeliveryMethod", "Identifier", "JobRun", "JobStatus", "Language",
    "LegalBasis",
    "MailchimpMember", "MailchimpStatus", "MarketingStatus", "OidcIdentity", "Organisation",
    "Provenance", "Purpose", "Recipient",
    "RecipientRole", "RecordKind", "RelationshipRole", "RequestChannel", "RequestStatus",
    "RequestType", "RetentionAction", "RetentionPolicy", "Source", "SourceKind",
    "SuppressionEntry", "TransferSafeguard", "User", "UserSession", "contact_purpose",
]
