"""Supportdesk settings: everything from the environment, with an embedded default where one can exist.

Two profiles:
- embedded (REDIS_URL unset): SQLite, in-memory channel layer, Celery tasks run in-process,
  outgoing mail captured to the outbox page. `manage.py serve` also runs the periodic sweeps.
- production (REDIS_URL set): Postgres from DATABASE_URL, Redis pub/sub channel layer and Celery
  broker, SMTP from EMAIL_HOST/EMAIL_PORT.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


REDIS_URL = env("REDIS_URL")
EMBEDDED = not REDIS_URL
PROFILE = "embedded" if EMBEDDED else "production"

# Off in both profiles: the demo shows the branded error pages too (templates/404.html, ...);
# DEBUG=true brings Django's debug pages back for development.
DEBUG = envbool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the production profile (REDIS_URL set)"
        )
    SECRET_KEY = "embedded-profile-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = env("SITE_URL", "http://localhost:8000").rstrip("/")

# Not "daphne": its app imports daphne.server at setup, which creates the event loop before
# `manage.py serve` (supportdesk/server.py) can choose uvloop; `serve` replaces its runserver.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "django_htmx",
    "template_partials",
    "ninja",
    "supportdesk",
    "accounts",
    "customers",
    "mailer",
    "tickets",
    "livechat",
    "wow_credits",
    "care",
    "csat",
    "snippets",
    "team",
    "helpcenter",
    "mailboxes",
    "attachments",
    "audit",
    "hours",
    "teams",
    "privacy",
    "reports",
    "webhooks",
    # Two factors (TOTP, recovery codes, passkeys) and OpenID Connect single sign-on (accounts/).
    "django.contrib.humanize",  # allauth's passkey list
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
]

MIDDLEWARE = [
    # Outermost, so it sees every response (WhiteNoise's files too): large sync streams go out
    # chunk by chunk under daphne instead of being read whole into memory first.
    "core.streaming.StreamUnderAsgiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security.ContentSecurityPolicyMiddleware",
    "core.security.RefuseNulCharactersMiddleware",
    "core.origins.WidgetCorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The customer's language (Accept-Language) for /help/, /support/new, ...: English, Spanish, German.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.context.AuditContextMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # The agent's own language and timezone (profile page), over LocaleMiddleware's guess.
    "accounts.middleware.AgentLocaleMiddleware",
    "accounts.middleware.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so a view's OperationalError reaches it first: a database outage answers 503.
    "supportdesk.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
ASGI_APPLICATION = "supportdesk.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "supportdesk.context_processors.profile",
            ],
        },
    }
]

# Database: SQLite in the embedded profile; DATABASE_URL (Postgres) otherwise.
DATABASE_URL = env("DATABASE_URL")
# Postgres prepares the hottest reads once per connection (core/db.py); off behind a pooler in
# transaction mode that cannot keep them (PgBouncer before 1.21).
SUPPORTDESK_DB_PREPARED_STATEMENTS = envbool("SUPPORTDESK_DB_PREPARED_STATEMENTS", True)
# A busy timeout lets the sweep thread and daphne's request threads share the file.
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL;",
}
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=envint("DATABASE_CONN_MAX_AGE", 600),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # DATABASE_URL=sqlite:///... keeps the embedded profile's busy timeout (dj_database_url
        # sets none, and concurrent writers then fail at once with "database is locked").
        for name, value in SQLITE_OPTIONS.items():
            DATABASES["default"].setdefault("OPTIONS", {}).setdefault(name, value)
    elif SUPPORTDESK_DB_PREPARED_STATEMENTS:
        # core/db.py's hot statements are prepared (psycopg only prepares on a connection with a
        # threshold; Django's ORM binds on the client and never prepares either way).
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
else:
    if not EMBEDDED:
        raise ImproperlyConfigured("DATABASE_URL must be set in the production profile")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(BASE_DIR / "var" / "supportdesk.sqlite3")),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
# Django's and allauth's, reading the signed-in user's row with one plain statement
# (accounts/backends.py).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
LOGIN_REDIRECT_URL = "tickets:inbox"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"


def _storage_from_url(url: str) -> dict[str, object]:
    """SUPPORTDESK_STORAGE_URL: s3://[ACCESS_KEY:SECRET_KEY@]BUCKET[/PREFIX][?endpoint_url=...&
    region_name=...&addressing_style=path]. Unset: files under MEDIA_ROOT. Keys may also come from
    the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables (boto3 reads them)."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.hostname:
        raise ImproperlyConfigured(
            "SUPPORTDESK_STORAGE_URL must look like s3://KEY:SECRET@bucket/prefix?endpoint_url=..."
        )
    options: dict[str, object] = {
        "bucket_name": parts.hostname,
        "location": parts.path.strip("/"),
        "default_acl": "private",
        "file_overwrite": False,
        "querystring_auth": True,
    }
    if parts.username:
        options["access_key"] = unquote(parts.username)
        options["secret_key"] = unquote(parts.password or "")
    allowed = {"endpoint_url", "region_name", "addressing_style", "signature_version", "use_ssl"}
    for key, value in parse_qsl(parts.query):
        if key not in allowed:
            raise ImproperlyConfigured(f"SUPPORTDESK_STORAGE_URL: unknown option {key!r}")
        options[key] = value.lower() != "false" if key == "use_ssl" else value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


# Attachments and thumbnails go through Django's storage API: local files under MEDIA_ROOT by
# default, S3-compatible object storage (django-storages) when SUPPORTDESK_STORAGE_URL is set.
SUPPORTDESK_STORAGE_URL = env("SUPPORTDESK_STORAGE_URL")
STORAGES = {
    "default": _storage_from_url(SUPPORTDESK_STORAGE_URL)
    if SUPPORTDESK_STORAGE_URL
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads (agents, visitors, the web form): size limit per file; over it the API answers 413.
SUPPORTDESK_MAX_UPLOAD_MB = envint("SUPPORTDESK_MAX_UPLOAD_MB", 20)
# Inbound email: attachment parts kept per message (the rest stay in the raw mail, noted).
SUPPORTDESK_MAX_ATTACHMENTS_PER_EMAIL = envint("SUPPORTDESK_MAX_ATTACHMENTS_PER_EMAIL", 50)
# How long a signed attachment link in a customer's email opens the file.
SUPPORTDESK_ATTACHMENT_LINK_DAYS = envint("SUPPORTDESK_ATTACHMENT_LINK_DAYS", 90)

# Realtime: a channel layer is a delivery hint, never the record (see TRAPS.md). The pub/sub layer
# loses nothing under load, unlike RedisChannelLayer's bounded per-channel queues.
CHANNEL_LAYERS: dict[str, dict[str, object]]
if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis' pub/sub layer without its process-wide publish lock (realtime.py).
            "BACKEND": "core.realtime.PubSubLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }

# Celery: durable work lives in database rows swept by beat; tasks only carry ids.
# "memory://localhost/": kombu warns "No hostname was supplied" for a bare memory:// URL.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = envbool("SUPPORTDESK_CELERY_EAGER", default=EMBEDDED)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
SUPPORTDESK_SWEEP_SECONDS = envint("SUPPORTDESK_SWEEP_SECONDS", 5)

# Mail: SMTP when EMAIL_HOST is set, otherwise captured into the outbox (viewable at /outbox/).
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
# How long a claimed outbound email is held; after a worker crash, emails in flight are resent
# (same Message-ID) once it ends. Keep it well above a batch's send time.
SUPPORTDESK_MAIL_LEASE_SECONDS = envint("SUPPORTDESK_MAIL_LEASE_SECONDS", 120)
# SMTP connections a worker process opens in parallel to drain a backlog (mailer.delivery).
SUPPORTDESK_MAIL_CONNECTIONS = envint("SUPPORTDESK_MAIL_CONNECTIONS", 4)
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "mailer.backends.OutboxBackend"
SUPPORTDESK_MAIL_DOMAIN = env("SUPPORTDESK_MAIL_DOMAIN", "support.example.com")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", f"support@{SUPPORTDESK_MAIL_DOMAIN}")
SUPPORTDESK_REPLY_ADDRESS = env("SUPPORTDESK_REPLY_ADDRESS", DEFAULT_FROM_EMAIL)
SUPPORTDESK_COMPANY_NAME = env("SUPPORTDESK_COMPANY_NAME", "Supportdesk")
# The help center's (/help/) brand colour: a #rrggbb hex, used for its header and links.
SUPPORTDESK_BRAND_COLOR = env("SUPPORTDESK_BRAND_COLOR", "#1f5f4a")
if not re.fullmatch(r"#[0-9a-fA-F]{6}", SUPPORTDESK_BRAND_COLOR):
    raise ImproperlyConfigured(
        f"SUPPORTDESK_BRAND_COLOR must be a #rrggbb colour, got {SUPPORTDESK_BRAND_COLOR!r}"
    )

# Mailboxes (mailboxes/): secrets at rest (core/secrets.py), IMAP fetching, OAuth2 token endpoints.
SUPPORTDESK_SECRETS_KEY = env("SUPPORTDESK_SECRETS_KEY")
SUPPORTDESK_IMAP_TIMEOUT = envint("SUPPORTDESK_IMAP_TIMEOUT", 20)
SUPPORTDESK_IMAP_BATCH = envint("SUPPORTDESK_IMAP_BATCH", 50)
SUPPORTDESK_IMAP_SWEEP_LIMIT = envint("SUPPORTDESK_IMAP_SWEEP_LIMIT", 2000)
SUPPORTDESK_IMAP_CA_FILE = env("SUPPORTDESK_IMAP_CA_FILE")
SUPPORTDESK_OAUTH_GOOGLE_TOKEN_URL = env(
    "SUPPORTDESK_OAUTH_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"
)
SUPPORTDESK_OAUTH_MICROSOFT_TOKEN_URL = env(
    "SUPPORTDESK_OAUTH_MICROSOFT_TOKEN_URL",
    "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
)
SUPPORTDESK_OAUTH_GOOGLE_CLIENT_ID = env("SUPPORTDESK_OAUTH_GOOGLE_CLIENT_ID")
SUPPORTDESK_OAUTH_GOOGLE_CLIENT_SECRET = env("SUPPORTDESK_OAUTH_GOOGLE_CLIENT_SECRET")
SUPPORTDESK_OAUTH_MICROSOFT_CLIENT_ID = env("SUPPORTDESK_OAUTH_MICROSOFT_CLIENT_ID")
SUPPORTDESK_OAUTH_MICROSOFT_CLIENT_SECRET = env("SUPPORTDESK_OAUTH_MICROSOFT_CLIENT_SECRET")
SUPPORTDESK_OAUTH_MICROSOFT_TENANT = env("SUPPORTDESK_OAUTH_MICROSOFT_TENANT", "organizations")

SUPPORTDESK_INBOUND_SECRET = env(
    "SUPPORTDESK_INBOUND_SECRET", "embedded-inbound-secret" if EMBEDDED else ""
)
SUPPORTDESK_WIDGET_SECRET = env(
    "SUPPORTDESK_WIDGET_SECRET", "embedded-widget-secret" if EMBEDDED else ""
)
if not EMBEDDED and not (SUPPORTDESK_INBOUND_SECRET and SUPPORTDESK_WIDGET_SECRET):
    raise ImproperlyConfigured(
        "SUPPORTDESK_INBOUND_SECRET and SUPPORTDESK_WIDGET_SECRET must be set in the production profile"
    )
# Sites that may embed the chat widget (scheme://host[:port], comma-separated; * for any site).
SUPPORTDESK_WIDGET_ORIGINS = envlist("SUPPORTDESK_WIDGET_ORIGINS", "*")
# Visitor socket caps (core/fds.py), per daphne process.
SUPPORTDESK_MAX_SOCKETS_PER_VISITOR = envint("SUPPORTDESK_MAX_SOCKETS_PER_VISITOR", 10)
SUPPORTDESK_MAX_SOCKETS_PER_IP = envint("SUPPORTDESK_MAX_SOCKETS_PER_IP", 200)
SUPPORTDESK_AGENT_FD_RESERVE = envint("SUPPORTDESK_AGENT_FD_RESERVE", 256)
SUPPORTDESK_FD_MIN_FREE = envint("SUPPORTDESK_FD_MIN_FREE", 32)
# A request's line and headers must arrive within this many seconds of the connection (or of the
# previous answer on a kept-alive one), and a websocket upgrade be answered in as long; a body gets
# as long again plus 1 s per 8 KiB (supportdesk/server.py). Slow or half-sent requests get 408.
SUPPORTDESK_REQUEST_TIMEOUT_SECONDS = envint("SUPPORTDESK_REQUEST_TIMEOUT_SECONDS", 10)
# Refuse user_hash values without an expiry ("<unix expiry>.<hex HMAC of email:expiry>").
SUPPORTDESK_WIDGET_HASH_REQUIRE_EXPIRY = envbool("SUPPORTDESK_WIDGET_HASH_REQUIRE_EXPIRY", False)
# Chat routing (livechat/routing.py): "manual" (agents pick chats from the queue) or "auto" (a new
# chat goes to an online agent of its team with room under User.max_chats, fewest open chats
# first). Default: auto in the embedded (demo) profile, manual in production.
SUPPORTDESK_CHAT_ROUTING = env("SUPPORTDESK_CHAT_ROUTING", "auto" if EMBEDDED else "manual").lower()
if SUPPORTDESK_CHAT_ROUTING not in ("manual", "auto"):
    raise ImproperlyConfigured("SUPPORTDESK_CHAT_ROUTING must be manual or auto")
# An agent away or disconnected this long loses their assigned, not yet answered chats (re-queued).
SUPPORTDESK_CHAT_ROUTING_GRACE_SECONDS = envint("SUPPORTDESK_CHAT_ROUTING_GRACE_SECONDS", 120)
# /demo/shop/?login=EMAIL signs that address as a logged-in shopper: a demo only (never production).
SUPPORTDESK_DEMO_SHOP_LOGIN = envbool("SUPPORTDESK_DEMO_SHOP_LOGIN", EMBEDDED)
SUPPORTDESK_UNDO_SECONDS = envint("SUPPORTDESK_UNDO_SECONDS", 600)
# WOW credits: the coworker bonus allowance per giver per month, and how grants are executed.
SUPPORTDESK_BONUS_ALLOWANCE = envint("SUPPORTDESK_BONUS_ALLOWANCE", 50)


def _grant_limit(name: str, default: str) -> tuple[str, str, int]:
    """ "<max amount per grant>,<max amount per customer per period>,<max grants per customer per
    period>" (amounts in the order's currency; 0 for kinds without an amount)."""
    value = env(name, default)
    try:
        per_grant, per_customer, count = (part.strip() for part in value.split(","))
        from decimal import Decimal

        if Decimal(per_grant) < 0 or Decimal(per_customer) < 0 or int(count) < 0:
            raise ValueError
        return per_grant, per_customer, int(count)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be '<per grant>,<per customer per period>,<grants per period>', "
            f"e.g. {default!r}; got {value!r}"
        ) from None


# Company limits per grant kind (an invariant shown in the grant dialog, never an approval).
SUPPORTDESK_GRANT_LIMIT_DAYS = envint("SUPPORTDESK_GRANT_LIMIT_DAYS", 30)
SUPPORTDESK_GRANT_MAX_PERCENT = envint("SUPPORTDESK_GRANT_MAX_PERCENT", 50)
SUPPORTDESK_GRANT_LIMITS = {
    kind: _grant_limit(f"SUPPORTDESK_GRANT_LIMIT_{kind.upper()}", default)
    for kind, default in {
        "refund": "2000,5000,10",
        "rebate": "100,300,5",
        "discount_code": "100,300,5",
        "gift": "200,500,5",
        "vip_upgrade": "0,0,1",
        "overnight_reship": "0,0,3",
        "reroute_overnight": "0,0,5",
    }.items()
}
SUPPORTDESK_COMMERCE_BACKEND = env("SUPPORTDESK_COMMERCE_BACKEND", "local")
if SUPPORTDESK_COMMERCE_BACKEND not in {"local", "webhook"}:
    raise ImproperlyConfigured("SUPPORTDESK_COMMERCE_BACKEND must be 'local' or 'webhook'")
SUPPORTDESK_COMMERCE_WEBHOOK_URL = env("SUPPORTDESK_COMMERCE_WEBHOOK_URL")
SUPPORTDESK_COMMERCE_WEBHOOK_SECRET = env("SUPPORTDESK_COMMERCE_WEBHOOK_SECRET")
SUPPORTDESK_COMMERCE_WEBHOOK_TIMEOUT = envint("SUPPORTDESK_COMMERCE_WEBHOOK_TIMEOUT", 10)
if SUPPORTDESK_COMMERCE_BACKEND == "webhook" and not SUPPORTDESK_COMMERCE_WEBHOOK_URL:
    raise ImproperlyConfigured(
        "SUPPORTDESK_COMMERCE_WEBHOOK_URL must be set for the webhook backend"
    )
SUPPORTDESK_GRANT_MAX_ATTEMPTS = envint("SUPPORTDESK_GRANT_MAX_ATTEMPTS", 6)
SUPPORTDESK_GRANT_RETRY_SECONDS = envint("SUPPORTDESK_GRANT_RETRY_SECONDS", 30)
# Proactive care (care/): a shipment in transit with no carrier scan for this long needs outreach.
SUPPORTDESK_CARE_NO_SCAN_HOURS = envint("SUPPORTDESK_CARE_NO_SCAN_HOURS", 48)
# Contacts writing from these domains (comma-separated, subdomains too) are recorded as employees.
SUPPORTDESK_EMPLOYEE_DOMAINS = [
    d.lower().lstrip("@") for d in envlist("SUPPORTDESK_EMPLOYEE_DOMAINS", "")
]
SUPPORTDESK_RATELIMIT_ENABLED = envbool("SUPPORTDESK_RATELIMIT_ENABLED", default=True)

# Outgoing webhooks (webhooks/): private and loopback receivers are refused (SSRF) unless allowed.
SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE = envbool("SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE", default=False)
SUPPORTDESK_WEBHOOK_TIMEOUT = float(envint("SUPPORTDESK_WEBHOOK_TIMEOUT", 10))
SUPPORTDESK_WEBHOOK_MAX_RESPONSE_BYTES = envint("SUPPORTDESK_WEBHOOK_MAX_RESPONSE_BYTES", 65536)
SUPPORTDESK_WEBHOOK_DISABLE_DAYS = envint("SUPPORTDESK_WEBHOOK_DISABLE_DAYS", 3)
# The first retry waits about this long (with jitter), doubling per failed attempt up to an hour.
SUPPORTDESK_WEBHOOK_BACKOFF_SECONDS = envint("SUPPORTDESK_WEBHOOK_BACKOFF_SECONDS", 5)
# Slack webhooks hear about grants of at least this amount.
SUPPORTDESK_SLACK_GRANT_THRESHOLD = envint("SUPPORTDESK_SLACK_GRANT_THRESHOLD", 100)

# Customer-wait targets (tickets/waits.py): how long a customer may wait for a first reply and for
# a resolution, per priority and/or channel ("key=duration" list; keys: priority, channel or
# channel:priority; durations 30m, 8h, 2d), counted in business hours when hours are set.
SUPPORTDESK_FIRST_RESPONSE_TARGETS = env(
    "SUPPORTDESK_FIRST_RESPONSE_TARGETS", "urgent=1h,high=4h,normal=8h,low=24h,chat=1h"
)
SUPPORTDESK_RESOLUTION_TARGETS = env(
    "SUPPORTDESK_RESOLUTION_TARGETS", "urgent=8h,high=24h,normal=48h,low=120h"
)
# Sidebar counts of the inbox (tickets/inbox_counts.py): kept at most this long without a change.
SUPPORTDESK_INBOX_COUNT_SECONDS = envint("SUPPORTDESK_INBOX_COUNT_SECONDS", 60)


def _ratelimits(name: str) -> dict[str, tuple[int, int]]:
    """`scope=requests/seconds,...`, e.g. `login-ip=30/300,widget-sessions=60/60`."""
    limits: dict[str, tuple[int, int]] = {}
    for item in envlist(name, ""):
        scope, _, rate = item.partition("=")
        count, _, seconds = rate.partition("/")
        if not (scope.strip() and count.isdigit() and seconds.isdigit() and int(seconds) > 0):
            raise ImproperlyConfigured(f"{name}: expected scope=requests/seconds, got {item!r}")
        limits[scope.strip()] = (int(count), int(seconds))
    return limits


# Overrides of core/ratelimit.py's DEFAULT_LIMITS.
SUPPORTDESK_RATELIMITS = _ratelimits("SUPPORTDESK_RATELIMITS")
# Async Postgres connections per process for storing chat lines (livechat/asyncdb.py); 0 = ORM.
SUPPORTDESK_CHAT_DB_POOL = envint("SUPPORTDESK_CHAT_DB_POOL", 4)
SUPPORTDESK_MAX_ATTACHMENT_BYTES = envint("SUPPORTDESK_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
SUPPORTDESK_MAX_INBOUND_BYTES = envint("SUPPORTDESK_MAX_INBOUND_BYTES", 40 * 1024 * 1024)
SUPPORTDESK_MAX_RECIPIENTS = envint("SUPPORTDESK_MAX_RECIPIENTS", 50)
DATA_UPLOAD_MAX_MEMORY_SIZE = SUPPORTDESK_MAX_INBOUND_BYTES
# Everyone on support (team/): activity heartbeats further apart than the gap start a new span.
SUPPORTDESK_ACTIVITY_GAP_SECONDS = envint("SUPPORTDESK_ACTIVITY_GAP_SECONDS", 300)
SUPPORTDESK_ACTIVITY_HEARTBEAT_SECONDS = envint("SUPPORTDESK_ACTIVITY_HEARTBEAT_SECONDS", 60)
SUPPORTDESK_HOURS_GOAL = envint("SUPPORTDESK_HOURS_GOAL", 10)
SUPPORTDESK_SEASON_START = env("SUPPORTDESK_SEASON_START")  # ISO date; unset: this quarter
if SUPPORTDESK_SEASON_START:
    try:
        from datetime import date as _date

        _date.fromisoformat(SUPPORTDESK_SEASON_START)
    except ValueError:
        raise ImproperlyConfigured(
            f"SUPPORTDESK_SEASON_START must be an ISO date, got {SUPPORTDESK_SEASON_START!r}"
        ) from None

# Accounts that move money (accounts/, README "Security"): two factors and single sign-on.
# An employee without a second factor is sent to set one up before any agent page, API session
# call or agent socket works. Bearer tokens are not sessions: see accounts/README section.
SUPPORTDESK_REQUIRE_2FA = envbool("SUPPORTDESK_REQUIRE_2FA", default=not EMBEDDED)
# Passkeys need https, except on localhost/127.0.0.1 in the embedded profile and the tests.
SUPPORTDESK_WEBAUTHN_ALLOW_HTTP = envbool("SUPPORTDESK_WEBAUTHN_ALLOW_HTTP", default=EMBEDDED)
SUPPORTDESK_OIDC_ISSUER = env("SUPPORTDESK_OIDC_ISSUER").rstrip("/")
SUPPORTDESK_OIDC_CLIENT_ID = env("SUPPORTDESK_OIDC_CLIENT_ID")
SUPPORTDESK_OIDC_CLIENT_SECRET = env("SUPPORTDESK_OIDC_CLIENT_SECRET")
SUPPORTDESK_OIDC_NAME = env("SUPPORTDESK_OIDC_NAME", "Single sign-on")
# The ID token / userinfo claim that carries the role (agent, manager or admin), and the role
# given when it is missing or unknown.
SUPPORTDESK_OIDC_ROLE_CLAIM = env("SUPPORTDESK_OIDC_ROLE_CLAIM", "supportdesk_role")
SUPPORTDESK_OIDC_DEFAULT_ROLE = env("SUPPORTDESK_OIDC_DEFAULT_ROLE", "agent")
# Everyone must use single sign-on, except these break-glass addresses (comma-separated).
SUPPORTDESK_OIDC_REQUIRED = envbool("SUPPORTDESK_OIDC_REQUIRED", default=False)
SUPPORTDESK_OIDC_BREAK_GLASS = [e.lower() for e in envlist("SUPPORTDESK_OIDC_BREAK_GLASS", "")]
if SUPPORTDESK_OIDC_ISSUER and not SUPPORTDESK_OIDC_CLIENT_ID:
    raise ImproperlyConfigured(
        "SUPPORTDESK_OIDC_CLIENT_ID must be set with SUPPORTDESK_OIDC_ISSUER"
    )
if SUPPORTDESK_OIDC_REQUIRED and not SUPPORTDESK_OIDC_ISSUER:
    raise ImproperlyConfigured("SUPPORTDESK_OIDC_REQUIRED needs SUPPORTDESK_OIDC_ISSUER")
SUPPORTDESK_API_TOKEN_MAX_DAYS = envint("SUPPORTDESK_API_TOKEN_MAX_DAYS", 0)  # 0: no ceiling
# Privacy (customers/privacy.py): retention, run by the sweep; 0 keeps forever.
SUPPORTDESK_RETAIN_RAW_MAIL_DAYS = envint("SUPPORTDESK_RETAIN_RAW_MAIL_DAYS", 0)
SUPPORTDESK_RETAIN_ANONYMOUS_CHATS_DAYS = envint("SUPPORTDESK_RETAIN_ANONYMOUS_CHATS_DAYS", 0)
# Exports with more items than this are built in the background and downloaded once by link.
SUPPORTDESK_EXPORT_INLINE_MAX_ITEMS = envint("SUPPORTDESK_EXPORT_INLINE_MAX_ITEMS", 500)
SUPPORTDESK_EXPORT_LINK_HOURS = envint("SUPPORTDESK_EXPORT_LINK_HOURS", 24)

# django-allauth: email + password logins at /login/ (no self sign-up: employees are created by
# admins, `create_agent` or single sign-on), then the second factor when the person has one.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm"}
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = True  # the challenge when an account is under attack (below)
ACCOUNT_REAUTHENTICATION_TIMEOUT = envint("SUPPORTDESK_REAUTH_SECONDS", 300)
# Password guessing is limited by accounts/views.py (by address: 429; by account: a challenge,
# never a lockout). allauth's limit here counts wrong second-factor codes: per address and per
# account (`key` = the account for codes). SUPPORTDESK_RATELIMIT_ENABLED=false turns them off too.
ACCOUNT_RATE_LIMITS: dict[str, str] | bool = (
    {"login_failed": "10/m/ip,5/5m/key", "login": "30/m/ip"}
    if SUPPORTDESK_RATELIMIT_ENABLED
    else False
)
MFA_RATE_LIMITS: dict[str, str] | bool = {} if SUPPORTDESK_RATELIMIT_ENABLED else False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_RECOVERY_CODES_SHOW_ONCE = True
MFA_TOTP_ISSUER = SUPPORTDESK_COMPANY_NAME
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = SUPPORTDESK_WEBAUTHN_ALLOW_HTTP
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
if SUPPORTDESK_OIDC_ISSUER:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": SUPPORTDESK_OIDC_NAME,
                "client_id": SUPPORTDESK_OIDC_CLIENT_ID,
                "secret": SUPPORTDESK_OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": SUPPORTDESK_OIDC_ISSUER,
                    "oauth_pkce_enabled": True,
                    "token_auth_method": "client_secret_post",
                },
            }
        ],
    }

# Caches back rate limits; Redis in production so limits hold across daphne processes.
if EMBEDDED:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

# Security: production (REDIS_URL set, DEBUG off) is https-only by default; `manage.py check
# --deploy` is clean there (tests/security/test_headers.py). The embedded profile runs on plain
# http for a laptop demo. Behind a TLS proxy, the proxy must send X-Forwarded-Proto.
SECURE_BY_DEFAULT = not DEBUG and not EMBEDDED
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", default=SECURE_BY_DEFAULT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# Production reads a session from Redis (the shared cache), the database only on a miss: every
# agent page and API call loaded it with an ORM query (~0.4 ms of CPU and a round trip of the
# inbox's 4). Rows stay the record (accounts.cutoff ends sessions there AND drops the cached
# copies). The embedded profile's cache is per process, so its sessions stay database-only.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.db"
    if EMBEDDED
    else "django.contrib.sessions.backends.cached_db"
)
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# `manage.py serve` takes the client address from X-Forwarded-For only when told it runs behind
# a proxy that sets it (rate limits are per address; a forged header must not reset them).
SUPPORTDESK_BEHIND_PROXY = envbool("SUPPORTDESK_BEHIND_PROXY", default=False)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", default=SECURE_BY_DEFAULT)
# The container health check probes plain http from inside; everything else is redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# HSTS is only ever sent on https responses (Django's SecurityMiddleware), a year by default.
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if SECURE_BY_DEFAULT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "filters": {
        "client_errors_without_traceback": {"()": "supportdesk.logs.ClientErrorsWithoutTraceback"}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # A 403 or 404 is an ordinary answer: one line in the log, not a traceback.
        "django.request": {"filters": ["client_errors_without_traceback"]},
        "django.security": {"filters": ["client_errors_without_traceback"]},
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}
