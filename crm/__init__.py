"""The contact register CRM: `create_app()` builds the Flask-AppBuilder application."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: object | None = None) -> Flask:
    """Build the application; nothing here touches the database.

    :param config: a `Config` instance; read from the environment when omitted.
    """
    app = Flask(__name__)
    app.config.from_object(config or Config())

    from crm import cli, models  # noqa: F401  (models register their tables)
    from crm.extensions import db, migrate
    from crm.security import backchannel, oidc, request_size, sessions
    from crm.security.headers import init_app as init_security_headers
    from crm.services import rectification
    from crm.views import register_views
    from crm.views.errors import init_app as init_error_pages
    from crm.views.headings import init_app as init_headings
    from crm.views.locale import CrmAppBuilder
    from crm.views.record_ids import init_app as init_record_ids

    if app.config.get("CRM_TRUSTED_PROXIES"):
        # The client's address (rate limits) and scheme as the proxies in front say.
        hops = app.config["CRM_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    db.init_app(app)
    rectification.init_app(app)  # contacts' change history (DESIGN §9.2)
    # Each route's largest request body, set before the CSRF check reads a form.
    request_size.init_app(app)
    # Every state change needs a CSRF token (DESIGN §11); set up before FAB, whose
    # token-less JSON APIs exempt themselves when they see it.
    csrf = CSRFProtect(app)
    sessions.init_app(app)
    oidc.init_app(app)
    backchannel.init_app(app, csrf)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), compare_type=True)
    # Route numbers bounded before any route is added (crm.views.record_ids).
    init_record_ids(app)
    with app.app_context():
        # FAB's, with a language menu that keeps the reader's page (crm.views.locale).
        appbuilder = CrmAppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        register_views(appbuilder)
    init_security_headers(app)
    init_error_pages(app)
    init_headings(app)  # FAB's pages titled by an h1 (crm.views.headings)
    from crm.public import bp as public_bp

    app.register_blueprint(public_bp)
    cli.init_app(app)
    return app
