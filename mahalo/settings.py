"""Mahalo Health settings.

Everything configurable comes from the environment (django-environ); every
variable read here is listed, with its default, in `.env.example`. Defaults
serve a laptop: SQLite under var/, eager Celery, console email, media in
var/media. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS,
EMAIL_URL, FIELD_ENCRYPTION_KEYS and DEBUG=false.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

from mahalo import queues

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-dev-key-change-me-" + "x" * 32)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "guardian",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "phonenumber_field",
    "simple_history",
    "csp",
    "mahalo",
    "patients",
    "messaging",
    "scheduling",
    "clinical",
    "wearables",
    "nutrition",
    "assessments",
    "care",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions: decides whether this request may read from a replica (issue 20).
    "mahalo.replicas.ReplicaPinMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "mahalo.middleware.RejectNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "mahalo.middleware.StaffIdleTimeoutMiddleware",
    "mahalo.middleware.StaffMFARequiredMiddleware",
    "mahalo.middleware.UserTimezoneMiddleware",
    "mahalo.middleware.ClosedRecordReadOnlyMiddleware",
    # Opening what a notification links to marks it seen (issue 21 item 7).
    "messaging.middleware.NotificationSeenMiddleware",
    # Axes last, as its docs require, so it sees the final response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mahalo.urls"
WSGI_APPLICATION = "mahalo.wsgi.application"

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
                "mahalo.context_processors.shell",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mahalo.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# --- Scale past one machine: replicas and PgBouncer (issue 20) ----------------------
# A streaming replica for reads (mahalo/replicas.py decides which reads may go there; without
# this URL the router is inert). Tests mirror it onto the test database.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {**env.db("DATABASE_REPLICA_URL"), "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
                            "CONN_HEALTH_CHECKS": True, "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["mahalo.replicas.ReplicaRouter"]
# After a write, that client's reads stay on the primary this long (longer than replica lag).
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=10)
# PgBouncer in transaction mode: a server-side cursor outside a transaction would outlive it on a
# server connection another client gets next. Streaming exports keep streaming through
# mahalo.db.iterate (a cursor inside one transaction).
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER == "pgbouncer":
    for _db in DATABASES.values():
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
# --- end issue 20 (databases) ------------------------------------------------------

# --- Cache and broker -----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Issue 20 fault 1 (Redis down or hung): the cache is never a dependency. Reads fall back to
    # the database, writes are best effort, every socket has a short timeout (mahalo/cache.py).
    CACHES = {"default": {
        "BACKEND": "mahalo.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.25),
                    "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.25)},
    }}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Empty values count as unset, so a copied .env.example behaves like no .env.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
# With no broker, tasks run in-process so a laptop needs nothing else running.
CELERY_TASK_ALWAYS_EAGER = (
    env.bool("CELERY_TASK_ALWAYS_EAGER") if env.str("CELERY_TASK_ALWAYS_EAGER", default="") else not CELERY_BROKER_URL
)
CELERY_TASK_EAGER_PROPAGATES = True
# Issue 20 fault 4 (broker down): publishing fails fast and never turns a committed write into
# an error. No result backend (tasks write rows; nothing reads a task's result, and a Redis result
# backend retried 20 x 1 s per publish), no publish retries, bounded connect and socket timeouts;
# mahalo.celery.SafeTask logs a failed publish and the row waits for its sweeper.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2, "max_retries": 0}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# --- Scale past one machine (issue 20; README "Production topology") ---------------
# Named queues, one worker pool each (Procfile), routed by task name in mahalo/queues.py.
CELERY_TASK_QUEUES = queues.task_queues()
CELERY_TASK_DEFAULT_QUEUE = queues.DEFAULT
CELERY_TASK_ROUTES = queues.task_routes()
# With acks_late, Redis hands an unacknowledged task to another worker after this long: longer
# than the longest task (an Apple Health file, a report), or it would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 3600)}
# Exactly one beat sends periodic tasks, however many run: a lease in Redis (mahalo/beat.py);
# the holder saves each entry's last run at once, so a beat taking over does not repeat it.
CELERY_BEAT_SCHEDULER = "mahalo.beat:SingleBeatScheduler"
CELERY_BEAT_SYNC_EVERY = 1
BEAT_LEASE_SECONDS = env.float("BEAT_LEASE_SECONDS", default=30.0)
# --- end issue 20 (Celery) ---------------------------------------------------------
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Periodic work (django-celery-beat copies these into its editable schedule).
CELERY_BEAT_SCHEDULE = {
    "reports-fhir-export-sweep": {"task": "reports.fhir_export_sweep", "schedule": 600.0},
    "patients-requeue-stalled-imports": {"task": "patients.requeue_stalled_imports", "schedule": 300.0},
    "messaging-sweep-outbox": {"task": "messaging.sweep_outbox", "schedule": 60.0},
    "scheduling-release-expired-holds": {"task": "scheduling.release_expired_holds", "schedule": 60.0},
    "scheduling-send-visit-reminders": {"task": "scheduling.send_visit_reminders", "schedule": 300.0},
    "scheduling-sweep-unanswered-calls": {"task": "scheduling.sweep_unanswered_calls", "schedule": 60.0},
    "wearables-schedule-syncs": {"task": "wearables.schedule_syncs", "schedule": 300.0},
    "wearables-sweep-stale-syncs": {"task": "wearables.sweep_stale_syncs", "schedule": 600.0},
    "wearables-sweep-webhook-events": {"task": "wearables.sweep_webhook_events", "schedule": 120.0},
    "wearables-sweep-apple-health-imports": {"task": "wearables.sweep_apple_health_imports", "schedule": 300.0},
    # 10:00 UTC: after midnight in Hawaii, before the US East Coast clinic day.
    "clinical-evaluate-all": {"task": "clinical.evaluate_all", "schedule": crontab(hour=10, minute=0)},
    "clinical-escalate-alerts": {"task": "clinical.escalate_alerts", "schedule": 300.0},
    "assessments-generate-due": {"task": "assessments.generate_due", "schedule": 300.0},
    "assessments-expire-and-remind": {"task": "assessments.expire_and_remind", "schedule": 300.0},
}

# --- Auth -----------------------------------------------------------------------
AUTH_USER_MODEL = "mahalo.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "mahalo.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Mahalo Health] "
# Axes locks a login for the failing address (below). On top, allauth throttles failed sign-ins per
# address whatever the login (issue 12 item 12: one address trying many logins, password spraying),
# with a limit well above axes' per-login one so axes still answers a single mistyped password first.
ACCOUNT_RATE_LIMITS = {"login_failed": env.str("WEB_LOGIN_FAILED_RATE", default="30/10m/ip")}

MFA_ADAPTER = "mahalo.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Mahalo Health"

# Staff must enrol MFA before they see any staff page (default: on unless DEBUG).
MAHALO_REQUIRE_STAFF_MFA = env.bool("MAHALO_REQUIRE_STAFF_MFA", default=not DEBUG)
# Staff sessions end after this many idle seconds.
MAHALO_STAFF_IDLE_TIMEOUT = env.int("MAHALO_STAFF_IDLE_TIMEOUT", default=15 * 60)
MAHALO_DEMO_PASSWORD = env.str("MAHALO_DEMO_PASSWORD", default="mahalo-demo")

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)  # hours
# Lock the account for the failing address only (issue 12): an attacker who guesses a login from
# their address locks it there, not for its owner elsewhere (no denial of service by username), and a
# clinic behind one NAT address is not locked out together because one person mistyped (W006 silenced).
# Per-address throttling on top: the "auth" throttle (API_AUTH_RATE per IP) on the token endpoint, and
# ACCOUNT_RATE_LIMITS["login_failed"] on the web sign-in.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_CALLABLE = "mahalo.audit.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "mahalo.audit.axes_lockout_response"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# Content Security Policy: everything is served from our own origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Email ----------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mahalo Health <no-reply@mahalo.health>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Issue 20 fault 5 (a hung SMTP server): every outbound call has a timeout, seconds per socket operation.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="US")
PHONENUMBER_DB_FORMAT = "E164"

# --- Notifications ---------------------------------------------------------------
# Web push (`manage.py vapid_keys` prints a key pair); empty: no push channel.
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="")
# Dotted path of an SMS provider class (e.g. messaging.delivery.ConsoleSmsProvider); empty: no SMS.
MAHALO_SMS_PROVIDER = env.str("MAHALO_SMS_PROVIDER", default="")
# Absolute base for links in emails, e.g. https://portal.example.org; empty: emails carry no links.
MAHALO_BASE_URL = env.str("MAHALO_BASE_URL", default="")

# --- Telehealth (scheduling/telehealth.py) ----------------------------------------------
# Jitsi is the no-key default; a self-hosted Jitsi with token auth sets APP_ID and APP_SECRET (JWT).
TELEHEALTH_JITSI_BASE_URL = env.str("TELEHEALTH_JITSI_BASE_URL", default="https://meet.jit.si")
TELEHEALTH_JITSI_APP_ID = env.str("TELEHEALTH_JITSI_APP_ID", default="")
TELEHEALTH_JITSI_APP_SECRET = env.str("TELEHEALTH_JITSI_APP_SECRET", default="")
# With a Daily API key, rooms are private Daily rooms made through its REST API.
DAILY_API_KEY = env.str("DAILY_API_KEY", default="")
DAILY_API_BASE = env.str("DAILY_API_BASE", default="https://api.daily.co/v1")
# Join links work from this many minutes before a visit until this many after it ends.
TELEHEALTH_JOIN_EARLY_MINUTES = env.int("TELEHEALTH_JOIN_EARLY_MINUTES", default=15)
TELEHEALTH_JOIN_LATE_MINUTES = env.int("TELEHEALTH_JOIN_LATE_MINUTES", default=30)
# Calls from a thread: an unanswered ring becomes "missed" after this (program setting
# telehealth_ring_timeout_seconds overrides); a room lasts at most this long.
TELEHEALTH_RING_TIMEOUT_SECONDS = env.int("TELEHEALTH_RING_TIMEOUT_SECONDS", default=60)
TELEHEALTH_CALL_MAX_MINUTES = env.int("TELEHEALTH_CALL_MAX_MINUTES", default=120)

# --- I18N / time ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production runs `collectstatic` and sets STATIC_MANIFEST=true for hashed,
    # cache-forever file names; without it files are served by name (dev, tests).
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# S3-compatible object storage for uploads (attachments, imports) when S3_BUCKET is
# set; objects stay private and are only ever served through permission-checked views.
if env.str("S3_BUCKET", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("S3_PREFIX", default=""),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Secrets at rest (OAuth tokens...): comma-separated Fernet keys, newest first.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- Wearables ------------------------------------------------------------------
# Each provider reads WEARABLES_<PROVIDER>_{API_BASE,AUTHORIZE_URL,TOKEN_URL,CLIENT_ID,CLIENT_SECRET};
# the URLs default to the providers' real ones, so only the credentials must be set.
_WEARABLE_URLS = {
    "WHOOP": ("https://api.prod.whoop.com/developer", "https://api.prod.whoop.com/oauth/oauth2/auth",
              "https://api.prod.whoop.com/oauth/oauth2/token"),
    "OURA": ("https://api.ouraring.com", "https://cloud.ouraring.com/oauth/authorize",
             "https://api.ouraring.com/oauth/token"),
    "WITHINGS": ("https://wbsapi.withings.net", "https://account.withings.com/oauth2_user/authorize2",
                 "https://wbsapi.withings.net/v2/oauth2"),
    "GARMIN": ("https://apis.garmin.com", "https://connect.garmin.com/oauth2Confirm",
               "https://diauth.garmin.com/di-oauth2-service/oauth/token"),
    "GOOGLE_HEALTH": ("https://health.googleapis.com/v4", "https://accounts.google.com/o/oauth2/v2/auth",
                      "https://oauth2.googleapis.com/token"),
    "POLAR": ("https://www.polaraccesslink.com", "https://flow.polar.com/oauth2/authorization",
              "https://polarremote.com/v2/oauth2/token"),
    "STRAVA": ("https://www.strava.com/api/v3", "https://www.strava.com/oauth/authorize",
               "https://www.strava.com/oauth/token"),
}
for _name, (_api, _authorize, _token) in _WEARABLE_URLS.items():
    vars()[f"WEARABLES_{_name}_API_BASE"] = env.str(f"WEARABLES_{_name}_API_BASE", default="") or _api
    vars()[f"WEARABLES_{_name}_AUTHORIZE_URL"] = env.str(f"WEARABLES_{_name}_AUTHORIZE_URL", default="") or _authorize
    vars()[f"WEARABLES_{_name}_TOKEN_URL"] = env.str(f"WEARABLES_{_name}_TOKEN_URL", default="") or _token
    vars()[f"WEARABLES_{_name}_CLIENT_ID"] = env.str(f"WEARABLES_{_name}_CLIENT_ID", default="")
    vars()[f"WEARABLES_{_name}_CLIENT_SECRET"] = env.str(f"WEARABLES_{_name}_CLIENT_SECRET", default="")
# Shared secret Garmin push requests are signed with (HMAC-SHA256 of the body); empty: pushes refused.
WEARABLES_GARMIN_WEBHOOK_SECRET = env.str("WEARABLES_GARMIN_WEBHOOK_SECRET", default="")
# Sync engine: how often each connection syncs, how far back it re-reads, how far back a new one starts.
WEARABLES_SYNC_INTERVAL_MINUTES = env.int("WEARABLES_SYNC_INTERVAL_MINUTES", default=60)
WEARABLES_SYNC_OVERLAP_HOURS = env.int("WEARABLES_SYNC_OVERLAP_HOURS", default=48)
WEARABLES_INITIAL_BACKFILL_DAYS = env.int("WEARABLES_INITIAL_BACKFILL_DAYS", default=30)
# A sync holds its connection this long at most; a killed worker's run is retried after it.
WEARABLES_LEASE_MINUTES = env.int("WEARABLES_LEASE_MINUTES", default=30)
WEARABLES_HTTP_TIMEOUT = env.float("WEARABLES_HTTP_TIMEOUT", default=20.0)
# Attempts per request (5xx, timeouts, 429) and the first backoff in seconds (doubles each time).
WEARABLES_MAX_ATTEMPTS = env.int("WEARABLES_MAX_ATTEMPTS", default=5)
WEARABLES_BACKOFF_BASE = env.float("WEARABLES_BACKOFF_BASE", default=1.0)
# Longest Retry-After honoured inline; longer ones end the run and the next starts after it.
WEARABLES_MAX_INLINE_WAIT = env.float("WEARABLES_MAX_INLINE_WAIT", default=60.0)
# Apple Health uploads (export.zip / export.xml), in megabytes.
WEARABLES_APPLE_HEALTH_MAX_MB = env.int("WEARABLES_APPLE_HEALTH_MAX_MB", default=2048)

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Bearer first, so an unauthenticated API call answers 401 with WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mahalo.credentials.StampedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # RecordOpen: an archived patient reads but writes nothing (issue 12 item 10).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "mahalo.api_permissions.RecordOpen"],
    # JSON bounded in size and nesting before it is parsed (mahalo/safejson.py); forms and uploads as usual.
    "DEFAULT_PARSER_CLASSES": [
        "mahalo.safejson.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "mahalo.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": env.str("API_AUTH_RATE", default="30/min")},
}
API_JSON_MAX_BYTES = env.int("API_JSON_MAX_BYTES", default=1024 * 1024)
# Mobile app tokens: short-lived access, rotating refresh (mahalo/api_auth.py).
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("API_ACCESS_TOKEN_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("API_REFRESH_TOKEN_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mahalo Health API",
    "DESCRIPTION": "Patients, observations and care data, behind the same access gate as the portal.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # One schema name per choice set where several apps share a field name.
    "ENUM_NAME_OVERRIDES": {
        "VisitStatusEnum": "scheduling.models.Visit.Status",
        "VisitRequestStatusEnum": "scheduling.models.VisitRequest.Status",
        "VisitArrivalEnum": "scheduling.models.Arrival",
        "VisitSeverityEnum": "scheduling.models.Severity",
        "AlertSeverityEnum": "clinical.models.Severity",  # alerts and rules share it
    },
}

# --- Logging --------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request URL at INFO; provider callback URLs can carry tokens.
    "loggers": {"axes": {"level": "WARNING"}, "httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
