"""A list sorted by a text column sorts as a Finn expects: letter case aside, and å, ä
and ö after z. On SQLite the list orders the column's lower() (crm.views.interface,
`sort_key`); PostgreSQL orders by the database's collation, here a Finnish company's
(ICU fi-FI). Every page, numbered or reached by its "›" and "‹" links, keeps the order.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
import sqlalchemy as sa

from crm.extensions import db
from tests.conftest import login, prepared_app
from tests.factories import make_contact, make_organisation
from tests.scratch_db import scratch_postgres_database
from tests.test_search_collation import FINNISH_ICU

#: The names as added, and as a Finn lists them.
NAMES = ["Zeta", "Örnsköld", "AaltoSolutions", "aalto", "Aaltodata"]
FINNISH_ORDER = ["aalto", "Aaltodata", "AaltoSolutions", "Zeta", "Örnsköld"]
PAGE = 2

#: (list, its view's name, the sorted column): the organisations by name, the contacts
#: by last name.
LISTS = [("organisationview", "OrganisationView", "name"),
         ("contactview", "ContactView", "last_name")]


@pytest.fixture(scope="module")
def finnish_app(request, db_url):
    """The suite's app on SQLite; on PostgreSQL an app on a database of its own, made as
    a Finnish company makes it (ICU fi-FI), whose collation the lists follow."""
    if not db_url.startswith("postgresql"):
        yield request.getfixturevalue("app")
        return
    with scratch_postgres_database("crm_val_fi", f"TEMPLATE template0 {FINNISH_ICU}") as url:
        app = prepared_app("postgresql+psycopg://" + url.split("://", 1)[1])
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def named_register(finnish_app):
    """An organisation and a contact of each name; emptied again afterwards."""
    with finnish_app.app_context():
        for name in NAMES:
            make_contact(db.session, last_name=name,
                         organisation=make_organisation(db.session, name=name))
        db.session.commit()
        yield finnish_app
        db.session.rollback()
        for table in ("contact", "organisation"):
            db.session.execute(sa.text(f"DELETE FROM {table}"))
        db.session.commit()


def _names(html: str, view: str) -> list[str]:
    """Return the names of the list's rows, as their show links read them."""
    rows = html.split("</thead>", 1)[1].split("</table>", 1)[0]
    ids = dict.fromkeys(re.findall(rf'href="/{view}/show/(\d+)', rows))
    with db.engine.connect() as conn:
        table, column = ("organisation", "name") if view == "organisationview" else (
            "contact", "last_name")
        names = dict(conn.execute(sa.text(f"SELECT id, {column} FROM {table}")).all())
    return [names[int(i)] for i in ids]


def _link(html: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]*)" rel="{rel}">', html)
    return html_lib.unescape(match.group(1)) if match else None


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize(("view", "name", "column"), LISTS)
def test_a_text_column_sorts_as_a_finn_expects_on_every_page(named_register, view, name,
                                                            column, direction):
    expected = FINNISH_ORDER if direction == "asc" else FINNISH_ORDER[::-1]
    app = named_register
    with app.app_context():
        client = login(app.test_client(), "sales")
        order = {f"psize_{name}": PAGE, f"_oc_{name}": column, f"_od_{name}": direction}
        numbered = []
        for page in range(3):
            html = client.get(f"/{view}/list/", query_string={
                **order, f"page_{name}": page}).get_data(as_text=True)
            numbered.append(_names(html, view))
        assert numbered == [expected[:2], expected[2:4], expected[4:]]
        # The same pages by the "›" links, each read from the key of the one before.
        html = client.get(f"/{view}/list/", query_string=order).get_data(as_text=True)
        pages = [_names(html, view)]
        while (url := _link(html, "next")) is not None:
            assert f"seek_{name}=" in url
            html = client.get(url).get_data(as_text=True)
            pages.append(_names(html, view))
        assert pages == numbered
        html = client.get(_link(html, "prev")).get_data(as_text=True)  # and back by "‹"
        assert _names(html, view) == numbered[1]
