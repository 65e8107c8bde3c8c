"""The CRM's model view: permissions by resource, field groups enforced on the server."""

from __future__ import annotations

import math

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_appbuilder import ModelView
from flask_appbuilder.const import FLAMSG_ERR_SEC_ACCESS_DENIED, PERMISSION_PREFIX
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.forms import GeneralModelConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import SearchWidget, ShowWidget
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import RelationshipDirection
from sqlalchemy.orm.exc import StaleDataError
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.validators import InputRequired, StopValidation, ValidationError
from wtforms.validators import Optional as OptionalValidator

from crm.forms import with_crm_messages
from crm.models.base import AwareDateTime, LabelledEnum, utcnow
from crm.security import roles
from crm.services.anonymised import ANONYMISED, about_anonymised, anonymised_ids
from crm.services.audit import record_event
from crm.services.audit_labels import object_type_label
from crm.services.requests import today as register_today
from crm.services.validation import NoSensitiveData
from crm.views import keyset
from crm.views.dates import LocalDateField, LocalDateTimeField
from crm.views.interface import CrmListWidget, CrmSQLAInterface, count_cap
from crm.views.list_audit import AuditedLists
from crm.views.related import RelatedRecordField, linked, related_record_fields
from crm.views.save_refusals import RefusedSaves

#: FAB view methods -> the CRM action they need (prefixed with "can_" by FAB).
METHOD_PERMISSIONS = {
    "list": "read",
    "show": "read",
    # FAB's file download serves any file of UPLOAD_FOLDER; the CRM keeps no files.
    "download": "download",
    "add": "add",
    "edit": "edit",
    "delete": "delete",
    "action": "read",
    "action_post": "read",
    # A link field's type-ahead list (crm.views.search, `lookup`).
    "lookup": "read",
}


def can(permission: str, resource: str) -> bool:
    """Return whether the signed-in user holds `permission` on `resource`."""
    return current_app.appbuilder.sm.can(permission, resource)


class _PerRequestColumns:
    """A column list that is cut per request to the fields the user may read or edit.

    FAB reads `self.list_columns` & co. in many places; making them descriptors
    filters every one of those places, so a hidden field can neither be shown,
    sorted, searched nor submitted.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __set_name__(self, owner, name):
        self.name = name
        self.store = f"_all_{name}"

    def __get__(self, view, owner=None):
        if view is None:
            return self
        columns = view.__dict__.get(self.store, getattr(owner, self.store, None))
        if columns is None or not has_request_context() or not g.get("user"):
            return columns
        if self.name == "list_columns" and g.get("_crm_tab_view") is view:
            columns = view.related_list_columns  # a tab on another record's page
        allowed = view.readable_columns if self.mode == "read" else view.writable_columns
        return [c for c in columns if allowed(c)]

    def __set__(self, view, value):
        view.__dict__[self.store] = value


class _PerRequestForm:
    """A WTForms class built for the fields the signed-in user may write, with WTForms'
    messages in the CRM's words (`crm.forms`)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __set_name__(self, owner, name):
        self.store = f"_full_{name}"

    def __get__(self, view, owner=None):
        if view is None:
            return self
        full = view.__dict__.get(self.store)
        if full is None or not has_request_context() or not g.get("user"):
            return full
        columns = tuple(view.add_columns if self.kind == "add" else view.edit_columns)
        if self.kind == "edit" and view._versioned():
            columns += ("version",)
        cache = view.__dict__.setdefault("_form_cache", {})
        key = (self.kind, columns)
        if key not in cache:
            add = self.kind == "add"
            extra = view.add_form_extra_fields if add else view.edit_form_extra_fields
            query_rel = view.add_form_query_rel_fields if add else view.edit_form_query_rel_fields
            cache[key] = with_crm_messages(GeneralModelConverter(view.datamodel).create_form(
                view.label_columns,
                list(columns),
                view.description_columns,
                _copy_validators(view.validators_columns),
                _with_validators({k: v for k, v in extra.items()
                                  if k in columns or k == "version"}, view.validators_columns),
                query_rel,
            ))
        return cache[key]

    def __set__(self, view, value):
        view.__dict__[self.store] = value


def enum_field(enum_cls: type[LabelledEnum], label, required: bool = True,
               default: LabelledEnum | None = None, description="") -> SelectField:
    """Return a select of `enum_cls` members showing their translated labels."""

    def choices():
        # Built per form: the labels follow the language of the request.
        options = [(m.value, m.label) for m in enum_cls]
        return options if required else [("", "—"), *options]

    return SelectField(
        label,
        choices=choices,
        coerce=lambda v: enum_cls(v) if v not in (None, "") else None,
        default=default,
        validators=[] if required else [OptionalValidator()],
        description=description,
        render_kw={"class": "form-control"},  # styled like the text fields beside it
    )


def _show_datetime(value) -> str:
    return format_datetime(value, "short") if value else ""


def _show_date(value) -> str:
    return format_date(value, "short") if value else ""


def _show_bool(value) -> str:
    return str(_l("Yes")) if value else str(_l("No"))


def _show_value(value):
    if value is None:
        return ""
    if isinstance(value, list | tuple | set):
        # A to-many relation (a contact's purposes): the rows' names, not the list's repr.
        return ", ".join(str(item) for item in value)
    return value


def _copy_validators(validators: dict[str, list]) -> dict[str, list]:
    return {column: list(chain) for column, chain in validators.items()}


def _with_validators(fields: dict, validators: dict[str, list]) -> dict:
    """Give the view's own form fields (enum selects, ...) their `validators_columns` too.

    FAB applies `validators_columns` only to the fields it builds from the model.
    """
    fields = dict(fields)
    for name, field in fields.items():
        if not validators.get(name):
            continue
        args, kwargs = list(field.args), dict(field.kwargs)
        if len(args) > 1:  # Field(label, validators, ...)
            args[1] = [*(args[1] or ()), *validators[name]]
        else:
            kwargs["validators"] = [*(kwargs.get("validators") or ()), *validators[name]]
        fields[name] = field.field_class(*args, **kwargs)
    return fields


def _column_default(column: sa.Column):
    """Return a column's Python-side default value, if it is a plain value."""
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


class CrmShowWidget(ShowWidget):
    """FAB's record page, with a link to the edit form when the view passes one."""

    template = "crm/widgets/show.html"


class CrmSearchWidget(SearchWidget):
    """FAB's filter box, whose field templates are rendered once per screen and language.

    Its button says "Apply filters" (crm/widgets/search.html), not FAB's "Search".

    FAB renders an empty field of every searchable column on every list page, to be
    copied when a filter is added; they are the same each time, unless their choices
    come from the database (a related record's select), which is rendered anew.
    """

    template = "crm/widgets/search.html"
    _parts: dict[tuple, tuple[dict, dict, dict]] = {}

    def __call__(self, **kwargs):
        form, columns = self.template_args["form"], tuple(self.template_args["include_cols"])
        key = (self.template_args.get("route_base"), str(get_locale()), columns)
        parts = self._parts.get(key)
        if parts is None:
            dict_filters = self.filters.get_search_filters()
            parts = ({c: str(form[c].label.text) for c in columns},
                     {c: form[c]() for c in columns},
                     {c: [str(f.name) for f in dict_filters[c]] for c in columns})
            if not any(isinstance(form[c], QuerySelectField) for c in columns):
                self._parts[key] = parts
        kwargs["label_columns"], kwargs["form_fields"], kwargs["search_filters"] = parts
        kwargs["active_filters"] = self.filters.get_filters_values_tojson()
        # FAB's SearchWidget.__call__ would render the fields again: skip to its base.
        return super(SearchWidget, self).__call__(**kwargs)


class _PermittedRelatedViews:
    """Related views (tabs on a record's page) shown only when their resource is readable."""

    def __get__(self, view, owner=None):
        if view is None:
            return self
        views = view.__dict__.setdefault("_all_related_views", [])
        if not has_request_context() or not g.get("user"):
            return views
        return [v for v in views if can(roles.READ, getattr(v, "resource", ""))]

    def __set__(self, view, value):
        view.__dict__["_all_related_views"] = value


class _SavedMessage:
    """FAB's message after a save ("Added Row"), saying what was saved instead
    (`CrmModelView.saved_message`)."""

    def __init__(self, action: str) -> None:
        self.action = action

    def __get__(self, view, owner=None):
        if view is None:
            return self
        return view.saved_message(self.action)


def _really_changed(history) -> bool:
    """Return whether an attribute's history is a change a user made: an empty text box
    posted for a value that was not there (None to "") is none."""
    if not history.has_changes():
        return False
    old = [None if v == "" else v for v in history.deleted] or [None]
    new = [None if v == "" else v for v in history.added] or [None]
    return old != new


class KnownActions:
    """A model view mixin: an action the screen does not have, named in a post to FAB's
    `action_post` (a list's bulk action) or `action` (a record's), is "not found" (404)
    to a reader of the screen and "no access" (403) to anyone else; FAB looked it up
    and failed with an error page (a 500). Who is not signed in is sent to sign in, as
    FAB's `has_access` does."""

    def get_action_permission_name(self, name: str) -> str:
        if name in self.actions:
            return super().get_action_permission_name(name)
        if not current_user.is_authenticated:
            flash(str(FLAMSG_ERR_SEC_ACCESS_DENIED), "danger")
            abort(redirect(url_for(f"{self.appbuilder.sm.auth_view.__class__.__name__}.login")))
        # The screen's list is what its readers open.
        permission = PERMISSION_PREFIX + (self.method_permission_name or {}).get("list", "list")
        readable = (permission in self.base_permissions
                    and self.appbuilder.sm.has_access(permission, self.class_permission_name))
        abort(404 if readable else 403)


class CrmModelView(KnownActions, AuditedLists, RefusedSaves, ModelView):
    """A model view whose permissions and field groups come from `crm.security.roles`.

    :cvar resource: the resource whose permissions guard the view.
    :cvar field_groups: field-group resource -> columns in that group. Columns in
        no group follow the view's own resource.
    """

    resource: str = ""
    field_groups: dict[str, list[str]] = {}
    method_permission_name = METHOD_PERMISSIONS
    base_permissions = ["can_read", "can_add", "can_edit", "can_delete"]
    #: Every opening of a record's page is in the audit trail as "view" of the record
    #: (DESIGN §9.5): set on every screen whose record page shows a person's data.
    #: Its list pages are recorded by `list_people` (crm.views.list_audit).
    audit_views = False
    #: Date columns whose calendar ends today, for days that cannot be in the future.
    dates_until_today: tuple[str, ...] = ()
    #: Timestamp columns whose calendar ends today, for times that cannot be in the
    #: future (their own check refuses a later hour of today).
    datetimes_until_now: tuple[str, ...] = ()

    list_columns = _PerRequestColumns("read")
    show_columns = _PerRequestColumns("read")
    order_columns = _PerRequestColumns("read")
    search_columns = _PerRequestColumns("read")
    add_columns = _PerRequestColumns("write")
    edit_columns = _PerRequestColumns("write")
    add_form = _PerRequestForm("add")
    edit_form = _PerRequestForm("edit")
    _related_views = _PermittedRelatedViews()
    list_template = "crm/model_list.html"
    # Both show the links set by the page the form was opened from (`_preset_links`).
    add_template = "crm/model_add.html"
    edit_template = "crm/model_edit.html"
    list_widget = CrmListWidget
    show_widget = CrmShowWidget
    search_widget = CrmSearchWidget
    add_row_message = _SavedMessage("add")
    edit_row_message = _SavedMessage("edit")
    delete_row_message = _SavedMessage("delete")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Every screen counts and pages the way that stays fast at a million rows
        # (crm.views.interface), whichever interface its declaration names.
        datamodel = cls.__dict__.get("datamodel")
        if datamodel is not None and type(datamodel) is SQLAInterface:
            cls.datamodel = CrmSQLAInterface(datamodel.obj, datamodel._session)
        # A screen's own `list_columns = [...]` would hide the descriptors above (the
        # class attribute is found first) and with them every field-level rule: keep
        # the list as the full one the descriptor cuts per request.
        for name, value in list(cls.__dict__.items()):
            if isinstance(getattr(CrmModelView, name, None), _PerRequestColumns):
                setattr(cls, f"_all_{name}", value)
                delattr(cls, name)

    def __init__(self, **kwargs):
        self.class_permission_name = self.resource
        self._group_of = {col: grp for grp, cols in self.field_groups.items() for col in cols}
        self._enum_columns()
        self._datetime_columns()
        self._display_formatters()
        self._guard_free_text()
        self._bounded_related_fields()
        super().__init__(**kwargs)

    def is_get_mutation_allowed(self) -> bool:
        # No state change on GET (DESIGN §11): FAB allows a GET delete unless CSRFProtect
        # is installed.
        return request.method != "GET"

    #: The columns of this view's list where it is a tab on another record's page (an
    #: organisation's Contacts); None for the list's own. Cut per request like the list.
    related_list_columns: list[str] | None = None

    #: After a record is added, its page opens (for whoever may read it), unless the
    #: form was opened from a tab of another record's page, which it goes back to.
    show_after_add = True

    #: The record's page is headed by its name, the kind of record beside it in smaller
    #: type ("Esimerkki Oy  Organisaatio"), and the edit page names the record it edits
    #: ("Muokkaa organisaatiota: Esimerkki Oy"): the browser's tabs and history tell the
    #: pages apart, and a role that may change one field only (a legal hold) sees whose
    #: record the form is. The name is `record_name`'s: none to whoever may not read it.
    title_names_record = False

    #: Columns shown read-only above the edit form (crm/model_edit.html), so that the
    #: form says whose record it is; never fields of the form, so no post changes them.
    edit_details: list[str] = []

    #: The kind of record in the message after a save ("Organisaatio lisätty"); None:
    #: as the audit trail names it (crm.services.audit_labels).
    record_label = None

    #: The columns a record's name (its `str`) is made of: the message after a save
    #: names the record ("Organisaatio lisätty: Esimerkki Oy") to whoever may read them
    #: all. None: the message names the kind of record only (it has no name, or one
    #: that is personal data the screens do not show as a name).
    record_name_columns: tuple[str, ...] = ()

    def saved_message(self, action: str) -> str:
        """Return the message after a record was added, changed or deleted (`action`:
        "add", "edit" or "delete"), in the reader's language."""
        kind = str(self.record_label or object_type_label(self.datamodel.obj.__name__))
        name = self.record_name(g.get("_crm_saved_record"))
        if action == "add":
            return (_("%(kind)s added: %(name)s", kind=kind, name=name) if name
                    else _("%(kind)s added", kind=kind))
        if action == "edit":
            return (_("%(kind)s saved: %(name)s", kind=kind, name=name) if name
                    else _("%(kind)s saved", kind=kind))
        return (_("%(kind)s deleted: %(name)s", kind=kind, name=name) if name
                else _("%(kind)s deleted", kind=kind))

    def record_name(self, record) -> str:
        """Return `record`'s name for the signed-in user, or "" where none is shown."""
        columns = self.record_name_columns
        if (not columns or not isinstance(record, self.datamodel.obj)
                or not all(self.readable_columns(c) for c in columns)):
            return ""
        return str(record)

    def _edit_details(self, item) -> list[tuple[str, object]]:
        """Return the label and shown value of each of `edit_details` the user may read."""
        readable = set(self.show_columns or [])
        labels = self.label_columns or {}
        return [(labels.get(name, name), self.formatters_columns.get(name, _show_value)(
                    getattr(item, name)))
                for name in self.edit_details if name in readable]

    def render_template(self, template, **kwargs):
        if "related_views" in kwargs:
            kwargs["related_views"] = self._related_views
        preset_links = g.pop("_crm_preset_links", None)
        if preset_links and template in (self.add_template, self.edit_template):
            kwargs["preset_links"] = preset_links
        pk = (request.view_args or {}).get("pk")
        if self.edit_details and template == self.edit_template and pk:
            item = self.datamodel.get(pk, self._base_filters)
            if item is not None:
                kwargs["edit_details"] = self._edit_details(item)
        if self.title_names_record and template in (self.show_template,
                                                    self.edit_template) and pk:
            item = self.datamodel.get(pk, self._base_filters)
            if item is not None:
                kwargs["title"] = self.record_title(item, template == self.edit_template)
        return super().render_template(template, **kwargs)

    def record_title(self, item, editing: bool) -> str:
        """Return the h1 of `item`'s page (`editing`: of its edit page), naming the record
        (`title_names_record`); the view's own title where the user is shown no name."""
        name = self.record_name(item)
        if not name:
            return self.edit_title if editing else self.show_title
        if editing:
            return f"{self.edit_title}: {name}"
        # The kind is the h1's <small>, which the page's <title> leaves out (page_title).
        return Markup('{} <small class="crm-record-kind">{}</small>').format(
            name, self.show_title)

    # -- links set by the page a form was opened from -----------------------

    def _fill_form_exclude_cols(self, exclude_cols, form):
        # A tab on a record's page opens its add form with that record in the address
        # (`_flt_0_contact=<id>`) and FAB leaves the link's field off the form. A link
        # to a contact or an organisation is checked as if typed into its field
        # (crm.views.related): FAB would link whatever record the address names.
        others = []
        for name in exclude_cols:
            field = form[name] if name in form else None
            if isinstance(field, RelatedRecordField):
                field.preset(self._filters.get_filter_value(name))
            else:
                others.append(name)
        super()._fill_form_exclude_cols(others, form)

    def _preset_links(self, form, exclude_cols) -> list[tuple[str, str, list[str]]]:
        """Return the label, record and refusals of each link to a contact or an
        organisation that the page the form was opened from sets, for the form to say
        whom the record is for (crm/preset_links.html)."""
        links = []
        for name in exclude_cols or ():
            field = form[name] if name in form else None
            if not isinstance(field, RelatedRecordField):
                continue
            errors = list(field.errors or field.process_errors)
            if request.method != "POST":  # a post's links are filled in and checked
                field.preset(self._filters.get_filter_value(name))
                errors = list(field.process_errors) or self._link_refusal(form, field)
            shown = "" if field.data is None else str(field.data)
            links.append((field.label.text, shown, [str(e) for e in errors]))
        return links

    @staticmethod
    def _link_refusal(form, field: RelatedRecordField) -> list:
        """Return why a new record's link would be refused (an anonymised contact), before
        anything is typed: the save is refused by the same check."""
        if (request.view_args or {}).get("pk") is not None:
            return []  # an edit keeps a link made before the contact was anonymised
        try:
            field.pre_validate(form)
        except (StopValidation, ValidationError) as exc:
            return [exc.args[0]] if exc.args and exc.args[0] else []
        return []

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        g._crm_preset_links = self._preset_links(form, exclude_cols)
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        g._crm_preset_links = self._preset_links(form, exclude_cols)
        return super()._get_edit_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def _bounded_related_fields(self) -> None:
        """Never render a select of every contact or organisation (crm.views.related)."""
        labels = self.label_columns or {}
        self.add_form_extra_fields = dict(self.add_form_extra_fields or {})
        self.edit_form_extra_fields = dict(self.edit_form_extra_fields or {})
        for extra in (self.add_form_extra_fields, self.edit_form_extra_fields):
            for name, field in related_record_fields(self.datamodel.obj, labels).items():
                extra.setdefault(name, field)

    def _init_properties(self):
        super()._init_properties()
        # FAB's search form offers a relation as a select of every related row: never
        # for contacts or organisations (a related view's own filter still works).
        large = set(related_record_fields(self.datamodel.obj, {}))
        if large & set(self._all_search_columns or []):
            self.search_columns = [c for c in self._all_search_columns if c not in large]
            self._filters = self.datamodel.get_filters(self.search_columns)

    def _guard_free_text(self) -> None:
        """Put the sensitive-data guard on every free-text column of the model."""
        self.validators_columns = {k: list(v) for k, v in (self.validators_columns or {}).items()}
        for column in self.datamodel.obj.__table__.columns:
            if isinstance(column.type, sa.String) and not hasattr(column.type, "enum_class"):
                self.validators_columns.setdefault(column.key, []).append(
                    NoSensitiveData.for_column(column))

    # -- field-level rules ------------------------------------------------

    def readable_columns(self, column: str) -> bool:
        group = self._group_of.get(column.split(".")[0])
        return group is None or can(roles.READ, group)

    def writable_columns(self, column: str) -> bool:
        group = self._group_of.get(column)
        if group is None:
            return can(roles.EDIT, self.resource) or can(roles.ADD, self.resource)
        return can(roles.EDIT, group)

    def _get_list_widget(self, filters, **kwargs):
        if self.related_list_columns and any(f.is_related_view for f in filters.filters):
            # A tab on another record's page (FAB filters it by that record) shows the
            # tab's own columns.
            g._crm_tab_view = self
            try:
                return self._get_own_list_widget(filters, **kwargs)
            finally:
                g.pop("_crm_tab_view", None)
        return self._get_own_list_widget(filters, **kwargs)

    def _get_own_list_widget(self, filters, **kwargs):
        # A filter on a hidden field would reveal its values by elimination.
        kept = [(f, v) for f, v in zip(filters.filters, filters.values, strict=True)
                if self.readable_columns(f.column_name)]
        filters.filters = [f for f, _ in kept]
        filters.values = [v for _, v in kept]
        # So would sorting by it; FAB sorts by any attribute named in the URL.
        if kwargs.get("order_column") not in (None, "", *self.order_columns):
            kwargs["order_column"] = kwargs["order_direction"] = ""
        # "›" and "‹" continue from the page's last and first rows (crm.views.keyset).
        paging = keyset.start(self.datamodel, self.__class__.__name__, kwargs.get("page") or 0)
        try:
            widgets = super()._get_list_widget(filters=filters, paging=paging, **kwargs)
        finally:
            keyset.stop(self.datamodel)
        self._leave_past_the_end(widgets["list"].template_args, filters, paging)
        self._no_edit_links_of_anonymised(widgets["list"].template_args)
        return widgets

    def _no_edit_links_of_anonymised(self, shown: dict) -> None:
        """Offer no edit link on the rows about an anonymised person: they are read-only
        (crm.services.anonymised)."""
        links = shown.get("row_links")
        if links is not None and shown.get("pks") and can(roles.EDIT, self.resource):
            links.read_only = frozenset(anonymised_ids(self.datamodel.session,
                                                       self.datamodel.obj, shown["pks"]))

    def _leave_past_the_end(self, shown: dict, filters, paging: keyset.Paging) -> None:
        """Send an empty page past the list's end (an old link, a list shortened since) to
        the list's last page, the page's other arguments (order, filters) kept."""
        page = shown.get("page") or 0
        if not page or shown.get("pks") or request.method not in ("GET", "HEAD"):
            return
        count = shown.get("count") or 0
        if count > count_cap():  # "10 000+": where the list ends needs the whole count
            count = self.datamodel.count_all(filters.get_joined_filters(self._base_filters))
        last = max(math.ceil(count / shown["page_size"]) - 1, 0)
        if count:  # an empty list says so itself ("No records found")
            flash(str(_l("That page is past the end of the list: here is its last page.")),
                  "info")
        # A URL of this request's own endpoint, built here (crm.views.keyset).
        abort(redirect(paging.url(last)))

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        fieldsets = show_fieldsets or self._visible_fieldsets(self.show_fieldsets)
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions,
                                           show_fieldsets=fieldsets)
        # The records it names (its contact, organisation, ...) link to their own pages.
        widgets["show"].template_args["formatters_columns"] = self._linked_formatters()
        # The record's page links to its edit form, for whoever may edit the record.
        if "can_edit" in self.base_permissions and can(roles.EDIT, self.resource) \
                and not about_anonymised(item):
            widgets["show"].template_args["edit_url"] = url_for(
                f"{self.__class__.__name__}.edit", pk=pk)
        return widgets

    def _linked_formatters(self) -> dict:
        """Return the record page's displays, a related record's (many-to-one) shown as a
        link to its own page for whoever may open it (crm.views.related.linked)."""
        formatters = dict(self.formatters_columns)
        for relation in sa.inspect(self.datamodel.obj).relationships:
            if relation.direction is RelationshipDirection.MANYTOONE:
                formatters[relation.key] = linked(formatters.get(relation.key, _show_value))
        return formatters

    def _visible_fieldsets(self, fieldsets):
        if not fieldsets:
            return fieldsets
        visible = []
        for title, spec in fieldsets:
            fields = [f for f in spec["fields"] if self.readable_columns(f)]
            if fields:
                visible.append((title, {**spec, "fields": fields}))
        return visible

    # -- enums shown by their labels ----------------------------------------

    def _enum_columns(self) -> None:
        """Give every enum column a translated select and a translated display."""
        self.add_form_extra_fields = dict(self.add_form_extra_fields or {})
        self.edit_form_extra_fields = dict(self.edit_form_extra_fields or {})
        self.formatters_columns = dict(self.formatters_columns or {})
        # FAB's own enum field for the search form looks members up by value and fails
        # where a name differs from its value (ConsentMethod.import_): use ours there too.
        self.search_form_extra_fields = dict(self.search_form_extra_fields or {})
        labels = self.label_columns or {}
        # These fields replace FAB's, which would carry the column's description.
        descriptions = self.description_columns or {}
        for column in self.datamodel.obj.__table__.columns:
            description = descriptions.get(column.key, "")
            if isinstance(column.type, sa.Boolean):
                # FAB marks NOT NULL columns required, which for a checkbox means "ticked".
                label = labels.get(column.key, column.key)
                for extra in (self.add_form_extra_fields, self.edit_form_extra_fields):
                    extra.setdefault(column.key, BooleanField(label, default=False,
                                                              description=description))
                continue
            enum_cls = getattr(column.type, "enum_class", None)
            if enum_cls is None or not issubclass(enum_cls, LabelledEnum):
                continue
            label = labels.get(column.key, column.key)
            for extra in (self.add_form_extra_fields, self.edit_form_extra_fields):
                extra.setdefault(column.key, enum_field(enum_cls, label, not column.nullable,
                                                        _column_default(column), description))
            self.search_form_extra_fields.setdefault(column.key,
                                                     enum_field(enum_cls, label, False))
            self.formatters_columns.setdefault(
                column.key, lambda v, e=enum_cls: e(v).label if v else ""
            )

    def _datetime_columns(self) -> None:
        """Give every timestamp and date column a field that reads back what it shows.

        A date is typed as the page's reader writes it, a time on the register's clock
        (crm.views.dates): FAB's own fields rewrite 20.11.2026 into another day and
        read times in UTC. The filter box gets the same text box and calendar: FAB's
        calls a picker its page does not load.
        """
        labels = self.label_columns or {}
        self.search_form_extra_fields = dict(self.search_form_extra_fields or {})
        for column in self.datamodel.obj.__table__.columns:
            required = not column.nullable
            presence = InputRequired() if required else OptionalValidator()
            label = labels.get(column.key, column.key)
            if isinstance(column.type, sa.Date):
                latest = {"max": register_today} if column.key in self.dates_until_today else None
                field = LocalDateField(label, [presence], render_kw=latest)
            elif isinstance(column.type, AwareDateTime):
                latest = {"max": register_today} if column.key in self.datetimes_until_now \
                    else None
                field = LocalDateTimeField(
                    label, validators=[presence], render_kw=latest,
                    default=utcnow if required and column.default is not None else None)
            else:
                continue
            for extra in (self.add_form_extra_fields, self.edit_form_extra_fields):
                extra.setdefault(column.key, field)
            # A filter on a timestamp is typed as a day or as a day and a time.
            self.search_form_extra_fields.setdefault(column.key, LocalDateField(label))

    def _display_formatters(self) -> None:
        """Show dates in the reader's format and time zone, and nothing for no value."""
        table_columns = {c.key: c for c in self.datamodel.obj.__table__.columns}
        names = set(table_columns) | set(self.list_columns or []) | set(self.show_columns or [])
        for _title, spec in self.show_fieldsets or []:  # a page laid out in field groups
            names.update(spec["fields"])
        for name in names:
            if name in self.formatters_columns:
                continue
            column = table_columns.get(name)
            kind = column.type if column is not None else None
            if isinstance(kind, AwareDateTime):
                self.formatters_columns[name] = _show_datetime
            elif isinstance(kind, sa.Date):
                self.formatters_columns[name] = _show_date
            elif isinstance(kind, sa.Boolean):
                self.formatters_columns[name] = _show_bool
            else:
                self.formatters_columns[name] = _show_value

    # -- optimistic locking and the audit trail ----------------------------

    def _versioned(self) -> bool:
        return "version" in self.datamodel.obj.__table__.columns

    def _init_forms(self):
        if self._versioned():
            self.edit_form_extra_fields["version"] = HiddenField("version")
        # FAB's converter appends its own validators to the lists it is given: give it
        # copies, so building a form twice does not double them.
        configured = self.validators_columns
        self.validators_columns = _copy_validators(configured)
        super()._init_forms()
        self.validators_columns = configured

    def prefill_form(self, form, pk):
        if self._versioned() and hasattr(form, "version"):
            form.version.data = self.datamodel.get(pk).version

    def pre_update(self, item):
        form_version = g.pop("_crm_submitted_version", None)
        if self._versioned() and form_version is not None and str(item.version) != form_version:
            g._crm_stale_pk = self.datamodel.get_pk_value(item)  # for post_edit_redirect
            raise StaleDataError(str(_l(
                "Someone else changed this record while you were editing it. Your changes "
                "were not saved: look at the record as it is now and make them again."
            )))
        g._crm_changed_fields = self.changed_fields(item)
        g._crm_saved_record = item  # for the message after the save (`saved_message`)

    def changed_fields(self, item) -> list[str]:
        """Return the form's fields whose values the user changed on `item` (before the
        save): the audit trail names those, not every field of the form."""
        attrs = sa.inspect(item).attrs
        return [c for c in self.edit_columns
                if c in attrs.keys() and _really_changed(attrs[c].history)]

    def process_form(self, form, is_created):
        if not is_created and hasattr(form, "version"):
            g._crm_submitted_version = form.version.data
            del form.version  # never written to the model: the ORM owns the counter
        super().process_form(form, is_created)

    def post_add(self, item):
        record_event("create", item, fields=list(self.add_columns))
        self._remember_added(item)

    def _remember_added(self, item) -> None:
        """Note the record just saved, for `post_add_redirect` to open its page and for
        the message after the save (`saved_message`)."""
        g._crm_added_pk = self.datamodel.get_pk_value(item)
        g._crm_saved_record = item

    def post_add_redirect(self):
        pk = g.pop("_crm_added_pk", None)
        opened_from_tab = any(arg.startswith("_flt_") for arg in request.args)
        if (pk is None or not self.show_after_add or opened_from_tab
                or "can_read" not in self.base_permissions
                or not can(roles.READ, self.resource)):
            return super().post_add_redirect()
        # A URL of this view's own, built here: nothing from the request goes into it.
        return redirect(url_for(f"{self.__class__.__name__}.show", pk=pk))

    def post_update(self, item):
        record_event("update", item, fields=self.updated_fields())

    def updated_fields(self) -> list[str]:
        """The fields the save changed (`changed_fields`), else every field of the form."""
        changed = g.pop("_crm_changed_fields", None)
        return list(self.edit_columns) if changed is None else changed

    def post_edit_redirect(self):
        pk = g.pop("_crm_stale_pk", None)
        # A save refused as stale goes back to the record's edit form, loaded afresh with
        # the other person's change, not to FAB's back history: with the record open in
        # two tabs, that history is the other tab's and may lead anywhere. The refused
        # values are not kept: saved again, they would overwrite the change unseen.
        if pk is None or self.datamodel.get(pk, self._base_filters) is None:
            return super().post_edit_redirect()  # saved, or the record is gone meanwhile
        # A URL of this view's own, built here: nothing from the request goes into it.
        return redirect(url_for(f"{self.__class__.__name__}.edit", pk=pk))

    def pre_delete(self, item):
        # For the message after the delete (`saved_message`): the record keeps the
        # values it was loaded with.
        g._crm_saved_record = item

    def post_delete(self, item):
        record_event("delete", item)

    def _show(self, pk):
        widgets = super()._show(pk)
        if self.audit_views:
            record_event("view", self.datamodel.get(pk), commit=True)
        return widgets

    def _edit(self, pk):
        self._refuse_anonymised_edit(pk)
        # No flush while the form is copied onto the record: the version check in
        # pre_update must see the version the record had, not one bumped mid-copy.
        try:
            with self.datamodel.session.no_autoflush:
                result = super()._edit(pk)
            if self.datamodel.session.dirty:
                # FAB reports a refused save with a flash and leaves the half-applied
                # form on the record: drop it before anything else commits.
                self.datamodel.session.rollback()
            return result
        except StaleDataError as exc:
            self.datamodel.session.rollback()
            flash(str(exc), "danger")
            g._crm_stale_pk = pk
            return None

    def _refuse_anonymised_edit(self, pk) -> None:
        """Send the edit form of a record about an anonymised person, opened or posted,
        back to the record's page saying why: such records are read-only for everyone
        (crm.services.anonymised). Nothing is saved."""
        item = self.datamodel.get(pk, self._base_filters)
        if item is None or not about_anonymised(item):
            return
        flash(str(ANONYMISED), "danger")
        # A URL of this view's own, built here: nothing from the request goes into it.
        abort(redirect(url_for(f"{self.__class__.__name__}.show",
                               pk=self.datamodel.get_pk_value(item))))
