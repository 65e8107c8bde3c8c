"""Screens of the register: organisations, contacts and what hangs on them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g, request, url_for
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla import filters as fab_filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import NotFound
from wtforms import BooleanField, HiddenField, StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length, NumberRange, Optional

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityKind,
    CallbackRequest,
    CallbackStatus,
    Consent,
    Contact,
    Identifier,
    LegalBasis,
    Organisation,
    Provenance,
    Purpose,
    Source,
    SourceKind,
)
from crm.models.base import register_today, utcnow
from crm.privacy.suppression import lift
from crm.security import roles
from crm.services import validation as v
from crm.services.audit import record_event
from crm.services.callbacks import settle_consent
from crm.services.consents import (
    WITHDRAWN,
    consent_valid_since,
    has_valid_consent,
    marketing_purpose_id,
    on_consent_without_one,
    unsubscribe_without_consent,
)
from crm.services.contacts import keep_for_consented_purpose, own_activity_source, touch_contact
from crm.services.rectification import set_reason
from crm.views import art14, checks, list_audit
from crm.views.base import CrmModelView, _show_date, can
from crm.views.change_values import country_name
from crm.views.consent_forms import evidence_field, hand_entered_method_field, text_version_field
from crm.views.date_filters import CrmFilterConverter
from crm.views.interface import CrmSQLAInterface
from crm.views.search import ContactSearchMixin, FilterIsNull, OrganisationSearchMixin
from crm.views.subjects import ContactChangeView

LABELS = {
    "name": _l("Name"),
    "business_id": _l("Business ID"),
    "industry": _l("Industry"),
    "website": _l("Website"),
    "visiting_street": _l("Visiting address"),
    "visiting_postal_code": _l("Postal code"),
    "visiting_city": _l("City"),
    "customer_status": _l("Customer status"),
    "relationship_start": _l("Relationship started"),
    "relationship_end": _l("Relationship ended"),
    "relationship_notes": _l("Relationship notes"),
    "invoicing_street": _l("Invoicing address"),
    "invoicing_postal_code": _l("Invoicing postal code"),
    "invoicing_city": _l("Invoicing city"),
    "e_invoice_address": _l("E-invoice address"),
    "e_invoice_operator": _l("E-invoice operator"),
    "billing_email": _l("Billing email"),
    "payment_terms_days": _l("Payment terms (days)"),
    "legal_hold": _l("Legal hold"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "title": _l("Title"),
    "organisation": _l("Organisation"),
    "email": _l("Email"),
    "alt_email": _l("Other email"),
    "phone": _l("Phone"),
    "mobile": _l("Mobile"),
    "street_address": _l("Street address"),
    "postal_code": _l("Postal code"),
    "city": _l("City"),
    "country": _l("Country"),
    "language": _l("Language"),
    "notes": _l("Notes"),
    "legal_basis": _l("Legal basis"),
    "purposes": _l("Purposes"),
    "source": _l("Source"),
    "provenance": _l("Purchased list"),
    "consents": _l("Consents"),  # the contacts list's filter by valid consent
    "marketing_status": _l("Marketing"),
    "objected_at": _l("Objected to direct marketing"),
    "relationship_role": _l("Role in the customer relationship"),
    "last_activity_at": _l("Last activity"),
    "created_at": _l("Created"),
    "updated_at": _l("Updated"),
    "contact": _l("Contact"),
    "system": _l("System"),
    "identifier": _l("Identifier"),
    "purpose": _l("Purpose"),
    "text_version": _l("Consent text version"),
    "given_at": _l("Given"),
    "given_how": _l("Given how"),
    "evidence": _l("Evidence"),
    "withdrawn_at": _l("Withdrawn"),
    "recorded_at": _l("Recorded"),
    "art14_due_on": _l("Art. 14 notice due"),
    "art14_notified_at": _l("Art. 14 notice sent"),
    "kind": _l("Kind"),
    "subject": _l("Subject"),
    "body": _l("Details"),
    "occurred_at": _l("Date"),
    "author": _l("Author"),
    "organisation_name": _l("Organisation"),
    "message": _l("Message"),
    "status": _l("Status"),
    "received_at": _l("Received"),
    "handled_by": _l("Handled by"),
    "handled_at": _l("Handled"),
    "consent": _l("Consent on the form"),
}


CLOSED_CALLBACK = (CallbackStatus.done, CallbackStatus.no_result)


def show_phone(number: str | None) -> Markup:
    """Return a stored number grouped for reading, on one line in a narrow column."""
    return Markup('<span class="text-nowrap">%s</span>') % v.format_phone(number)


class IdentifierView(CrmModelView):
    resource = roles.IDENTIFIER
    datamodel = SQLAInterface(Identifier)
    audit_views = True  # a person's login id in one of the company's systems
    list_people = list_audit.CONTACT
    list_title = _l("Identifiers")
    show_title = _l("Identifier")
    add_title = _l("Add identifier")
    edit_title = _l("Edit identifier")
    label_columns = LABELS
    list_columns = ["contact", "system", "identifier"]
    show_columns = ["contact", "system", "identifier", "created_at"]
    add_columns = edit_columns = ["contact", "system", "identifier"]
    search_columns = ["system", "identifier"]


def usual_consent_purpose(session) -> Purpose | None:
    """Return the purpose a consent is usually asked for: direct marketing (the marketing
    audience's and the consent-expiry job's purpose)."""
    return session.scalar(select(Purpose).where(Purpose.code == "direct_marketing"))


class ConsentView(CrmModelView):
    resource = roles.CONSENT
    datamodel = SQLAInterface(Consent)
    audit_views = True  # a person's consent: what they agreed to, when, how, the evidence
    list_people = list_audit.CONTACT
    list_title = _l("Consents")
    show_title = _l("Consent")
    add_title = _l("Add consent")
    edit_title = _l("Edit consent")
    label_columns = LABELS
    list_columns = ["contact", "purpose", "given_at", "given_how", "withdrawn_at"]
    show_columns = ["contact", "purpose", "text_version", "given_at", "given_how",
                    "evidence", "withdrawn_at"]
    # How it was given first: it decides what the version and the evidence must say
    # (crm.views.consent_forms). "Import" is not offered: no one records that by hand.
    add_columns = ["contact", "purpose", "given_how", "text_version", "given_at", "evidence"]
    add_form_extra_fields = {
        "given_how": hand_entered_method_field(LABELS["given_how"]),
        "text_version": text_version_field(LABELS["text_version"], description=_l(
            "Web form: choose the version of its consent text that the person agreed to. "
            "Phone or email: say in brief what they agreed to, e.g. the version of the "
            "script read to them.")),
        "evidence": evidence_field(LABELS["evidence"], description=_l(
            "Where the consent can be checked, e.g. the callback request's number. "
            "Required for a consent by phone or email: who spoke with the person and "
            "when, or the email's date and where it is kept.")),
    }
    # A consent record is evidence: only its withdrawal is ever changed.
    edit_columns = ["withdrawn_at"]
    edit_template = "crm/model_edit.html"
    edit_details = ["contact", "purpose", "given_at", "given_how"]
    # The same fields and checks make a new contact's consent on the contact form
    # (ContactView, `CONSENT_FIELDS`).
    validators_columns = {"given_at": [checks.given_by_now],
                          "withdrawn_at": [checks.withdrawn_by_now,
                                           checks.withdrawn_after_given]}
    # Their calendars end today too, as those checks do.
    datetimes_until_now = ("given_at", "withdrawn_at")
    base_order = ("given_at", "desc")

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET" and "purpose" in form and form.purpose.data is None:
            # As on the contact form: otherwise the first purpose of the list (customer
            # relationship) was offered, and a consent saved unchanged was not one to
            # direct marketing, which the audience and the consent-expiry job count.
            form.purpose.data = usual_consent_purpose(self.datamodel.session)
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def pre_add(self, item):
        super().pre_add(item)
        if keep_for_consented_purpose(item.contact, item.purpose):
            g._crm_purpose_kept = item.contact

    def post_add(self, item):
        super().post_add(item)
        contact = g.pop("_crm_purpose_kept", None)
        if contact is not None:
            record_event("update", contact, fields=["purposes"])

    def pre_update(self, item):
        super().pre_update(item)
        if item.withdrawn_at is not None:
            # The person's last valid consent to direct marketing withdrawn: no more
            # marketing, in the withdrawal's own transaction.
            session = self.datamodel.session
            session.flush()
            if unsubscribe_without_consent(
                    session, [item.contact_id], purpose_id=marketing_purpose_id(session),
                    since=consent_valid_since(current_app.config["CRM_CONSENT_VALID_DAYS"]),
                    now=utcnow(), actor=(g.user.id, g.user.username), reason=WITHDRAWN):
                session.expire(item.contact)


class ProvenanceView(CrmModelView):
    resource = roles.PROVENANCE
    datamodel = SQLAInterface(Provenance)
    audit_views = True  # where a person came from: the purchased list, its Art. 14 notice
    list_people = list_audit.CONTACT
    base_permissions = ["can_read"]
    list_title = show_title = _l("Provenance")
    label_columns = LABELS
    list_columns = ["contact", "source", "recorded_at", "art14_due_on", "art14_notified_at"]
    show_columns = list_columns
    search_columns = ["source", "art14_due_on"]
    # The day sent; on a row still owed the notice, Marketing's form recording it.
    formatters_columns = {"art14_notified_at": art14.notice_sent_cell}

    def _get_list_widget(self, filters, **kwargs):
        return art14.with_row_forms(super()._get_list_widget(filters, **kwargs))


class ActivityView(CrmModelView):
    resource = roles.ACTIVITY
    datamodel = SQLAInterface(Activity)
    audit_views = True  # a call, meeting or note with a person, in its own words
    list_people = list_audit.CONTACT
    list_title = _l("Activities")
    show_title = _l("Activity")
    add_title = _l("Add activity")
    edit_title = _l("Edit activity")
    label_columns = LABELS
    list_columns = ["occurred_at", "kind", "subject", "contact", "organisation", "author"]
    show_columns = ["occurred_at", "kind", "subject", "body", "contact", "organisation",
                    "author"]
    add_columns = edit_columns = ["contact", "organisation", "kind", "subject", "body",
                                  "occurred_at"]
    search_columns = ["kind", "subject", "occurred_at"]
    base_order = ("occurred_at", "desc")
    validators_columns = {"occurred_at": [checks.occurred_by_today]}
    datetimes_until_now = ("occurred_at",)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        # Support logs support interactions (the home page shows them theirs): a new
        # activity of someone who may log activities but not add organisations starts
        # as one. Anyone else's starts as a call, the column's default.
        if (request.method == "GET" and "kind" in form and can(roles.ADD, roles.ACTIVITY)
                and not can(roles.ADD, roles.ORGANISATION)):
            form.kind.data = ActivityKind.support
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def pre_add(self, item):
        item.author_id = g.user.id
        if item.organisation is None and item.contact is not None:
            # Logged on a person's page: it belongs on their organisation's page too.
            item.organisation = item.contact.organisation
        touch_contact(item)

    def pre_update(self, item):
        super().pre_update(item)
        touch_contact(item)


class CallbackRequestView(CrmModelView):
    resource = roles.CALLBACK_REQUEST
    datamodel = SQLAInterface(CallbackRequest)
    audit_views = True  # a person's page: name, phone, email, message
    list_people = list_audit.CONTACT_OR_ROW
    list_title = _l("Callback requests")
    show_title = _l("Callback request")
    add_title = _l("Add callback request")
    edit_title = _l("Edit callback request")
    label_columns = LABELS
    # The number to call back is what the list is for.
    list_columns = ["received_at", "name", "organisation_name", "phone", "status",
                    "handled_by"]
    show_columns = ["received_at", "name", "organisation_name", "phone", "email", "message",
                    "consent", "status", "contact", "handled_by", "handled_at"]
    add_columns = ["name", "organisation_name", "phone", "email", "message", "contact"]
    edit_columns = ["status", "contact", "message"]
    # Who called, to pick the right contact: shown above the form, not posted with it.
    edit_template = "crm/model_edit.html"
    edit_details = ["received_at", "name", "organisation_name", "phone", "email", "consent"]
    search_columns = ["name", "organisation_name", "status", "received_at"]
    base_order = ("received_at", "desc")
    validators_columns = {"phone": [v.phone()], "email": [v.email()]}
    formatters_columns = {"phone": show_phone}

    def pre_update(self, item):
        super().pre_update(item)
        if item.handled_by_id is None:
            item.handled_by_id = g.user.id
        # "Handled" is the day the request was closed; reopening it clears the day.
        if item.status in CLOSED_CALLBACK:
            item.handled_at = item.handled_at or utcnow()
        else:
            item.handled_at = None
        # The form's consent of someone already in the register, once the call confirms it.
        settle_consent(self.datamodel.session, item, utcnow())


#: A record's first group of fields is named by what it holds, not by the kind of record,
#: which the page's heading says already.
CONTACT_FIELDSETS = [
    (_l("Basic details"), {"fields": ["first_name", "last_name", "title", "organisation",
                                      "language"]}),
    (_l("Contact details"), {"fields": ["email", "alt_email", "phone", "mobile",
                                        "street_address", "postal_code", "city", "country"]}),
    (_l("Basis of processing"), {"fields": ["legal_basis", "purposes", "marketing_status"]}),
    (_l("Customer relationship"), {"fields": ["relationship_role", "relationship_notes"]}),
    (_l("Notes"), {"fields": ["notes"]}),
]


def _with_objection(fieldsets: list) -> list:
    """Return the contact form's field groups as its page shows them: the day the person
    objected to direct marketing beside the marketing status (set only by an objection,
    crm.services.objection, never on a form)."""
    return [(title, {**spec, "fields": [*spec["fields"], "objected_at"]
                     if "marketing_status" in spec["fields"] else spec["fields"]})
            for title, spec in fieldsets]


GIVEN_AGAIN_FIELD = BooleanField(
    _l("The person gave us these details again themselves"), default=False,
    description=_l("Tick only if the person has given us again, themselves, the address or "
                   "number on the suppression list. Your confirmation is kept in the audit "
                   "trail."))


def _hide_given_again(form, exclude_cols) -> list[str]:
    """Leave out the box confirming a suppressed address given again, unless a refusal
    asks for it or it was ticked."""
    exclude_cols = list(exclude_cols or [])
    box = form[checks.GIVEN_AGAIN] if checks.GIVEN_AGAIN in form else None
    if box is not None and not box.data and not getattr(form, "suppression_refused", False):
        exclude_cols.append(checks.GIVEN_AGAIN)
    return exclude_cols


#: The contact's addresses and numbers checked against the suppression list, as what.
SUPPRESSED_AS = {"email": "email", "alt_email": "email", "phone": "phone", "mobile": "phone"}


#: The add form's fields for a new contact's consent, when consent is the basis chosen:
#: field -> (the Consent column whose ConsentView field it copies, label here).
CONSENT_FIELDS = {
    "consent_purpose": ("purpose", _l("Consent covers")),
    "consent_given_how": ("given_how", _l("Consent given how")),
    "consent_text_version": ("text_version", _l("Consent text version")),
    "consent_given_at": ("given_at", _l("Consent given")),
    "consent_evidence": ("evidence", _l("Evidence of consent")),
}
#: Checks of the contact form's consent fields beyond ConsentView's own.
CONSENT_FIELD_CHECKS = {"consent_given_at": [checks.consent_not_lapsed]}
#: What the contact form's consent fields tell the browser beyond ConsentView's fields:
#: the calendar of a consent's giving ends today, as its check does (checks.given_by_now).
CONSENT_FIELD_RENDER = {"consent_given_at": {"max": register_today}}


def _for_consent_basis(unbound: UnboundField, label, extra=(), render=None) -> UnboundField:
    """Return a copy of ConsentView's field `unbound` labelled `label`, checked as there
    (and by `extra`) only when consent is the basis chosen.

    The browser is not told it is required: with another basis it is left empty, and
    without JavaScript it is shown on every basis (crm/contact_add.html hides it).
    """
    args, kwargs = list(unbound.args), dict(unbound.kwargs)
    chain = list((args[1] if len(args) > 1 else kwargs.get("validators")) or ())
    chain = [checks.only_for_consent_basis, *chain, *extra]
    if len(args) > 1:
        args[1] = chain
    else:
        kwargs["validators"] = chain
    if args:
        args[0] = label
    else:
        kwargs["label"] = label
    kwargs["render_kw"] = {**(kwargs.get("render_kw") or {}), **(render or {}),
                           "required": False}
    return UnboundField(unbound.field_class, *args, name=unbound.name, **kwargs)


class FilterRelationHasNone(fab_filters.BaseFilter):
    """Rows with no row at all in a many-to-many relation (contacts with no purposes).

    NOT EXISTS on the link table, whose key starts with the row's id: one index probe
    per row, with no join of the related table. The filter's value is not read.
    """

    name = _l("Has none")
    arg_name = "rel_m_m_none"

    def apply(self, query, value):
        relation = sa.inspect(self.model).relationships[self.column_name]
        linked = sa.exists().where(*[remote == local
                                     for local, remote in relation.synchronize_pairs])
        return query.filter(~linked)


class FilterOnList(fab_filters.BaseFilter):
    """Contacts on a purchased list: those with a provenance row of it, new or merged
    (a merged person's source is another). The value is the list's id.

    EXISTS on provenance by (contact_id, source_id), its unique key: one index probe per
    contact.
    """

    name = _l("Is on")
    arg_name = "on_list"

    def apply(self, query, value):
        try:
            source_id = int(getattr(value, "id", value))
        except (TypeError, ValueError):
            return query
        return query.filter(sa.exists().where(Provenance.contact_id == Contact.id,
                                              Provenance.source_id == source_id))


class FilterNoValidConsent(fab_filters.BaseFilter):
    """Contacts with no valid consent (to anything) on record: none given, or each
    withdrawn or lapsed (crm.services.consents). With the legal basis "Consent", those
    kept without a basis, whom the privacy team's home page counts.

    NOT EXISTS on the consents' contact_id index: one probe per contact. The filter's
    value is not read.
    """

    name = _l("None valid")
    arg_name = "no_valid_consent"

    def apply(self, query, value):
        since = consent_valid_since(current_app.config["CRM_CONSENT_VALID_DAYS"])
        return query.filter(~has_valid_consent(since))


class FilterObjected(fab_filters.BaseFilter):
    """Contacts who objected to direct marketing (crm.services.objection), whatever day.
    The filter's value is not read."""

    name = _l("Yes")
    arg_name = "objected"

    def apply(self, query, value):
        return query.filter(Contact.objected_at.is_not(None))


def purchased_lists() -> list[Source]:
    """The purchased lists, the newest first: the choices of the contacts' list filter."""
    return list(db.session.scalars(select(Source).where(
        Source.kind == SourceKind.purchased_list).order_by(Source.created_at.desc(),
                                                           Source.id.desc())))


class ContactFilterConverter(CrmFilterConverter):
    """The CRM's filters, "has none" on a contact's purposes (its only many-to-many),
    "is on" a purchased list on its provenance and "none valid" on its consents."""

    conversion_table = (
        ("is_relation_many_to_many", [FilterRelationHasNone]),
        ("is_relation_one_to_many", [FilterOnList]),
        *CrmFilterConverter.conversion_table,
    )

    def convert(self, col_name):
        if col_name == "consents":
            return [FilterNoValidConsent(col_name, self.datamodel)]
        if col_name == "objected_at":
            return [FilterObjected(col_name, self.datamodel)]
        return super().convert(col_name)


class ContactInterface(CrmSQLAInterface):
    filter_converter_class = ContactFilterConverter


#: The filter box's value for purposes, which "has none" does not read: an empty
#: hidden one, so the filter is sent as chosen (FAB's select of every purpose sends
#: nothing when none is picked, and the filter would be dropped).
PURPOSE_FILTER_FIELD = HiddenField(_l("Purposes"))


#: The purposes (codes of crm.services.reference.PURPOSES) a new contact starts with,
#: by the role of who adds it: Sales keep customer relationships, Support supports the
#: customers' users, Marketing looks for new customers (as a purchased list's contacts).
ROLE_PURPOSES = {
    "Sales": ("customer_relationship",),
    "Support": ("customer_support",),
    "Marketing": ("new_business",),
}


class AnonymisedContact(NotFound):
    """The address of a contact since anonymised, which has no page (ContactView's base
    filter): answered by a page saying so instead of "Not found" (crm.views.errors)."""

    title = _l("Anonymised contact")
    text = _l("This contact has been anonymised: the person's name and contact details "
              "are no longer in the register.")


class ContactView(ContactSearchMixin, CrmModelView):
    resource = roles.CONTACT
    datamodel = ContactInterface(Contact)
    audit_views = True
    list_people = list_audit.ROW
    list_title = _l("Contacts")
    show_title = _l("Contact")
    add_title = _l("Add contact")
    edit_title = _l("Edit contact")
    label_columns = LABELS
    field_groups = {
        roles.CUSTOMER_RELATIONSHIP: ["relationship_role", "relationship_notes"],
        roles.MARKETING_CONSENT: ["marketing_status", "objected_at"],
        roles.RETENTION_POLICY: ["legal_hold"],
        # Where the person came from (a purchased list by its name): for whoever reads
        # the provenance tab, not for Communications.
        roles.PROVENANCE: ["source"],
    }
    list_columns = ["first_name", "last_name", "organisation", "email", "phone",
                    "marketing_status", "last_activity_at"]
    show_fieldsets = _with_objection(CONTACT_FIELDSETS) + [
        (_l("Register"), {"fields": ["source", "legal_hold", "last_activity_at", "created_at",
                                     "updated_at"]}),
    ]
    # The box confirming a suppressed address given again follows the addresses; it is
    # shown only beside such a refusal (`_hide_given_again`).
    add_columns = [f for _, spec in CONTACT_FIELDSETS for f in spec["fields"]]
    add_columns.insert(add_columns.index("mobile") + 1, checks.GIVEN_AGAIN)
    # The reason goes into the contact's change history (crm.services.rectification).
    edit_columns = add_columns + ["legal_hold", "change_reason"]
    # A new contact's consent follows the basis, for whoever may record consents
    # (`writable_columns`); an existing contact's consents are on its Consents tab.
    add_columns[add_columns.index("legal_basis") + 1:
                add_columns.index("legal_basis") + 1] = list(CONSENT_FIELDS)
    add_template = "crm/contact_add.html"
    # The consent's fields stand in for ConsentView's until a user who may add consents
    # first opens the form (`_add`): FAB builds a form of every column at start-up.
    add_form_extra_fields = {checks.GIVEN_AGAIN: GIVEN_AGAIN_FIELD,
                             **{name: StringField(label)
                                for name, (_column, label) in CONSENT_FIELDS.items()}}
    edit_form_extra_fields = {checks.GIVEN_AGAIN: GIVEN_AGAIN_FIELD, "change_reason": StringField(
        _l("Reason for the change"), validators=[Optional(), Length(max=500), v.NoSensitiveData()],
        widget=BS3TextFieldWidget(),  # full width, like the fields above it
        description=_l("Kept in the contact's change history, e.g. \"corrected at the "
                       "person's request\"."))}
    order_columns = ["first_name", "last_name", "email", "last_activity_at"]
    # Receivables find the billing contacts by their role in the customer relationship.
    # Contacts kept for no purpose (added before purposes were required) are found by
    # the purposes' "has none" filter (`FilterRelationHasNone`).
    # Marketing lists a purchased list's people (to send their Art. 14 notices) by the
    # list on their provenance (`FilterOnList`), for whoever reads the lists.
    # The privacy team lists those on consent with none valid left (its home page's
    # link) by the consents' "none valid" filter (`FilterNoValidConsent`).
    search_columns = ["first_name", "last_name", "email", "phone", "marketing_status",
                      "legal_basis", "purposes", "language", "relationship_role",
                      "provenance", "consents", "objected_at"]
    # Who objected to direct marketing (`FilterObjected`), for whoever reads marketing status.
    search_form_extra_fields = {"purposes": PURPOSE_FILTER_FIELD,
                                "consents": HiddenField(_l("Consents")),
                                "objected_at": HiddenField(LABELS["objected_at"]),
                                "provenance": QuerySelectField(
        _l("Purchased list"), query_func=purchased_lists, get_pk_func=lambda s: s.id,
        allow_blank=True)}
    # An organisation's Contacts tab: who is who there, its name being the page's own.
    related_list_columns = ["first_name", "last_name", "relationship_role", "email", "phone",
                            "marketing_status", "last_activity_at"]
    base_order = ("last_name", "asc")
    base_filters = [["anonymised_at", FilterIsNull, None]]
    validators_columns = {
        "email": [v.email(), checks.email_of_no_other_contact,
                  checks.not_suppressed(SUPPRESSED_AS["email"])],
        "alt_email": [v.email(), checks.email_of_no_other_contact,
                      checks.not_suppressed(SUPPRESSED_AS["alt_email"])],
        "phone": [v.phone(), checks.not_suppressed(SUPPRESSED_AS["phone"])],
        "mobile": [v.phone(), checks.not_suppressed(SUPPRESSED_AS["mobile"])],
        "postal_code": [v.postal_code()],
        "marketing_status": [checks.no_subscription_after_objection,
                             checks.consent_to_subscribe],
        "purposes": [checks.at_least_one_purpose],
        "legal_basis": [checks.consent_on_record],
    }
    formatters_columns = {"phone": show_phone, "mobile": show_phone, "country": country_name,
                          "objected_at": _show_date}
    related_views = [IdentifierView, ConsentView, ProvenanceView, ActivityView,
                     ContactChangeView]
    title_names_record = True
    record_name_columns = ("first_name", "last_name")
    description_columns = {"legal_hold": _l(
        "A legal hold stops this contact's retention clock: the retention job leaves them "
        "as they are until the hold is lifted.")}

    def readable_columns(self, column: str) -> bool:
        if column == "provenance":  # the filter by purchased list names the lists
            return can(roles.READ, roles.SOURCE)
        if column == "consents":  # the filter by valid consent tells of the consents
            return can(roles.READ, roles.CONSENT)
        return super().readable_columns(column)

    # Whoever reads consents is warned on the page of a person on consent with no valid
    # consent left, kept without a basis until the privacy team decides.
    show_template = "crm/contact_show.html"

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs \
                and can(roles.READ, roles.CONSENT):
            since = consent_valid_since(current_app.config["CRM_CONSENT_VALID_DAYS"])
            kwargs["without_basis"] = self.datamodel.session.scalar(
                select(sa.literal(True)).select_from(Contact).where(
                    Contact.id == int(kwargs["pk"]), on_consent_without_one(since)))
        if template == self.show_template and "pk" in kwargs \
                and can(roles.READ, roles.AUDIT_EVENT):
            # The privacy team and the DPO: who saw or changed the person and their records.
            kwargs["audit_trail_url"] = url_for("AuditEventView.list",
                                                _flt_0_contact=kwargs["pk"])
        return super().render_template(template, **kwargs)

    def _show(self, pk):
        self._refuse_anonymised(pk)
        return super()._show(pk)

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        fieldsets = show_fieldsets or self._visible_fieldsets(self.show_fieldsets)
        if item.objected_at is None:  # the day of an objection: for whoever objected
            fieldsets = [(title, {**spec, "fields": [f for f in spec["fields"]
                                                     if f != "objected_at"]})
                         for title, spec in fieldsets]
        return super()._get_show_widget(pk, item, widgets=widgets, actions=actions,
                                        show_fieldsets=fieldsets)

    def _edit(self, pk):
        self._refuse_anonymised(pk)
        return super()._edit(pk)

    def _refuse_anonymised(self, pk) -> None:
        """Raise `AnonymisedContact` if `pk` is an anonymised contact's."""
        try:
            contact_id = int(pk)
        except (TypeError, ValueError):
            return  # no contact's: FAB's own "Not found"
        if self.datamodel.session.scalar(select(Contact.anonymised_at).where(
                Contact.id == contact_id)) is not None:
            raise AnonymisedContact()

    def writable_columns(self, column: str) -> bool:
        if column in CONSENT_FIELDS:  # checked as the Consents tab checks adding one
            return can(roles.ADD, roles.CONSENT) and can(roles.ADD, roles.CONTACT)
        return super().writable_columns(column)

    def _consent_view(self) -> ConsentView:
        return next(view for view in current_app.appbuilder.baseviews
                    if isinstance(view, ConsentView))

    _consent_fields_copied = False

    def _add(self):
        if can(roles.ADD, roles.CONSENT) and not self._consent_fields_copied:
            # ConsentView's own fields, built for a user who may add consents, so that a
            # consent is checked here as on its own screen. Once: they are the same for
            # all, and no form with them is built before (they are no one else's).
            consent_form = self._consent_view().add_form
            self.add_form_extra_fields.update({
                name: _for_consent_basis(getattr(consent_form, column), label,
                                         CONSENT_FIELD_CHECKS.get(name, ()),
                                         CONSENT_FIELD_RENDER.get(name))
                for name, (column, label) in CONSENT_FIELDS.items()})
            self._consent_fields_copied = True
        return super()._add()

    def pre_add(self, item):
        item.source = own_activity_source(self.datamodel.session)
        self._lift_suppression(item)
        consent = g.pop("_crm_new_consent", None)
        if item.legal_basis == LegalBasis.consent:
            # The form's checks refused this already (checks.consent_on_record); a post
            # that got past them saves nothing.
            if consent is None or not can(roles.ADD, roles.CONSENT):
                raise ValueError(checks.who_records_consents())
            item.consents.append(consent)  # saved with the contact, in one transaction
            keep_for_consented_purpose(item, consent.purpose)
            g._crm_consent_added = consent

    def _preselect_purposes(self, form) -> None:
        """Start a new contact with the purposes the user's role usually keeps people for."""
        codes = {code for role in g.user.roles for code in ROLE_PURPOSES.get(role.name, ())}
        if codes:
            form.purposes.data = list(self.datamodel.session.scalars(
                select(Purpose).where(Purpose.code.in_(codes)).order_by(Purpose.id)))

    def process_form(self, form, is_created):
        if not is_created and hasattr(form, "change_reason"):
            set_reason(form.change_reason.data)
            del form.change_reason  # not a column: it goes with the change history
        if checks.GIVEN_AGAIN in form:
            # Not a column: the confirmation goes into the audit trail once saved.
            g._crm_given_again = getattr(form, "given_again_fields", [])
            del form[checks.GIVEN_AGAIN]
        if is_created and "consent_purpose" in form:
            # Not the contact's columns: a consent record, if consent is the basis.
            if form["legal_basis"].data == LegalBasis.consent:
                consent = Consent()
                for name, (column, _label) in CONSENT_FIELDS.items():
                    form[name].populate_obj(consent, column)
                g._crm_new_consent = consent
            for name in CONSENT_FIELDS:
                del form[name]
        super().process_form(form, is_created)

    def post_add(self, item):
        # As CrmModelView's, naming the fields saved: the confirmation box and the
        # consent's fields are none of the contact's.
        record_event("create", item, fields=[c for c in self.add_columns
                                             if c != checks.GIVEN_AGAIN
                                             and c not in CONSENT_FIELDS])
        consent = g.pop("_crm_consent_added", None)
        if consent is not None:  # as ConsentView records a consent added there
            record_event("create", consent, fields=list(self._consent_view().add_columns))
        self._record_given_again(item)
        self._remember_added(item)

    def post_update(self, item):
        record_event("update", item, fields=[c for c in self.updated_fields()
                                             if c != checks.GIVEN_AGAIN])
        self._record_given_again(item)

    def pre_update(self, item):
        super().pre_update(item)
        self._lift_suppression(item)

    def _lift_suppression(self, item) -> None:
        """Take the addresses and numbers the person gave again themselves (confirmed on
        the form) off the suppression list, in the contact's own transaction: the list
        kept a purchased list from bringing them back, and the audience sync from
        reaching them; now they are the person's own again."""
        for name in g.get("_crm_given_again", ()):
            value = getattr(item, name, None)
            if value:
                lift(self.datamodel.session, SUPPRESSED_AS[name], value)

    @staticmethod
    def _record_given_again(item) -> None:
        """Record who confirmed that the person gave a suppressed address or number
        again, for which fields: never the values."""
        fields = g.pop("_crm_given_again", None)
        if fields:
            record_event("confirm", item, fields=fields, detail="suppressed contact details "
                         "given again by the person")

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET" and "purposes" in form:
            self._preselect_purposes(form)
        if request.method == "GET" and "consent_purpose" in form:
            form.consent_purpose.data = usual_consent_purpose(self.datamodel.session)
        return super()._get_add_widget(form, exclude_cols=_hide_given_again(form, exclude_cols),
                                       widgets=widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        return super()._get_edit_widget(form, exclude_cols=_hide_given_again(form, exclude_cols),
                                        widgets=widgets)


ORGANISATION_FIELDSETS = [
    (_l("Basic details"), {"fields": ["name", "business_id", "industry", "website",
                                     "visiting_street", "visiting_postal_code",
                                     "visiting_city"]}),
    (_l("Customer relationship"), {"fields": ["customer_status", "relationship_start",
                                              "relationship_end", "relationship_notes"]}),
    (_l("Invoicing"), {"fields": ["invoicing_street", "invoicing_postal_code", "invoicing_city",
                                  "e_invoice_address", "e_invoice_operator", "billing_email",
                                  "payment_terms_days"]}),
]


class OrganisationInterface(CrmSQLAInterface):
    def get_max_length(self, col_name: str) -> int:
        # The forms' length check and maxlength: a business ID is stored in nine
        # characters (0737546-2), but typed or pasted as "FI 0737546-2", which the
        # browser must not cut short; the length is checked on the stored form.
        if col_name == "business_id":
            return v.BUSINESS_ID_TYPED_LENGTH
        return super().get_max_length(col_name)


class OrganisationView(OrganisationSearchMixin, CrmModelView):
    resource = roles.ORGANISATION
    datamodel = OrganisationInterface(Organisation)
    list_title = _l("Organisations")
    show_title = _l("Organisation")
    add_title = _l("Add organisation")
    edit_title = _l("Edit organisation")
    label_columns = LABELS
    field_groups = {
        roles.ORGANISATION_PROFILE: ORGANISATION_FIELDSETS[0][1]["fields"],
        roles.CUSTOMER_RELATIONSHIP: ORGANISATION_FIELDSETS[1][1]["fields"],
        roles.INVOICING: ORGANISATION_FIELDSETS[2][1]["fields"],
        roles.RETENTION_POLICY: ["legal_hold"],
    }
    list_columns = ["name", "business_id", "visiting_city", "customer_status"]
    show_fieldsets = ORGANISATION_FIELDSETS + [
        (_l("Register"), {"fields": ["legal_hold", "created_at", "updated_at"]}),
    ]
    add_columns = [f for _, spec in ORGANISATION_FIELDSETS for f in spec["fields"]]
    edit_columns = add_columns + ["legal_hold"]
    order_columns = ["name", "business_id", "visiting_city", "customer_status"]
    search_columns = ["name", "business_id", "industry", "visiting_city", "customer_status"]
    base_order = ("name", "asc")
    validators_columns = {
        "business_id": [v.business_id()],
        "visiting_postal_code": [v.postal_code()],
        "invoicing_postal_code": [v.postal_code()],
        "billing_email": [v.email()],
        "payment_terms_days": [Optional(), NumberRange(min=0, max=365)],
    }
    related_views = [ContactView, ActivityView]
    title_names_record = True
    record_name_columns = ("name",)
    description_columns = {"legal_hold": _l(
        "A legal hold stops the retention clock of the organisation's contacts: the "
        "retention job leaves them as they are until the hold is lifted.")}
