"""Configuration from the environment (DESIGN §3); a `.env` file is read if present."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

from dotenv import load_dotenv
from flask_babel import lazy_gettext

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CRM_INSTANCE_DIR", BASE_DIR / "instance"))

load_dotenv(BASE_DIR / ".env")

#: DESIGN §6: identity-provider group -> CRM roles.
DEFAULT_ROLE_MAPPING: dict[str, list[str]] = {
    "crm-sales": ["Sales"],
    "crm-marketing": ["Marketing"],
    "crm-communications": ["Communications"],
    "crm-receivables": ["Receivables"],
    "crm-support": ["Support"],
    "crm-privacy": ["Privacy"],
    "crm-dpo": ["DPO"],
    "crm-admins": ["Admin"],
    "crm-maintainers": ["Maintainer"],
}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _on_off(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    if value.lower() in ("on", "true", "1", "yes"):
        return True
    if value.lower() in ("off", "false", "0", "no"):
        return False
    raise ValueError(f"{name} must be 'on' or 'off', not {value!r}")


def database_url() -> str:
    """Return the SQLAlchemy URL: `CRM_DATABASE_URL`, else SQLite under instance/."""
    url = _env("CRM_DATABASE_URL")
    if url is None:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{INSTANCE_DIR / 'crm.db'}"
    # Plain postgresql:// URLs mean psycopg 3 here, not psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def secret_key(production: bool) -> str:
    """Return `CRM_SECRET_KEY`; in development generate one once into instance/."""
    key = _env("CRM_SECRET_KEY")
    if key:
        return key
    if production:
        raise RuntimeError("CRM_SECRET_KEY must be set in production")
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def role_mapping() -> dict[str, list[str]]:
    raw = _env("CRM_ROLE_MAPPING")
    if raw is None:
        return dict(DEFAULT_ROLE_MAPPING)
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"CRM_ROLE_MAPPING is not valid JSON: {exc}") from exc
    if not isinstance(mapping, dict) or not all(
        isinstance(v, list) and all(isinstance(r, str) for r in v) for v in mapping.values()
    ):
        raise ValueError("CRM_ROLE_MAPPING must be a JSON object of group -> list of role names")
    return mapping


def oidc_issuer(production: bool) -> str | None:
    """Return `CRM_OIDC_ISSUER`; in production only an https issuer (never a dev provider)."""
    issuer = _env("CRM_OIDC_ISSUER")
    if issuer and production and not issuer.startswith("https://"):
        raise ValueError("CRM_OIDC_ISSUER must be an https:// URL in production")
    return issuer


def session_store() -> str:
    store = _env("CRM_SESSION_STORE", "database")
    if store != "database":
        raise ValueError(f"CRM_SESSION_STORE must be 'database', not {store!r}")
    return store


def _positive_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1")
    return value


def trusted_proxies() -> int:
    """Return `CRM_TRUSTED_PROXIES`: proxies in front of the CRM whose X-Forwarded-For and
    X-Forwarded-Proto are believed (0: none, the client's address is the peer's)."""
    raw = _env("CRM_TRUSTED_PROXIES", "0")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"CRM_TRUSTED_PROXIES must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError("CRM_TRUSTED_PROXIES must be 0 or more")
    return value


def job_schedules() -> dict[str, str]:
    """Return `CRM_JOB_SCHEDULES`: job name -> crontab or "off" (empty: the defaults)."""
    raw = _env("CRM_JOB_SCHEDULES")
    if raw is None:
        return {}
    try:
        schedules = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"CRM_JOB_SCHEDULES is not valid JSON: {exc}") from exc
    if not isinstance(schedules, dict) or not all(
            isinstance(v, str) for v in schedules.values()):
        raise ValueError("CRM_JOB_SCHEDULES must be a JSON object of job name -> crontab")
    return schedules


class Config:
    """Settings for a deployment, read once from the environment."""

    def __init__(self) -> None:
        self.PRODUCTION = _env("CRM_ENV", "development") == "production"
        self.SQLALCHEMY_DATABASE_URI = database_url()
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False
        # A database error's message leaves out the statement's values (names,
        # addresses), so that no log entry quotes them.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
        self.SECRET_KEY = secret_key(self.PRODUCTION)
        self.CRM_BASE_URL = _env("CRM_BASE_URL", "http://127.0.0.1:5000").rstrip("/")

        self.CRM_OIDC_ISSUER = oidc_issuer(self.PRODUCTION)
        self.CRM_OIDC_CLIENT_ID = _env("CRM_OIDC_CLIENT_ID")
        self.CRM_OIDC_CLIENT_SECRET = _env("CRM_OIDC_CLIENT_SECRET")
        self.CRM_OIDC_GROUPS_CLAIM = _env("CRM_OIDC_GROUPS_CLAIM", "groups")
        #: The name on the login page's "sign in with" button.
        self.CRM_OIDC_DISPLAY_NAME = _env("CRM_OIDC_DISPLAY_NAME", "Company SSO")
        self.CRM_OIDC_SCOPES = _env("CRM_OIDC_SCOPES", "openid profile email")
        #: client_secret_basic or client_secret_post, as registered at the provider.
        self.CRM_OIDC_TOKEN_AUTH_METHOD = _env("CRM_OIDC_TOKEN_AUTH_METHOD",
                                               "client_secret_basic")
        #: Fetch the provider's keys again on an unknown `kid` at most this often.
        self.CRM_OIDC_JWKS_REFETCH_SECONDS = int(_env("CRM_OIDC_JWKS_REFETCH_SECONDS", "10"))
        self.CRM_ROLE_MAPPING = role_mapping()
        self.CRM_LOCAL_LOGIN = _on_off("CRM_LOCAL_LOGIN", default=self.CRM_OIDC_ISSUER is None)
        self.CRM_DEMO_PASSWORD = _env("CRM_DEMO_PASSWORD", "demo")
        self.CRM_MAILCHIMP_API_KEY = _env("CRM_MAILCHIMP_API_KEY")
        self.CRM_MAILCHIMP_AUDIENCE_ID = _env("CRM_MAILCHIMP_AUDIENCE_ID")
        self.CRM_MAILCHIMP_BASE_URL = _env("CRM_MAILCHIMP_BASE_URL")
        #: The secret in the URL Mailchimp's webhooks call (`/webhooks/mailchimp?secret=...`).
        self.CRM_MAILCHIMP_WEBHOOK_SECRET = _env("CRM_MAILCHIMP_WEBHOOK_SECRET")
        #: Posts of the public callback form per client address (Flask-Limiter syntax).
        self.CRM_CONTACT_RATE_LIMIT = _env("CRM_CONTACT_RATE_LIMIT", "5 per minute;30 per day")
        #: Largest purchased-list file the upload screen takes, in megabytes.
        self.CRM_IMPORT_MAX_MB = _positive_int("CRM_IMPORT_MAX_MB", 50)
        #: Largest request body anywhere else (forms, the API), in bytes: a larger one is
        #: refused (413) before it is read. The upload screen and the public callback form
        #: have their own (crm.security.request_size).
        self.MAX_CONTENT_LENGTH = 1024 * 1024
        #: Proxies in front of the CRM whose X-Forwarded-For/-Proto are believed.
        self.CRM_TRUSTED_PROXIES = trusted_proxies()
        #: Where uploaded lists wait between the upload screen's steps (private, 0700);
        #: None: "crm-imports" in the system's temporary folder.
        self.CRM_IMPORT_FOLDER: str | None = None
        self.CRM_SMTP_URL = _env("CRM_SMTP_URL")
        # The controller as the privacy notice names it (DESIGN §2, §9.6).
        self.CRM_CONTROLLER_NAME = _env("CRM_CONTROLLER_NAME", "Esimerkki Oy")
        self.CRM_CONTROLLER_ADDRESS = _env("CRM_CONTROLLER_ADDRESS",
                                           "Esimerkkikatu 1, 00100 Helsinki")
        self.CRM_CONTROLLER_PHONE = _env("CRM_CONTROLLER_PHONE")
        self.CRM_CONTROLLER_EMAIL = _env("CRM_CONTROLLER_EMAIL", "tietosuoja@example.com")
        self.CRM_REGISTER_NAME = _env("CRM_REGISTER_NAME", "Yhteystietorekisteri")
        self.CRM_REGISTER_CONTACT = _env(
            "CRM_REGISTER_CONTACT", "Markkinointikoordinaattori, tietosuoja@example.com")
        self.CRM_DPO_CONTACT = _env("CRM_DPO_CONTACT", "Tietosuojavastaava, dpo@example.com")
        #: Key for the suppression list's keyed hashes; defaults to the session key.
        self.CRM_SUPPRESSION_KEY = _env("CRM_SUPPRESSION_KEY", self.SECRET_KEY)

        # Scheduled jobs and retention (DESIGN §8).
        #: Time zone of the job schedules (cron expressions).
        self.CRM_TIMEZONE = _env("CRM_TIMEZONE", "Europe/Helsinki")
        #: JSON object: job name -> crontab ("30 2 * * *") or "off"; overrides the defaults.
        self.CRM_JOB_SCHEDULES = job_schedules()
        #: `crm serve` starts the scheduler beside gunicorn unless this is off.
        self.CRM_SCHEDULER = _on_off("CRM_SCHEDULER", default=True)
        #: Contacts per retention batch: one transaction, one short lock, each.
        self.CRM_RETENTION_BATCH_SIZE = _positive_int("CRM_RETENTION_BATCH_SIZE", 1000)
        #: Retention batches of contacts run at once on PostgreSQL (SQLite: one).
        self.CRM_RETENTION_WORKERS = _positive_int("CRM_RETENTION_WORKERS", 2)
        #: Seconds to wait between batches, to leave the database to users on a busy day.
        self.CRM_RETENTION_BATCH_PAUSE = float(_env("CRM_RETENTION_BATCH_PAUSE", "0"))
        #: A job lock whose holder has not shown signs of life for this long is free (SQLite).
        self.CRM_JOB_LOCK_STALE_SECONDS = _positive_int("CRM_JOB_LOCK_STALE_SECONDS", 900)
        #: Remind of data subject requests due within this many days (and of overdue ones).
        self.CRM_REQUEST_REMINDER_DAYS = _positive_int("CRM_REQUEST_REMINDER_DAYS", 7)
        #: Flag Art. 14 notices falling due within this many days (and overdue ones).
        self.CRM_ART14_REMINDER_DAYS = _positive_int("CRM_ART14_REMINDER_DAYS", 7)
        #: A consent not renewed within this many days lapses.
        self.CRM_CONSENT_VALID_DAYS = _positive_int("CRM_CONSENT_VALID_DAYS", 730)
        #: The most events one CSV download of the audit trail holds.
        self.CRM_AUDIT_EXPORT_ROWS = _positive_int("CRM_AUDIT_EXPORT_ROWS", 100_000)
        #: Sender of notification mail (CRM_SMTP_URL).
        self.CRM_MAIL_FROM = _env("CRM_MAIL_FROM", "crm-noreply@localhost")

        # Flask-AppBuilder. The schema belongs to Alembic and roles to `crm init`:
        # nothing is created or synced when the app starts.
        # In the reader's language (Yhteystietorekisteri / Contact register).
        self.APP_NAME = lazy_gettext("Contact register")
        self.FAB_CREATE_DB = False
        self.FAB_UPDATE_PERMS = False
        self.FAB_ADD_SECURITY_API = False
        self.FAB_API_SWAGGER_UI = False
        self.FAB_SECURITY_MANAGER_CLASS = "crm.security.manager.CrmSecurityManager"
        self.FAB_INDEX_VIEW = "crm.views.home.HomeView"
        self.FAB_BASE_TEMPLATE = "crm/baselayout.html"
        # No role gets every permission implicitly: role contents come from
        # crm.security.roles only. FAB's own "admin" role name is kept apart.
        self.AUTH_ROLE_ADMIN = "FabInternalNoUsers"
        self.AUTH_ROLE_PUBLIC = "Public"
        self.AUTH_TYPE = 1  # AUTH_DB; SSO is added on top of it in crm.security
        self.AUTH_USER_REGISTRATION = False
        self.AUTH_RATE_LIMITED = True
        self.AUTH_RATE_LIMIT = "10 per minute"
        self.RATELIMIT_ENABLED = True
        self.RATELIMIT_STORAGE_URI = _env("CRM_RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_HEADERS_ENABLED = True

        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = None
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.CRM_BASE_URL.startswith("https://")
        self.SESSION_COOKIE_NAME = "crm_session"
        #: Where sessions live. The database is the shared store: every web process of
        #: a deployment reads the same `user_session` table.
        self.CRM_SESSION_STORE = session_store()
        self.CRM_SESSION_IDLE_SECONDS = int(_env("CRM_SESSION_IDLE_MINUTES", "30")) * 60
        self.CRM_SESSION_ABSOLUTE_SECONDS = int(_env("CRM_SESSION_ABSOLUTE_HOURS", "8")) * 3600
        self.PERMANENT_SESSION_LIFETIME = self.CRM_SESSION_ABSOLUTE_SECONDS

        self.BABEL_DEFAULT_LOCALE = "fi"
        self.BABEL_DEFAULT_TIMEZONE = _env("CRM_TIMEZONE", "Europe/Helsinki")
        self.BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "crm" / "translations")
        self.LANGUAGES = {
            "fi": {"flag": "fi", "name": "Suomi"},
            "en": {"flag": "gb", "name": "English"},
        }


class TestConfig(Config):
    """Settings for the test suite: its own database, no rate limits unless a test asks."""

    __test__ = False  # not a pytest test class

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.TESTING = True
        self.SQLALCHEMY_DATABASE_URI = database_url
        self.RATELIMIT_ENABLED = False
        self.AUTH_RATE_LIMITED = False
        self.SECRET_KEY = "test-secret-key"
        self.CRM_SUPPRESSION_KEY = "test-suppression-key"
        # Uploads of this test process only: a CRM served beside the tests on the same
        # machine keeps its own in the shared folder, which the tests count.
        self.CRM_IMPORT_FOLDER = os.path.join(tempfile.gettempdir(),
                                              f"crm-imports-test-{os.getpid()}")
        # Test users' passwords need no protection: keep hashing cheap.
        self.FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
        # SSO only where a test sets it up (tests/oidc), whatever the developer's .env says.
        self.CRM_OIDC_ISSUER = None
        self.CRM_LOCAL_LOGIN = True
