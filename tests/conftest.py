"""Test fixtures: one app per run, on SQLite or on PostgreSQL (`CRM_TEST_DATABASE_URL`).

The schema is built by the Alembic migrations, as in production; roles are synced
and one user per role is made, as `crm init` and `crm demo` do. After each test
the register's tables are emptied again, so tests do not see each other's rows.
"""

from __future__ import annotations

import contextvars
import os
import re
import shutil
from html import unescape
from pathlib import Path

import flask.globals
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

from config import TestConfig
from crm import MIGRATIONS_DIR, create_app
from crm.extensions import db
from crm.security.sync import sync_roles
from crm.services.demo import DEMO_USERS, load_demo_users
from crm.services.reference import load_reference_data

PASSWORD = "test-password-1"
OUTPUT_DIR = Path(os.environ.get("CRM_TEST_OUTPUT", Path(__file__).parent.parent / "test-output"))
#: FAB's own tables, kept between tests (users and roles are made once per run).
KEEP_TABLES = {"alembic_version"}
#: The audit trail's tables, append-only on PostgreSQL.
APPEND_ONLY_TABLES = ("audit_event", "audit_event_person")


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("CRM_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def reset_postgres(url: str) -> None:
    """Empty the test database's public schema so migrations start from nothing."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    url = database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        reset_postgres(url)
    return url


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Tests run inside an app context (for their own database work); Flask would
    reuse it for the client's requests, sharing `g` (the signed-in user, the
    permission cache) and the ORM session between requests and with the test.
    """

    def open(self, *args, **kwargs):
        # A streamed answer (the audit trail's CSV) is read within its request's context,
        # as the server reads it; read later, its context would be another's.
        kwargs.setdefault("buffered", True)

        def run():
            flask.globals._cv_app.set(None)
            return super(IsolatedClient, self).open(*args, **kwargs)

        return contextvars.copy_context().run(run)


def prepared_app(db_url: str):
    """Return an app on `db_url`, its schema migrated, roles, reference data and demo
    users in place."""
    app = create_app(TestConfig(db_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        sync_roles(app.appbuilder)
        load_reference_data(db.session)
        load_demo_users(db.session, app.appbuilder.sm, PASSWORD)
        db.session.commit()
    return app


@pytest.fixture(scope="session")
def app(db_url):
    app = prepared_app(db_url)
    yield app
    # This process's own upload folder (TestConfig): nothing of it outlives the run.
    shutil.rmtree(app.config["CRM_IMPORT_FOLDER"], ignore_errors=True)


@pytest.fixture(scope="session")
def is_postgres(db_url) -> bool:
    return db_url.startswith("postgresql")


@pytest.fixture(autouse=True)
def _clean_register(request, app):
    """Run each test in an app context and empty the register afterwards."""
    from crm.views.interface import COUNTS

    COUNTS.clear()  # the lists' kept counts are of another test's register
    with app.app_context():
        yield
        db.session.rollback()
        _empty_register()
        COUNTS.clear()
        load_reference_data(db.session)
        _reset_demo_users(app)
        db.session.commit()
        db.session.remove()


def _empty_register() -> None:
    from flask_appbuilder import Model

    tables = [t for t in reversed(Model.metadata.sorted_tables)
              if not t.name.startswith("ab_") and t.name not in KEEP_TABLES]
    # On PostgreSQL the audit trail is append-only (migrations 0005, 0017); the tests'
    # cleanup lifts its triggers inside this one transaction, which nothing else sees.
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        for name in APPEND_ONLY_TABLES:
            db.session.execute(sa.text(f"ALTER TABLE {name} DISABLE TRIGGER USER"))
    for table in tables:
        db.session.execute(table.delete())
    if postgres:
        for name in APPEND_ONLY_TABLES:
            db.session.execute(sa.text(f"ALTER TABLE {name} ENABLE TRIGGER USER"))


def _reset_demo_users(app) -> None:
    from flask_appbuilder.security.sqla.models import User

    for user in db.session.scalars(sa.select(User)):
        if user.username not in DEMO_USERS:
            db.session.delete(user)
            continue
        # A test may have changed a demo user's roles or disabled it: put it back.
        role = app.appbuilder.sm.find_role(DEMO_USERS[user.username][0])
        if list(user.roles) != [role] or not user.active:
            user.roles = [role]
            user.active = True


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path: str) -> str:
    """Return the CSRF token of the form on `path`."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def session_csrf_token(client) -> str:
    """Return the CSRF token every form of `client`'s session carries, for a post to a
    page that offers the user no form (a refusal is tested). Not every user has a page
    with a form: an account whose roles open personal data has no password form."""
    from flask_wtf.csrf import generate_csrf

    app = client.application
    name = app.session_interface.get_cookie_name(app)
    cookie = client.get_cookie(name)
    assert cookie is not None, "the client is not signed in"

    def token():
        flask.globals._cv_app.set(None)  # a request of its own, as IsolatedClient's
        with app.test_request_context(headers={"Cookie": f"{name}={cookie.value}"}):
            assert flask.session.get("_user_id"), "the client is not signed in"
            value = generate_csrf()
            # A session that was shown no form yet keeps the token, as a form page's.
            app.session_interface.save_session(app, flask.session, app.response_class())
            return value

    return contextvars.copy_context().run(token)


def field_errors(html: str, field_id: str) -> list[str]:
    """Return the messages a form page shows beside its field `field_id`."""
    cell = re.search(rf'id="{re.escape(field_id)}".*?</td>', html, re.S)
    assert cell, f"no field {field_id} on the page"
    return [" ".join(unescape(m).split()) for m in
            re.findall(r'class="alert alert-danger">(.*?)</div>', cell.group(0), re.S)]


def login(client, username: str, password: str = PASSWORD):
    """Sign `client` in through the login form, CSRF token and all."""
    token = csrf_token(client, "/login/")
    response = client.post("/login/", data={"username": username, "password": password,
                                            "csrf_token": token})
    assert response.status_code == 302, f"login as {username} failed"
    return client


def logout(client, **kwargs):
    """Sign `client` out as the user does: the sign-out page's button, a post."""
    return client.post("/logout/", data={"csrf_token": csrf_token(client, "/logout/")},
                       **kwargs)


@pytest.fixture
def login_as(app):
    """Return a function giving a fresh test client signed in as the named demo user."""

    def make(username: str):
        return login(app.test_client(), username)

    return make


@pytest.fixture
def signed_in(login_as):
    """Return a function giving a client signed in as the named demo user, in English."""

    def make(username: str):
        client = login_as(username)
        client.get("/lang/en")
        return client

    return make


# ---------------------------------------------------------------------------
# Browser tests: a live server and Chromium driven by Playwright.
#
# `live_server` serves the session's app over HTTP from a background thread.
# Requests there get their own Flask-SQLAlchemy session (one per app context),
# so a test must commit what it sets up before the browser acts, and read the
# database with fresh queries (`session.expire_all()`) after the browser acted.
# ---------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
BROWSER_OUTPUT_DIR = OUTPUT_DIR / "browser"


@pytest.fixture(scope="session")
def live_server(app):
    """Serve `app` on a free 127.0.0.1 port; yield its base URL, e.g. http://127.0.0.1:41234."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: the OS picks a free one
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through Playwright (its own browser download is not used)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: browser tests need Debian's Chromium; "
                    "./scripts/test.sh installs it (or: apt-get install chromium)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab (own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    """The folder for browser tests' screenshots: <test output>/browser/."""
    BROWSER_OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return BROWSER_OUTPUT_DIR
