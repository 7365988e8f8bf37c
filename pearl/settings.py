"""Pearl settings: one file, driven by the environment (see README "Configuration")."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("PEARL_DATA_DIR", "./var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use PEARL_SECRET_KEY, else a key generated once and kept in the data dir."""
    if key := os.environ.get("PEARL_SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("PEARL_DEBUG")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("PEARL_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("PEARL_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",  # serves the Swagger UI assets locally for /api/v1/docs (no CDN)
    "django_htmx",
    "js_lib_htmx",
    "huey.contrib.djhuey",
    "pearl.core",
    "pearl.accounts",
    "pearl.customers",
    "pearl.dataquality",
    "pearl.activities",
    "pearl.sales",
    "pearl.analytics",
    "pearl.integrations",
    "pearl.leads",
    "pearl.pipelines",
    "pearl.pools",
    "pearl.reminders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pearl.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "pearl.urls"
WSGI_APPLICATION = "pearl.wsgi.application"
ASGI_APPLICATION = "pearl.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pearl.accounts.context_processors.permissions",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "pearl.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent users on one file: WAL lets readers run beside the writer, the busy timeout
    # waits for the lock instead of failing, and IMMEDIATE transactions take the write lock
    # up front so two writers never deadlock on a lock upgrade.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Page cache per connection; each process holding a connection may fill it (64 MB by default).
    SQLITE_CACHE_KIB = int(os.environ.get("PEARL_SQLITE_CACHE_KIB", "64000"))
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;"
        ),
    }
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "customers:customer_list"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- i18n -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- static files -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing directory before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (attachments, visit photos): the data dir's media/ by default; S3-compatible storage
# (AWS S3, MinIO, OSS, COS) when PEARL_S3_BUCKET is set. Files are never served from a public URL:
# a view checks the customer's scope and streams them (pearl.activities).
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if os.environ.get("PEARL_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["PEARL_S3_BUCKET"],
            "endpoint_url": os.environ.get("PEARL_S3_ENDPOINT_URL") or None,
            "access_key": os.environ.get("PEARL_S3_ACCESS_KEY") or None,
            "secret_key": os.environ.get("PEARL_S3_SECRET_KEY") or None,
            "region_name": os.environ.get("PEARL_S3_REGION") or None,
            "location": os.environ.get("PEARL_S3_PREFIX", ""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
MEDIA_ROOT = DATA_DIR / "media"

# --- background tasks -------------------------------------------------------
# Huey: SQLite storage in the data dir by default (worker runs inside `pearl serve`);
# set PEARL_REDIS_URL to share one queue among several machines and run `pearl run_huey`.
REDIS_URL = os.environ.get("PEARL_REDIS_URL", "")
PEARL_INPROCESS_WORKER = not REDIS_URL or _env_bool("PEARL_INPROCESS_WORKER")
if REDIS_URL:
    # PEARL_HUEY_NAME: the queue's name in Redis, for several Pearl installs (or a test) sharing one server.
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("PEARL_HUEY_NAME", "pearl"),
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "pearl",
        "filename": str(DATA_DIR / "tasks.sqlite3"),
        "immediate": False,
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PEARL_LOG_LEVEL", "WARNING")},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free hx-headers attribute instead
X_FRAME_OPTIONS = "DENY"

# List counts (pages, and API searches) stop past this many matches ("1,000+"): nobody pages through
# more, and counting a common word or a broad filter over a million customers would dominate the page.
PEARL_SEARCH_COUNT_CAP = int(os.environ.get("PEARL_COUNT_CAP", "1000"))
