"""Supportdesk settings: everything from the environment, with an embedded default where one can exist.

Two profiles:
- embedded (REDIS_URL unset): SQLite, in-memory channel layer, Celery tasks run in-process,
  outgoing mail captured to the outbox page. `manage.py serve` also runs the periodic sweeps.
- production (REDIS_URL set): Postgres from DATABASE_URL, Redis pub/sub channel layer and Celery
  broker, SMTP from EMAIL_HOST/EMAIL_PORT.
"""

from __future__ import annotations

import os
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

DEBUG = envbool("DEBUG", default=EMBEDDED)
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

INSTALLED_APPS = [
    "daphne",
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "supportdesk.origins.WidgetCorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=envint("DATABASE_CONN_MAX_AGE", 600),
            conn_health_checks=True,
        )
    }
else:
    if not EMBEDDED:
        raise ImproperlyConfigured("DATABASE_URL must be set in the production profile")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(BASE_DIR / "var" / "supportdesk.sqlite3")),
            # A busy timeout lets the sweep thread and daphne's request threads share the file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
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
LOGIN_REDIRECT_URL = "tickets:inbox"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"

# Realtime: a channel layer is a delivery hint, never the record (see TRAPS.md). The pub/sub layer
# loses nothing under load, unlike RedisChannelLayer's bounded per-channel queues.
if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }

# Celery: durable work lives in database rows swept by beat; tasks only carry ids.
CELERY_BROKER_URL = REDIS_URL or "memory://"
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
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "mailer.backends.OutboxBackend"
SUPPORTDESK_MAIL_DOMAIN = env("SUPPORTDESK_MAIL_DOMAIN", "support.example.com")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", f"support@{SUPPORTDESK_MAIL_DOMAIN}")
SUPPORTDESK_REPLY_ADDRESS = env("SUPPORTDESK_REPLY_ADDRESS", DEFAULT_FROM_EMAIL)
SUPPORTDESK_COMPANY_NAME = env("SUPPORTDESK_COMPANY_NAME", "Supportdesk")

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
SUPPORTDESK_UNDO_SECONDS = envint("SUPPORTDESK_UNDO_SECONDS", 600)
# WOW credits: the coworker bonus allowance per giver per month, and how grants are executed.
SUPPORTDESK_BONUS_ALLOWANCE = envint("SUPPORTDESK_BONUS_ALLOWANCE", 50)
SUPPORTDESK_COMMERCE_BACKEND = env("SUPPORTDESK_COMMERCE_BACKEND", "local")
if SUPPORTDESK_COMMERCE_BACKEND not in {"local", "webhook"}:
    raise ImproperlyConfigured("SUPPORTDESK_COMMERCE_BACKEND must be 'local' or 'webhook'")
SUPPORTDESK_COMMERCE_WEBHOOK_URL = env("SUPPORTDESK_COMMERCE_WEBHOOK_URL")
SUPPORTDESK_COMMERCE_WEBHOOK_SECRET = env("SUPPORTDESK_COMMERCE_WEBHOOK_SECRET")
if SUPPORTDESK_COMMERCE_BACKEND == "webhook" and not SUPPORTDESK_COMMERCE_WEBHOOK_URL:
    raise ImproperlyConfigured(
        "SUPPORTDESK_COMMERCE_WEBHOOK_URL must be set for the webhook backend"
    )
SUPPORTDESK_GRANT_MAX_ATTEMPTS = envint("SUPPORTDESK_GRANT_MAX_ATTEMPTS", 6)
SUPPORTDESK_GRANT_RETRY_SECONDS = envint("SUPPORTDESK_GRANT_RETRY_SECONDS", 30)
SUPPORTDESK_RATELIMIT_ENABLED = envbool("SUPPORTDESK_RATELIMIT_ENABLED", default=True)
SUPPORTDESK_MAX_ATTACHMENT_BYTES = envint("SUPPORTDESK_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
SUPPORTDESK_MAX_INBOUND_BYTES = envint("SUPPORTDESK_MAX_INBOUND_BYTES", 40 * 1024 * 1024)
SUPPORTDESK_MAX_RECIPIENTS = envint("SUPPORTDESK_MAX_RECIPIENTS", 50)
DATA_UPLOAD_MAX_MEMORY_SIZE = SUPPORTDESK_MAX_INBOUND_BYTES

# Caches back rate limits; Redis in production so limits hold across daphne processes.
if EMBEDDED:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", default=not DEBUG and not EMBEDDED)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}
