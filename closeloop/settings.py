"""Closeloop settings. Everything that differs between machines comes from the environment
(see `.env.example`)."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

from closeloop.env import env_bool, env_int, env_list, env_str, load_dotenv

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
load_dotenv(PROJECT_DIR / ".env")
VAR_DIR = Path(env_str("CLOSELOOP_VAR_DIR", str(PROJECT_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# Demo mode: the demo logins work and a development secret key is allowed. `make run` also
# leaves a marker beside its SQLite database, so the README's `closeloop …` commands work in a
# second terminal with no variable set; the marker counts only for that default SQLite
# database (no DATABASE_URL) and CLOSELOOP_DEMO=0 overrides it, so production still refuses
# to start without a SECRET_KEY.
DEMO_MARKER = VAR_DIR / "demo-mode"
DEMO_MODE = env_bool(
    "CLOSELOOP_DEMO",
    not env_str("DATABASE_URL", "") and DEMO_MARKER.is_file() and not env_str("SECRET_KEY", ""),
)

_dev_secret = "closeloop-insecure-development-key-change-me-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY", _dev_secret if (DEBUG or DEMO_MODE) else None)
DEMO_PASSWORD = "closeloop-demo"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if (DEBUG or DEMO_MODE) else "")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "axes",
    "csp",
    "closeloop.core",
    "closeloop.orgs",
    "closeloop.notify",
    "closeloop.imsignin",
    "closeloop.tasks",
    "closeloop.planning",
    "closeloop.tracking",
    "closeloop.collab",
    "closeloop.review",
    "closeloop.insights",
    "closeloop.sheets",
    "closeloop.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "closeloop.core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the person, their department scopes and the bell's count in one query.
    "closeloop.orgs.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "closeloop.core.middleware.UserTimezoneMiddleware",
    "closeloop.core.middleware.NotFoundMiddleware",
    "closeloop.core.middleware.FormAddressMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its "try again later" page.
    "axes.middleware.AxesMiddleware",
]

# Inputs, textareas and selects built in Python, the same HTML as Django's templates (issue 16).
FORM_RENDERER = "closeloop.core.forms_renderer.FastRenderer"

ROOT_URLCONF = "closeloop.urls"
WSGI_APPLICATION = "closeloop.wsgi.application"

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
                "django.template.context_processors.i18n",
                "closeloop.core.context_processors.site",
                "closeloop.core.context_processors.csp_nonce",
            ],
        },
    },
]

# SQLite is the embedded default; PostgreSQL via DATABASE_URL for production.
_default_sqlite = f"sqlite:///{VAR_DIR / 'closeloop.sqlite3'}"
# Persistent connections: opening one costs more than a whole request (SQLite parses the
# schema and runs the PRAGMAs below on every new connection).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _default_sqlite), conn_max_age=env_int("DB_CONN_MAX_AGE", 600)
    )
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Served processes (closeloop.wsgi) freeze their long-lived objects out of Python's full
# collections after this many requests (core/gcfreeze.py); 0 = never.
GC_FREEZE_AFTER = env_int("GC_FREEZE_AFTER", 20)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN,
        # so two writers wait for each other instead of failing with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=20000;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA cache_size=-32000;"
        ),
    }
    # A file test database, so the PRAGMAs above are the ones the suite runs with.
    # CLOSELOOP_TEST_TAG keeps parallel runs on one machine apart.
    _tag = env_str("CLOSELOOP_TEST_TAG", "")
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_closeloop{_tag}.sqlite3")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with the connection health check (CONN_HEALTH_CHECKS) made without a
    # SELECT 1 round trip when the connection is plainly healthy (closeloop.core.pgfast).
    DATABASES["default"]["ENGINE"] = "closeloop.core.postgresql"
    if env_bool("DB_PREPARED_STATEMENTS", True):
        # The few statements every request runs (the session, the person, the API's task) are
        # prepared once per connection (`core.pgfast.cursor`, issue 16): planning them cost
        # more than running them. Only those: Django's own cursors bind on the client, which
        # never prepares. DB_PREPARED_STATEMENTS=0 behind a pooler that cannot keep
        # prepared statements (PgBouncer before 1.21 in transaction mode).
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
    # No parallel workers per query by default: the app's statements read index ranges of a few
    # thousand rows, where the two workers PostgreSQL starts for a misjudged estimate cost more
    # than they save and take the cores other requests are served on (bench s5, a specialist's
    # 仪表盘: the owned-elsewhere count 12.2 → 2.9 ms). DB_PARALLEL_WORKERS=N allows N; empty
    # leaves the server's setting (a pooler that refuses the `options` startup parameter).
    _parallel = env_str("DB_PARALLEL_WORKERS", "0").strip()
    if _parallel:
        if not (_parallel.isascii() and _parallel.isdigit()):
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f"DB_PARALLEL_WORKERS must be a whole number or empty, not {_parallel!r}"
            )
        DATABASES["default"]["OPTIONS"].setdefault(
            "options", f"-c max_parallel_workers_per_gather={_parallel}"
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins (issue 11, item 4): django-axes counts them per account and per address
# separately; after 10 in a row either is paused for AXES_COOLOFF_MINUTES with a clear page
# (registration/locked_out.html, HTTP 429). A successful login clears the account's count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "closeloop.core.middleware.client_ip"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tasks:home"
LOGOUT_REDIRECT_URL = "login"
# "Remember me" keeps the session 30 days; otherwise it ends with the browser.
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
# Django's database sessions, read with one prepared statement instead of the ORM (issue 16).
SESSION_ENGINE = "closeloop.core.sessions"
REMEMBER_ME_AGE = SESSION_COOKIE_AGE

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env_str("MEDIA_ROOT", str(VAR_DIR / "media"))
# Deliverables (review): stored through STORAGES["review"] when set, else "default" (the local
# folder MEDIA_ROOT). MEDIA_STORAGE=s3 puts them in an S3-compatible bucket (AWS S3, MinIO,
# Ceph RGW, Aliyun OSS / Tencent COS in S3 mode) through django-storages' S3Storage; the
# bucket stays private: files are never served from MEDIA_URL or a bucket URL, only streamed
# through review's authorized download view. `closeloop check --deploy` tries the bucket.
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "local").strip().lower() or "local"
if MEDIA_STORAGE == "s3":
    if not env_str("AWS_STORAGE_BUCKET_NAME", "").strip():
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (the bucket's name).")
    STORAGES["review"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME").strip(),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,  # e.g. http://minio:9000
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            # Empty keys: boto3's own chain (instance role, ~/.aws) supplies them.
            "access_key": env_str("AWS_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("AWS_LOCATION", "closeloop").strip("/"),
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "") or None,  # "path" for MinIO
            "signature_version": "s3v4",
            "default_acl": None,  # the bucket's own (private) policy; no public-read objects
            "querystring_auth": True,
            "file_overwrite": False,  # two "报表.pdf" get two keys
            "max_memory_size": 2 * 1024 * 1024,  # a download above 2 MB spools to disk
        },
    }
elif MEDIA_STORAGE != "local":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"MEDIA_STORAGE={MEDIA_STORAGE!r}: use 'local' (MEDIA_ROOT) or 's3'.")
REVIEW_UPLOAD_MAX_BYTES = env_int("REVIEW_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
REVIEW_UPLOAD_MAX_FILES = 10
REVIEW_UPLOAD_EXTENSIONS = env_list(
    "REVIEW_UPLOAD_EXTENSIONS",
    "pdf,doc,docx,xls,xlsx,ppt,pptx,csv,txt,md,png,jpg,jpeg,gif,webp,zip,html,htm,svg",
)
# Uploads above this stay on disk while they are checked, not in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Static files are served by the app itself (an intranet needs no separate file server);
# `collectstatic` is optional, the app directories are read at start-up.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "closeloop@localhost")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not (DEBUG or DEMO_MODE))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (issue 11, item 5; django-csp). Scripts and <style> only from here
# or with this response's nonce; style="" attributes stay allowed (layout only, they run
# nothing). IM in-app browsers (WeCom, DingTalk, Feishu) open pages top-level, so nobody may
# frame them unless FRAME_ANCESTORS lists a workbench origin (e.g. https://*.feishu.cn).
FRAME_ANCESTORS = env_list("FRAME_ANCESTORS", "")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": FRAME_ANCESTORS or [NONE],
    }
}
if FRAME_ANCESTORS:
    X_FRAME_OPTIONS = "SAMEORIGIN"  # CSP frame-ancestors decides in every current browser
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # task_dept_path INCLUDEs the id on PostgreSQL only (tasks 0013); SQLite's index holds the
    # rowid, which is the id, so the non-key column is not needed there.
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "models.W040"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes logs every successful login at INFO ("Deleted 0 failed login attempts"); lockouts are WARNING.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# Worker tuning.
WORKER_POLL_SECONDS = float(env_str("WORKER_POLL_SECONDS", "1.0"))
WORKER_LEASE_SECONDS = env_int("WORKER_LEASE_SECONDS", 300)

# Lists
PAGE_SIZE = env_int("PAGE_SIZE", 30)

# Spreadsheet import (closeloop.sheets): the largest file taken, and the largest total an
# .xlsx (a zip) may unpack to — a small file that unpacks to gigabytes is a zip bomb.
SHEETS_MAX_UPLOAD_BYTES = env_int("SHEETS_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
SHEETS_MAX_UNPACKED_BYTES = env_int("SHEETS_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)
# Where an upload waits between preview and confirm (empty: the system's temp folder).
SHEETS_UPLOAD_DIR = env_str("SHEETS_UPLOAD_DIR", "")

# Notifications (closeloop.notify) ---------------------------------------------------------
# Hosts or CIDRs on an intranet that notifications may reach although they are private
# (comma-separated); empty by default, so only public addresses are reachable.
NOTIFY_ALLOWLIST = env_list("NOTIFY_ALLOWLIST", "")
# Outbound HTTP proxy for IM platforms and webhooks, e.g. http://proxy.intra:3128; off by default.
NOTIFY_PROXY = env_str("NOTIFY_PROXY", "")
# Tests only: lets notifications reach 127.0.0.1 / ::1 (local fake receivers).
NOTIFY_ALLOW_LOOPBACK = env_bool("NOTIFY_ALLOW_LOOPBACK", False)
NOTIFY_HTTP_TIMEOUT = float(env_str("NOTIFY_HTTP_TIMEOUT", "10"))
NOTIFY_LEASE_SECONDS = env_int("NOTIFY_LEASE_SECONDS", 120)
NOTIFY_BACKOFF_BASE = env_int("NOTIFY_BACKOFF_BASE", 30)
NOTIFY_BACKOFF_MAX = env_int("NOTIFY_BACKOFF_MAX", 3600)
NOTIFY_GIVE_UP_AFTER = env_int("NOTIFY_GIVE_UP_AFTER", 3 * 86400)
NOTIFY_KEEP_DAYS = env_int("NOTIFY_KEEP_DAYS", 90)
# Messages kept per disabled channel until it is enabled again; the oldest beyond go.
NOTIFY_HOLD_MAX = env_int("NOTIFY_HOLD_MAX", 1000)
NOTIFY_TOKEN_REFRESH_MARGIN = env_int("NOTIFY_TOKEN_REFRESH_MARGIN", 300)
# Base URLs of the IM apps' APIs (tests point them at local fake servers).
NOTIFY_WECOM_API_BASE = env_str("NOTIFY_WECOM_API_BASE", "https://qyapi.weixin.qq.com")
NOTIFY_DINGTALK_API_BASE = env_str("NOTIFY_DINGTALK_API_BASE", "https://oapi.dingtalk.com")
NOTIFY_FEISHU_API_BASE = env_str("NOTIFY_FEISHU_API_BASE", "https://open.feishu.cn")
# Parallel sends per worker batch (webhooks, robots, email; IM apps send one by one).
# Sign-in from inside WeCom / DingTalk / Feishu (closeloop.imsignin). The platform API bases
# above are shared; these are the browser-facing login hosts. Tests point all at local fakes.
LOGIN_EXTENSIONS = ["closeloop.imsignin.login.extension"]
IMSIGNIN_WECOM_OPEN_BASE = env_str("IMSIGNIN_WECOM_OPEN_BASE", "https://open.weixin.qq.com")
IMSIGNIN_WECOM_LOGIN_BASE = env_str("IMSIGNIN_WECOM_LOGIN_BASE", "https://login.work.weixin.qq.com")
IMSIGNIN_DINGTALK_LOGIN_BASE = env_str("IMSIGNIN_DINGTALK_LOGIN_BASE", "https://login.dingtalk.com")
IMSIGNIN_DINGTALK_API_BASE = env_str("IMSIGNIN_DINGTALK_API_BASE", "https://api.dingtalk.com")
IMSIGNIN_FEISHU_ACCOUNTS_BASE = env_str("IMSIGNIN_FEISHU_ACCOUNTS_BASE", "https://accounts.feishu.cn")
IMSIGNIN_STATE_SECONDS = env_int("IMSIGNIN_STATE_SECONDS", 600)
IMSIGNIN_CODE_KEEP_SECONDS = env_int("IMSIGNIN_CODE_KEEP_SECONDS", 86400)

NOTIFY_SEND_CONCURRENCY = env_int("NOTIFY_SEND_CONCURRENCY", 8)
