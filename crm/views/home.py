"""The home page: what the signed-in person's roles need first."""

from __future__ import annotations

from flask import current_app, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from crm.extensions import db
from crm.models.base import register_today
from crm.services.home import home_panels


def _url(endpoint: str, pk: object) -> str:
    """A record's page by its pk, a list by None, or a list filtered by a dict's args."""
    if isinstance(pk, dict):
        return url_for(endpoint, **pk)
    return url_for(endpoint, pk=pk) if pk is not None else url_for(endpoint)


class HomeView(IndexView):
    index_template = "crm/home.html"

    @expose("/")
    def index(self):
        panels = []
        if current_user.is_authenticated:
            # Overdue as the register counts days (CRM_TIMEZONE), not by the server's clock.
            panels = home_panels(db.session, current_app.appbuilder.sm.can, _url,
                                 register_today())
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    panels=panels)
