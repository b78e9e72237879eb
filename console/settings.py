"""Settings for Incident Console, read from environment variables only.

Defaults run locally with nothing installed (SQLite and a filesystem broker under var/);
production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG=false.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from console import localenv

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CONSOLE_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from None
    return os.environ.get(name, default)


def env_int_renamed(name: str, old: str, default: int) -> int:
    """NAME, or OLD (its name until the page cache was called a page cache), read for one more release."""
    if os.environ.get(name, "") == "" and os.environ.get(old, "") != "":
        warnings.warn(f"{old} is now called {name}; the old name is read until the next release", FutureWarning,
                      stacklevel=1)
        return env_int(old, default)
    return env_int(name, default)


# A developer machine's own settings file, var/local.env, written by `make run` and `make import` (a generated
# SECRET_KEY, DEBUG=true): read only where it exists, never over the environment, and not at all when the
# environment brings its own SECRET_KEY, as deployments and the test suite do (console/localenv.py).
LOCAL_ENV = localenv.apply(VAR_DIR)
DEBUG = env_bool("DEBUG", False)
# What this process is for: "web" (the default: pages, workers and beat) or "commands-worker", a Celery worker
# on the commands queue that signs nothing and serves no page, so it is given no SECRET_KEY (or SMTP password).
CONSOLE_ROLE = env_str("CONSOLE_ROLE", "web")
if CONSOLE_ROLE not in {"web", "commands-worker"}:
    raise ImproperlyConfigured(f"CONSOLE_ROLE={CONSOLE_ROLE!r} must be web or commands-worker")

_DEV_SECRET_KEY = "insecure-dev-key-only-for-debug"  # noqa: S105 - refused below when DEBUG is off
SECRET_KEY = env_secret("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
if CONSOLE_ROLE == "commands-worker" and not SECRET_KEY:
    import secrets as _secrets

    SECRET_KEY = _secrets.token_urlsafe(50)  # never shared: nothing this process makes is checked elsewhere
if "SECRET_KEY" in LOCAL_ENV:
    # What was signed or encrypted under the built-in dev key, before make wrote the file, stays readable.
    SECRET_KEY_FALLBACKS = [_DEV_SECRET_KEY]
if not SECRET_KEY or (SECRET_KEY == _DEV_SECRET_KEY and not DEBUG):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: with DEBUG off the console refuses to start on a default secret key "
        "(set SECRET_KEY or SECRET_KEY_FILE; on a developer machine `make run` or `make import` writes "
        f"{localenv.path_for(VAR_DIR)} with one)"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if not DEBUG else "*")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "console",
    "accounts",
    "runbooks",
    "incidents",
    "api",
    "setup",  # /setup/, importing from the browser, the guides
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "console.requests.NulBytesMiddleware",  # before anything reads a cookie, a field or the query string
    "console.headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.memo.RememberedAuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

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
            ],
        },
    },
]

_DATABASE_URL = env_secret("DATABASE_URL")
if _DATABASE_URL:
    try:
        _db = dj_database_url.parse(_DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    except ValueError as exc:
        # Never echo the URL: it usually holds a password.
        reason = str(exc).split(". ")[0].rstrip(".")
        raise ImproperlyConfigured(
            f"DATABASE_URL cannot be understood ({reason}); expected postgres://user:password@host:5432/name"
        ) from None
    if _db.get("ENGINE") not in {"django.db.backends.postgresql", "django.db.backends.sqlite3"}:
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// (or sqlite://) URL")
    _db.setdefault("OPTIONS", {})
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # A health check is one more round trip on every request; without it a connection that died (a database
        # restart) fails one request per process, which then reconnects. Connections are recycled after
        # DB_CONN_MAX_AGE seconds either way.
        _db["CONN_HEALTH_CHECKS"] = env_bool("DB_HEALTH_CHECKS", False)
        _db["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
else:
    # The default SQLite file lives under var/: make sure the directory exists (a fresh clone has none).
    with contextlib.suppress(OSError):
        VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "console.sqlite3",
        # SQLite under make run is shared by the web server, a worker and beat: wait for locks.
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


_CACHE_URL = env_secret("CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    # The page cache (incidents/pagecache.py), in each process's memory: its keys carry the version of what a page
    # shows, so no process can serve another's stale copy, and a local read costs no round trip.
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": env_int_renamed("PAGE_CACHE_ENTRIES", "FRAGMENT_CACHE_ENTRIES", 100)},
    },
}
PAGE_CACHE_SECONDS = env_int_renamed("PAGE_CACHE_SECONDS", "FRAGMENT_CACHE_SECONDS", 90)

# Sessions: with a shared cache (CACHE_URL), read through the cache and written to the database too
# ("cached_db"): every authenticated request then costs no session query, and a logout or an expired session
# still ends everywhere, because the cache is shared. Without a shared cache each process would keep its own
# copy (a logged-out session could live on in another worker), so sessions stay in the database only.
SESSION_STORE = env_str("SESSION_STORE", "cached_db" if _CACHE_URL else "db")
if SESSION_STORE not in {"cached_db", "db"}:
    raise ImproperlyConfigured(f"SESSION_STORE={SESSION_STORE!r} must be cached_db or db")
if SESSION_STORE == "cached_db" and not _CACHE_URL:
    raise ImproperlyConfigured("SESSION_STORE=cached_db needs CACHE_URL (a cache every process shares)")
SESSION_ENGINE = f"django.contrib.sessions.backends.{SESSION_STORE}"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Reads (GET/HEAD) reuse the user found for the same session this long, per process (accounts/memo.py);
# changes always look again. 0 turns it off (bench/bench_memo.py measures what it saves).
AUTH_MEMO_SECONDS = env_int("AUTH_MEMO_SECONDS", 10)
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
LOGIN_FAILURE_ADDRESS_LIMIT = env_int("LOGIN_FAILURE_ADDRESS_LIMIT", 50)
LOGIN_DELAY_MAX_SECONDS = env_int("LOGIN_DELAY_MAX_SECONDS", 300)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Served over HTTPS (a proxy that sets X-Forwarded-Proto), cookies are secure and HTTP-only. Whether a request
# came over HTTPS is gunicorn's answer (wsgi.url_scheme), which believes X-Forwarded-Proto only from the
# addresses in --forwarded-allow-ips (TRUSTED_PROXIES): Django's SECURE_PROXY_SSL_HEADER would believe it from
# anyone, so it is not set.
# TRUSTED_PROXIES: the proxies in front of the console (addresses or networks); X-Forwarded-For is read only
# from them (accounts/throttle.py), and gunicorn is given the same list.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network") from None
HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "incident-console@localhost")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds; Django's default waits on a silent SMTP server forever

# --- Paging (incidents/paging.py, incidents/notify.py) ----------------------------------------------
ESCALATION_TICK_SECONDS = env_int("ESCALATION_TICK_SECONDS", 5)
PAGE_ACK_LINK_MAX_AGE = env_int("PAGE_ACK_LINK_MAX_AGE", 24 * 3600)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5)
NOTIFY_BACKOFF_SECONDS = env_int("NOTIFY_BACKOFF_SECONDS", 5)
NOTIFY_BACKOFF_CAP_SECONDS = env_int("NOTIFY_BACKOFF_CAP_SECONDS", 300)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5)
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", False)

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: messages are files under var/broker (make run's default).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "messages"),
        "data_folder_out": str(CELERY_BROKER_DIR / "messages"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 5}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "incidents.tasks.run_command": {"queue": "commands"},
    "incidents.tasks.deliver_pages": {"queue": "notifications"},
    "incidents.tasks.send_email": {"queue": "notifications"},
    "incidents.reminders.send_action_reminder": {"queue": "notifications"},
    "runbooks.tasks.run_import": {"queue": "default"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE = {
    "audit-lost-command-runs": {"task": "incidents.tasks.audit_lost_runs", "schedule": 30.0},
    "escalation-tick": {"task": "incidents.tasks.escalation_tick", "schedule": float(ESCALATION_TICK_SECONDS),
                        "options": {"expires": float(ESCALATION_TICK_SECONDS)}},
    "remind-action-items": {"task": "incidents.reminders.remind_action_items", "schedule": 900.0},
}
COMMAND_HEARTBEAT_TIMEOUT_SECONDS = env_int("COMMAND_HEARTBEAT_TIMEOUT_SECONDS", 60)
ACTION_REMINDER_DAYS_BEFORE = env_int("ACTION_REMINDER_DAYS_BEFORE", 2)  # owners reminded this many days ahead

# --- alerts in and the REST API (api/) ---------------------------------------------------------------
# The address people and senders reach the console at: printed webhook URLs (create_integration) use it.
CONSOLE_URL = env_str("CONSOLE_URL", "http://127.0.0.1:8000")
# Requests per minute per token, counted in the shared cache (CACHE_URL; per process without it). 0: no limit.
ALERTS_RATE_LIMIT_PER_MINUTE = env_int("ALERTS_RATE_LIMIT_PER_MINUTE", 600)
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 600)
# Who runbook commands run as (incidents/execution/isolation.py): an unprivileged user the commands worker,
# running as root, starts each command as; without one (or a worker that cannot switch), commands are refused
# unless COMMAND_ALLOW_SAME_USER accepts that they can read the worker's environment and files.
COMMAND_RUN_USER = env_str("COMMAND_RUN_USER")
COMMAND_ALLOW_SAME_USER = env_bool("COMMAND_ALLOW_SAME_USER", False)
COMMAND_SANDBOX = env_str("COMMAND_SANDBOX", "auto")
if COMMAND_SANDBOX not in {"auto", "on", "off"}:
    raise ImproperlyConfigured(f"COMMAND_SANDBOX={COMMAND_SANDBOX!r} must be auto, on or off")

# Runbook imports: what one document may hold, and when storing moves to a background task.
IMPORT_MAX_RUNBOOKS = env_int("IMPORT_MAX_RUNBOOKS", 5000)
IMPORT_MAX_STEPS = env_int("IMPORT_MAX_STEPS", 50000)
IMPORT_BACKGROUND_STEPS = env_int("IMPORT_BACKGROUND_STEPS", 2000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request's URL at INFO: a chat webhook's path is its credential, so not below WARNING.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
