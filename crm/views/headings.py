"""FAB's list, record and form pages headed in the server's HTML: the page's title is its h1.

FAB's page templates (appbuilder/general/model/list.html, show.html, add.html,
edit.html) take their panels from the macros of appbuilder/general/lib.html, which
title the page's panel (`panel_begin`) and its parts (`accordion_tag`: the filters, a
record's groups of fields) alike with an h4. The CRM serves that file with its own
`panel_begin` and `accordion_tag` (crm/templates/crm/fab_lib_headings.html) after FAB's:
a macro defined again in a template replaces the first, so every page and widget that
imports the file gets an h1 and h2s, and the other macros stay FAB's. A copy of the
whole file, or of each page template, would have to follow every FAB release.

The CRM's screens call `panel_begin` once a page; FAB's master-detail and chart pages,
which call it more than once, are not used.

The page's <title> names it by the same h1 (without its secondary text), then the CRM
("Yhteyshenkilöt – Yhteystietorekisteri"): the CRM's base page
(crm/templates/appbuilder/init.html) renders its body first and titles it with
`page_title`, so every page, FAB's and the CRM's own screens alike, is titled as it is
headed without saying it twice.
"""

from __future__ import annotations

import re

from flask import Flask
from jinja2 import BaseLoader, ChoiceLoader, Environment, TemplateNotFound
from markupsafe import Markup

FAB_LIB = "appbuilder/general/lib.html"
CRM_MACROS = "crm/fab_lib_headings.html"


class _LibWithHeadings(BaseLoader):
    """Serve `FAB_LIB` as FAB's source followed by `CRM_MACROS`; nothing else."""

    def __init__(self, loader: BaseLoader) -> None:
        self.loader = loader

    def get_source(self, environment: Environment, template: str):
        if template != FAB_LIB:
            raise TemplateNotFound(template)
        fab, filename, fab_fresh = self.loader.get_source(environment, FAB_LIB)
        own, _, own_fresh = self.loader.get_source(environment, CRM_MACROS)
        return (f"{fab}\n{own}", filename,
                lambda: (fab_fresh is None or fab_fresh()) and (own_fresh is None or own_fresh()))


_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.S | re.I)
_SMALL = re.compile(r"<small\b[^>]*>.*?</small\s*>", re.S | re.I)


def page_title(body: str, app_name) -> str:
    """Return the title of a page whose rendered body is `body`: its first h1's text, then
    `app_name`; `app_name` alone for a page without an h1 or headed with that name.

    The h1's secondary text, its <small> (the kind of record beside a record's name), is
    left out: "Matti Meikäläinen – Yhteystietorekisteri".
    """
    match = _H1.search(body)
    heading = Markup(_SMALL.sub("", match.group(1))).striptags() if match else ""
    name = str(app_name)
    return f"{heading} – {name}" if heading and heading != name else name


def init_app(app: Flask) -> None:
    loader = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([_LibWithHeadings(loader), loader])
    app.jinja_env.filters["page_title"] = page_title
