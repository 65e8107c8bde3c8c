"""The audit trail's events as its readers follow them (DESIGN §9.5).

An event names its object by type and id: the screens link the id to the record's page
while the record exists and the reader may read it (a link shows the id, never a name);
a job's run is named by its job and by who started it, as the jobs screen names them.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _

from crm.extensions import db
from crm.jobs import job_title
from crm.models import Contact, JobRun
from crm.security import roles
from crm.views.base import CrmModelView, can
from crm.views.jobs import started_by


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
