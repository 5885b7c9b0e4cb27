"""One settings module, read from the environment.

With nothing set it runs on an SQLite file and an in-process cache, so a newcomer needs no
servers; `DATABASE_URL` selects PostgreSQL and `REDIS_URL` a shared cache.
"""

from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from crm.lib import logs

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
# Required, never in the repository: bin/run and bin/test write a random one to .env.
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "setup.admin_site.CrmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # OpClass in index expressions (the search's trigram indexes, PostgreSQL only); on SQLite
    # it does nothing.
    "django.contrib.postgres",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "crm.teams",
    "crm.notifications",
    "crm.deadlines",
    "crm.health",
    "axes",
    "csp",
    "leads",
    "telephony",
    "deals",
    "handoff",
    "reports",
    "setup",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "leads.intake_view.IntakeShortcutMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "crm.lib.no_store.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.refusals.RefusalPagesMiddleware",
    "crm.teams.middleware.TeamTimeZoneMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

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
                "crm.teams.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when the transaction starts (IMMEDIATE) and readers do not block
    # writers (WAL): without both, concurrent claims fail with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so tests with threads share one database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
    # The deal board's covering indexes (INCLUDE) are plain indexes on SQLite: still right,
    # only PostgreSQL reads them index-only. Not worth a warning on every command.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

# A PostgreSQL streaming replica of the primary, for reports and exports only (crm/replica.py):
# they read the primary whenever it is down or more than REPLICA_MAX_LAG_SECONDS behind.
REPLICA_DATABASE_URL = env.str("REPLICA_DATABASE_URL", default="")
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
if REPLICA_DATABASE_URL:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        raise ImproperlyConfigured("REPLICA_DATABASE_URL: the primary must be PostgreSQL too")
    DATABASES["replica"] = env.db("REPLICA_DATABASE_URL")
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    # A replica that does not answer costs a report two seconds, then is left alone a while.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Test databases: the replica's alias is the test primary's (there is no test replica).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["crm.replica.Router"]

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Login throttling: five failures for a username from an address lock it for 15 minutes.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Behind a TLS-terminating proxy in production: HTTPS=true turns on secure cookies, HSTS and
# the redirect (manage.py check --deploy is then clean).
HTTPS = env.bool("HTTPS", default=False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probed over plain HTTP inside the network
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and connections only from this site, no
# inline code, so an injected <script> or style does not run. htmx needs no eval for what the
# pages use (base.html turns its eval and injected indicator styles off); charts are SVG
# attributes, not style attributes; the API docs use drf-spectacular's split view (its
# initialiser is a separate script). Fonts and images: this site and data: URIs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The default language: e-mails and webhooks are written in it; pages follow the browser.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# The server's clock zone; each team shows and counts time in its own zone.
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Moscow")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    # Token first: an unauthenticated call then gets 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON nested too deep or holding a lone surrogate is a 400 (crm/lib/json_input.py)
    "DEFAULT_PARSER_CLASSES": [
        "crm.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crm.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lead qualification CRM API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for the team's own integrators: a login or a token, like
    # the rest of the API.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Not "`busy` - busy": crm/api_schema.py writes what each value means.
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    # Order matters: drf-spectacular's enum hook rebuilds the components from its registry,
    # dropping any added before it, so the hooks that add or describe components run after it.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # What every enum value means (crm/api_schema.py), by the names given below.
        "crm.api_schema.describe_enums",
        # The intake is a plain Django view; its contract is added to the schema here.
        "leads.intake_schema.add_intake",
    ],
    # Stable names for the enums integrators read (and crm/api_schema.py describes).
    "ENUM_NAME_OVERRIDES": {
        "LeadStateEnum": "leads.models.Lead.State",
        "TemperatureEnum": "leads.models.Lead.Temperature",
        "VerdictEnum": "leads.models.Verdict",
        "AnswerOriginEnum": "leads.models.Answer.Origin",
        "CriterionKindEnum": "leads.models.Criterion.Kind",
        "ChannelEnum": "leads.models.LeadSource.Channel",
        "AttemptOutcomeEnum": "leads.models.ContactAttempt.Outcome",
        "DealStageEnum": "deals.models.Deal.Stage",
        "DisputeOutcomeEnum": "handoff.models.Dispute.Outcome",
        "PointKindEnum": "leads.channels.Label",
        "ExportStateEnum": "leads.models.ExportJob.State",
        "CallSourceEnum": "reports.calls.SOURCE_CHOICES",
    },
}

# The queue's CSV export: a list of up to EXPORT_STREAM_MAX_ROWS leads is streamed at once (a
# second or two); a longer one is written by a worker (an ExportJob) and downloaded when done.
EXPORT_STREAM_MAX_ROWS = env.int("EXPORT_STREAM_MAX_ROWS", default=20_000)
# Days an export's file is kept; beat deletes older ones (leads.tasks.sweep_exports).
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7)
# Uploaded and generated files (exports): private, served only through views that check who
# asks, never as static files. Web and worker must share this folder.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# Call recordings (telephony/recordings.py): kept this many days after they were fetched, then
# beat deletes the file (the call stays, marked as such). Bigger files than this are refused.
RECORDING_KEEP_DAYS = env.int("RECORDING_KEEP_DAYS", default=365)
RECORDING_MAX_BYTES = env.int("RECORDING_MAX_BYTES", default=200 * 1024 * 1024)
# Where recordings are kept: a private folder under MEDIA_ROOT (served only by the app's view),
# or, with RECORDINGS_STORAGE=s3, a private bucket on any S3-compatible store (MinIO, Yandex
# Object Storage, AWS) through django-storages, which is then to be installed (README).
RECORDINGS_STORAGE = env.str("RECORDINGS_STORAGE", default="file")
if RECORDINGS_STORAGE == "s3":
    STORAGES["recordings"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("RECORDINGS_S3_BUCKET"),
            "endpoint_url": env.str("RECORDINGS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("RECORDINGS_S3_REGION", default=None),
            "access_key": env.str("RECORDINGS_S3_ACCESS_KEY"),
            "secret_key": env.str("RECORDINGS_S3_SECRET_KEY"),
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
elif RECORDINGS_STORAGE == "file":
    STORAGES["recordings"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": Path(str(MEDIA_ROOT)) / "recordings"},
    }
else:
    raise ImproperlyConfigured("RECORDINGS_STORAGE: file or s3")

# Web forms send a few hundred bytes; anything far bigger is not a lead.
INTAKE_MAX_BODY_BYTES = 64 * 1024

PHONE_REGION = env.str("PHONE_REGION", default="RU")

# E-mail. Django's console backend prints whole messages — recipient, the customer's name —
# into the worker's log: the default under DEBUG only, and refused without it. Otherwise the
# default sends nothing and logs only that a notification's e-mail was not sent; production
# sets EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the EMAIL_* below.
CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=CONSOLE_EMAIL_BACKEND if DEBUG else "crm.lib.logs.LogOnlyEmailBackend",
)
if EMAIL_BACKEND == CONSOLE_EMAIL_BACKEND and not DEBUG:
    raise ImproperlyConfigured(
        "EMAIL_BACKEND: the console backend writes customers' data into the logs; "
        "it is for DEBUG=true only (use the SMTP backend)"
    )
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # a hung server must not hold a worker
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")
# Links in e-mails and webhooks point here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Celery: Redis when REDIS_URL is set; otherwise a broker in an SQLite file, so a newcomer
# runs a real worker and beat with no server at all.
CELERY_BROKER_URL = REDIS_URL or f"sqla+sqlite:///{BASE_DIR / 'celery-broker.sqlite3'}"
# Deployments (or test runs) sharing one Redis keep apart by queue name.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="crm")
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
SLA_SWEEP_SECONDS = env.float("SLA_SWEEP_SECONDS", default=30.0)
# How long a worker holds a delivery while sending; a killed worker's delivery is retried after.
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=60)
# The team report's roll-ups (reports/rollups.py): closed days built, marked days rebuilt.
ROLLUP_REFRESH_SECONDS = env.float("ROLLUP_REFRESH_SECONDS", default=300.0)
# Today's figures of the last-30-days reports, computed once for every reader
# (reports/today.py): a page's today is at most about this old, and says as of when.
TODAY_REFRESH_SECONDS = env.float("TODAY_REFRESH_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    # The one sweep over every kind of deadline (crm/deadlines).
    "deadline-sweep": {"task": "crm.deadlines.tasks.sweep", "schedule": SLA_SWEEP_SECONDS},
    "retry-deliveries": {
        "task": "crm.notifications.tasks.retry_deliveries",
        "schedule": SLA_SWEEP_SECONDS,
    },
    "sweep-exports": {"task": "leads.tasks.sweep_exports", "schedule": 600},
    "refresh-rollups": {
        "task": "reports.tasks.refresh_rollups",
        "schedule": ROLLUP_REFRESH_SECONDS,
    },
    "refresh-today": {"task": "reports.tasks.refresh_today", "schedule": TODAY_REFRESH_SECONDS},
    # Sales mailboxes (leads/mail_intake.py): a letter waits at most a minute to be a lead.
    "mail-poll": {"task": "leads.tasks.poll_mailboxes", "schedule": 60.0},
    "sweep-recordings": {"task": "telephony.tasks.sweep_recordings", "schedule": 3600.0},
}

# One JSON format and one redaction filter for every process: crm/lib/logs.py. Celery's worker
# and beat take this too (crm/celery.py) instead of their own handlers on the root logger.
LOGGING = logs.config(level=env.str("LOG_LEVEL", default="INFO"))
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
