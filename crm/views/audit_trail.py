"""The audit trail's events as its readers follow them (DESIGN §9.5).

An event names its object by type and id: the screens link the id to the record's page
while the record exists and the reader may read it (a link shows the id, never a name);
a job's run is named by its job and by who started it, as the jobs screen names them.

A list shown (crm.views.list_audit) is read by the list's title and how many people it
showed ("Katsoi listaa Yhteyshenkilöt: 25 henkilöä"), and its event's page links the
people. A refused request, stored as its method and path, is read by the screen the
app's routes and menu name it by and what was tried ("Rekisteri › Yhteyshenkilöt:
muokkaus"), with the record it was about; a path no route names is shown as stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from crm.extensions import db
from crm.jobs import job_title
from crm.models import AuditEventPerson, Contact, JobRun
from crm.security import roles
from crm.services.audit_labels import object_type_label
from crm.views.base import CrmModelView, can
from crm.views.jobs import started_by
from crm.views.list_audit import ROW


def _record_view(object_type: str) -> CrmModelView | None:
    """Return the view showing records of `object_type` to the reader, or None."""
    for view in current_app.appbuilder.baseviews:
        if (type(view).__name__ == f"{object_type}View" and isinstance(view, CrmModelView)
                and "can_read" in view.base_permissions and can(roles.READ, view.resource)):
            return view
    return None


def object_links(objects: Iterable[tuple[str | None, str | None]]) -> dict[tuple, str]:
    """Return (object type, object id) -> the record's page, of the objects given whose
    record still exists and whose kind the reader may read (one query per kind)."""
    wanted: dict[str, set[int]] = {}
    for object_type, object_id in objects:
        if object_type and object_id and object_id.isdigit():
            wanted.setdefault(object_type, set()).add(int(object_id))
    links = {}
    for object_type, ids in wanted.items():
        view = _record_view(object_type)
        if view is None:
            continue
        model = view.datamodel.obj
        query = sa.select(model.id).where(model.id.in_(ids))
        if model is Contact:  # an anonymised contact has no page
            query = query.where(Contact.anonymised_at.is_(None))
        for pk in db.session.scalars(query):
            links[(object_type, str(pk))] = url_for(f"{view.endpoint}.show", pk=pk)
    return links


def job_runs(object_ids: Iterable[str | None]) -> dict[str, tuple[str, str]]:
    """Return run id (as the trail stores it) -> (job's title, who started the run) of
    the job runs named, as the jobs screen names them; a run deleted since is left out."""
    ids = {int(i) for i in object_ids if i and i.isdigit()}
    if not ids:
        return {}
    runs = db.session.execute(sa.select(JobRun.id, JobRun.job, JobRun.trigger)
                              .where(JobRun.id.in_(ids))).all()
    who = started_by([(pk, trigger) for pk, _job, trigger in runs])
    return {str(pk): (job_title(job), who[pk]) for pk, job, _trigger in runs}


def job_run_text(title: str, run_id: str) -> str:
    """Return a job's run by its job and number: "Säilytysajan valvonta (ajokerta 12)"."""
    return _("%(job)s (run %(id)s)", job=title, id=run_id)


def _view_named(name: str):
    """Return the app's view (or API) whose blueprint is `name`, or None."""
    for view in current_app.appbuilder.baseviews:
        if getattr(view, "endpoint", None) == name:
            return view
    return None


def _people(count: int) -> str:
    return ngettext("%(num)d person", "%(num)d people", count)


def list_text(view_name: str, rows: int, people: int) -> str:
    """Return a list page shown, in the reader's language: "Viewed the list Contacts:
    25 people"; a list whose rows are not themselves people counts its rows too."""
    view = _view_named(view_name)
    title = (list_name(view) if view is not None else None) or view_name
    if getattr(view, "list_people", None) == ROW:
        return _("Viewed the list %(list)s: %(people)s", list=title, people=_people(people))
    return _("Viewed the list %(list)s: %(rows)s, %(people)s", list=title,
             rows=ngettext("%(num)d row", "%(num)d rows", rows), people=_people(people))


def people_shown(event_id: int) -> Markup:
    """Return the people a list event showed, by kind, each id linked to its page while
    the reader may open it: "Yhteyshenkilö: 12, 15; Käyttäjä: 3"."""
    shown = [(kind, str(pk)) for kind, pk in db.session.execute(
        sa.select(AuditEventPerson.object_type, AuditEventPerson.object_id)
        .where(AuditEventPerson.event_id == event_id)
        .order_by(AuditEventPerson.object_type, AuditEventPerson.object_id))]
    links = object_links(shown)
    kinds: dict[str, list[Markup]] = {}
    for kind, pk in shown:
        link = links.get((kind, pk))
        kinds.setdefault(kind, []).append(
            Markup('<a href="{}">{}</a>').format(link, pk) if link else Markup("{}").format(pk))
    return Markup("; ").join(Markup("{}: ").format(object_type_label(kind))
                             + Markup(", ").join(ids) for kind, ids in kinds.items())


#: What a refused request tried, by the method of the view it asked for; another
#: method is the screen itself (a GET) or a form sent on it (a POST).
TRIED = {
    "list": _l("list"), "show": _l("viewing"), "add": _l("adding"), "edit": _l("editing"),
    "delete": _l("deleting"), "action": _l("action"), "action_post": _l("action"),
    "download": _l("file download"), "lookup": _l("search"),
    "export_csv": _l("download as CSV"),
}


class Refusal(NamedTuple):
    """A refused request in words, and the record it was about (type, id), if any."""

    text: str
    record: tuple[str, str] | None


def _label(text) -> str:
    """Return a menu label in the reader's language (FAB labels its own entries with
    English words that its catalogue translates)."""
    return _(text) if isinstance(text, str) and text else str(text or "")


def _menu_items():
    """Yield (category label or None, item) of every entry of the app's menu."""
    for top in current_app.appbuilder.menu.get_list():
        category = _label(top.label or top.name) if top.childs else None
        for item in top.childs or [top]:
            yield category, item


def _menu_entry(view, endpoint: str) -> tuple[str | None, str] | None:
    """Return (category, label) of the menu's entry for `endpoint` (of `view`): the first
    leading to that very endpoint, else the first of the view; None if none is."""
    own = f"{view.endpoint}.{getattr(view, 'default_view', '')}"
    entries = [(category, item) for category, item in _menu_items()
               if item.baseview is view or item.href == endpoint]
    entry = next((e for e in entries if (e[1].href or own) == endpoint),
                 entries[0] if entries else None)
    if entry is None:
        return None
    category, item = entry
    return category, _label(item.label or item.name)


def list_name(view) -> str | None:
    """Return a view's list as its menu entry names it ("Contacts"), else by its title."""
    entry = _menu_entry(view, f"{view.endpoint}.list")
    if entry is not None:
        return entry[1]
    title = getattr(view, "list_title", None)
    return str(title) if title else None


def screen_name(view, endpoint: str) -> str | None:
    """Return the screen `endpoint` (of `view`) shows, as the menu names it ("Register ›
    Contacts"), else by the view's list title; None for one neither names."""
    entry = _menu_entry(view, endpoint)
    if entry is None:
        return list_name(view)
    category, label = entry
    return f"{category} › {label}" if category else label


def refusal_reading(detail: str | None) -> Refusal | None:
    """Return a refused request ("GET /contactview/edit/12") in words: the screen and
    what was tried ("Register › Contacts: editing"), and the record (Contact, 12); None
    for a request no route and screen name."""
    method, _space, path = (detail or "").partition(" ")
    try:
        endpoint, args = current_app.url_map.bind("localhost").match(path, method=method)
    except HTTPException:  # no such route, another method's, or a redirect (RequestRedirect)
        return None
    blueprint, _dot, name = endpoint.rpartition(".")
    view = _view_named(blueprint)
    screen = screen_name(view, endpoint) if view is not None else None
    if screen is None:
        return None
    tried = TRIED.get(name)
    if tried is None and method != "GET":
        tried = _l("sending a form")
    text = f"{screen}: {tried}" if tried is not None else screen
    pk = str(args.get("pk", ""))
    record = ((view.datamodel.obj.__name__, pk)
              if pk.isdigit() and isinstance(view, CrmModelView) else None)
    return Refusal(text, record)


def event_object(action: str | None, object_type: str | None, object_id: str | None,
                 detail: str | None) -> tuple[str | None, str | None]:
    """Return an event's object (type, id) as the trail shows it: a refusal's, the record
    its address names (`refusal_reading`), if any."""
    if action == "access_denied":
        reading = refusal_reading(detail)
        if reading is not None and reading.record is not None:
            return reading.record
    return object_type, object_id
