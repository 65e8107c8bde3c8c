"""Register the CRM's screens and menu with Flask-AppBuilder."""

from __future__ import annotations

from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext as _l

from crm.security import roles
from crm.views.art14 import Art14NoticeView
from crm.views.audience import MarketingAudienceView
from crm.views.imports import PurchasedListImportView
from crm.views.jobs import JobsView
from crm.views.privacy import (
    AuditEventView,
    DataSubjectRequestView,
    JobRunView,
    RecipientView,
    RetentionPolicyView,
    SourceView,
)
from crm.views.register import (
    ActivityView,
    CallbackRequestView,
    ConsentView,
    ContactView,
    IdentifierView,
    OrganisationView,
    ProvenanceView,
)
from crm.views.subjects import ContactChangeView, RecordOfProcessingView, RequestDeskView

REGISTER = "Register"
MARKETING = "Marketing"
PRIVACY = roles.PRIVACY_MENU
MAINTENANCE = roles.MAINTENANCE_MENU


def register_views(appbuilder: AppBuilder) -> None:
    """Add every CRM view; menu entries appear only to roles holding the view's resource."""
    add = appbuilder.add_view
    add(ContactView, "Contacts", label=_l("Contacts"), icon="fa-address-book",
        category=REGISTER, category_label=_l("Register"), category_icon="fa-book")
    add(OrganisationView, "Organisations", label=_l("Organisations"), icon="fa-building",
        category=REGISTER)
    add(CallbackRequestView, "Callback requests", label=_l("Callback requests"),
        icon="fa-phone", category=REGISTER)
    add(ActivityView, "Activities", label=_l("Activities"), icon="fa-comments",
        category=REGISTER)
    add(ConsentView, "Consents", label=_l("Consents"), icon="fa-check-square-o",
        category=MARKETING, category_label=_l("Marketing"), category_icon="fa-bullhorn")
    add(SourceView, "Sources", label=_l("Sources and purchased lists"), icon="fa-download",
        category=MARKETING)
    add(PurchasedListImportView, "Purchased lists", label=_l("Purchased-list import"),
        icon="fa-upload", category=MARKETING)
    add(MarketingAudienceView, "Marketing audience", label=_l("Marketing audience"),
        icon="fa-envelope", category=MARKETING)
    add(RequestDeskView, "Open requests", label=_l("Open requests"), icon="fa-inbox",
        category=PRIVACY, category_label=_l("Privacy"), category_icon="fa-shield")
    add(DataSubjectRequestView, "Requests", label=_l("Data subject requests"),
        icon="fa-user-secret", category=PRIVACY)
    add(RecipientView, "Recipients", label=_l("Recipients and processors"), icon="fa-share",
        category=PRIVACY)
    add(RetentionPolicyView, "Retention", label=_l("Retention policies"), icon="fa-clock-o",
        category=PRIVACY)
    runs = add(JobRunView, "Job runs", label=_l("Job runs"), icon="fa-cogs", category=PRIVACY)
    jobs = add(JobsView, "Jobs", label=_l("Scheduled jobs"), icon="fa-play-circle",
               category=PRIVACY)
    appbuilder.add_link("Retention forecast", href="JobsView.forecast",
                        label=_l("Retention forecast"), icon="fa-calendar",
                        category=PRIVACY, baseview=jobs)
    add(AuditEventView, "Audit trail", label=_l("Audit trail"), icon="fa-list",
        category=PRIVACY)
    add(RecordOfProcessingView, "Record of processing", label=_l("Record of processing"),
        icon="fa-file-text-o", category=PRIVACY)
    # The job screens again, for the administrator and the service maintainer under a
    # heading of their own work (roles.MENU_CATEGORY_ROLES says who sees which).
    link = appbuilder.add_link
    link("Maintenance: job runs", href="JobRunView.list", label=_l("Job runs"),
         icon="fa-cogs", category=MAINTENANCE, category_label=_l("Maintenance"),
         category_icon="fa-wrench", baseview=runs)
    link("Maintenance: jobs", href="JobsView.index", label=_l("Scheduled jobs"),
         icon="fa-play-circle", category=MAINTENANCE, baseview=jobs)
    link("Maintenance: retention forecast", href="JobsView.forecast",
         label=_l("Retention forecast"), icon="fa-calendar", category=MAINTENANCE,
         baseview=jobs)
    # Reached from a contact's page only.
    appbuilder.add_view_no_menu(IdentifierView)
    appbuilder.add_view_no_menu(ProvenanceView)
    appbuilder.add_view_no_menu(ContactChangeView)
    # Posted from a purchased list's page and a contact's provenance tab.
    appbuilder.add_view_no_menu(Art14NoticeView)
