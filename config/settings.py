"""All settings of the service, read from the environment in this one place.

Every variable is listed with its meaning in `.env.example` and in docs/configuration.md.
Defaults are chosen so that `make run` works on a fresh clone: SQLite in the project folder and the
provider emulators on loopback.
"""

import ipaddress
import logging
import os
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class CheckedEnv(environ.Env):
    """django-environ's reader, which notes a value it cannot read (a word where a number
    goes, JSON that does not parse) under the variable's name and goes on with the default:
    the system checks then refuse the start naming every such variable (payments.E009),
    where an exception here would be a traceback naming none."""

    def __init__(self) -> None:
        super().__init__()
        self.unreadable: list[str] = []

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            if default is environ.Env.NOTSET:
                raise
            self.unreadable.append(f"{var}={self.ENVIRON.get(var, '')!r}: {exc}")
            return default


env = CheckedEnv()
# The environment wins over the file. ENV_FILE names the file a deployment keeps elsewhere
# (/etc/payments/production.env, the one systemd gives the service), so that a command run
# by hand reads the same settings: `ENV_FILE=/etc/payments/production.env manage.py ...`.
ENV_FILE = os.environ.get("ENV_FILE", "")
if ENV_FILE and not Path(ENV_FILE).is_file():
    raise ImproperlyConfigured(f"ENV_FILE={ENV_FILE} is not a file")
environ.Env.read_env(ENV_FILE or BASE_DIR / ".env", overwrite=False)
# `make run` leaves the environment it gave its service (its database, the emulators'
# addresses and keys) in this file, written anew at every start; manage.py names it. A
# command run by hand in that checkout, naming no database and no ENV_FILE of its own,
# acts on that service's database as the service does (docs/operations.md's commands).
LOCAL_RUN_ENV = os.environ.get("LOCAL_RUN_ENV", "")
if not ENV_FILE and "DATABASE_URL" not in os.environ and Path(LOCAL_RUN_ENV or "-").is_file():
    environ.Env.read_env(LOCAL_RUN_ENV, overwrite=False)

# --- Django core -----------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
INSECURE_SECRET_KEY = "insecure-local-only-key-change-me-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# With DEBUG off the service refuses to start on the insecure key, an emulator's key or a
# provider URL on loopback (payments/checks.py) unless this says it is a test deployment
# (`make run`, the tests, a staging box against the emulators).
ALLOW_TEST_DEPLOYMENT = env.bool("ALLOW_TEST_DEPLOYMENT", default=False)

# --- HTTPS and cookies (all off by default for the local demo on plain HTTP; the
# production template in deploy/ turns them on) -----------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind nginx, which terminates TLS and says so in X-Forwarded-Proto.
if env.bool("SECURE_PROXY_SSL", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# An operator's session: a shift, not two weeks.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)

DEFAULT_DATABASE_URL = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
# What this service runs on: SQLite (embedded) and PostgreSQL (production).
KNOWN_DATABASES = ("django.db.backends.sqlite3", "django.db.backends.postgresql")
try:
    DATABASES = {"default": env.db("DATABASE_URL", default=DEFAULT_DATABASE_URL)}
except (ImproperlyConfigured, ValueError, KeyError):  # a scheme django-environ does not know
    DATABASES = {"default": {}}
if DATABASES["default"].get("ENGINE") not in KNOWN_DATABASES:
    env.unreadable.append(
        f"DATABASE_URL={os.environ.get('DATABASE_URL', '')!r}: not a sqlite:// or postgres:// URL"
    )
    # Only so that the checks can run and name it: nothing starts on it (payments.E009).
    DATABASES = {"default": env.db_url_config(DEFAULT_DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn threads and processes write at once. A transaction takes the write
    # lock when it begins (IMMEDIATE): one that began reading and then wanted to write would
    # fail at once with "database is locked" instead of waiting. WAL lets readers go on
    # while one writes; the busy timeout is how long a writer waits for its turn.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("timeout", 20)
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The server binds the parameters, and a statement a connection has run a few times is
    # prepared on it: PostgreSQL parses and plans each of a charge's statements once per
    # connection instead of on every charge (a third of its CPU per charge). A pooler in
    # transaction mode cannot keep prepared statements: DATABASE_PREPARE_THRESHOLD=0 there.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("server_side_binding", True)
    threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    options.setdefault("prepare_threshold", threshold if threshold > 0 else None)
# Provider calls must be journaled even when the request fails later, so no request-wide
# transaction: each change to a payment takes its own short transaction.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A connection lives across requests: each gunicorn thread keeps its own, so an instance
# holds up to workers x threads of them (PostgreSQL's max_connections must exceed that
# over all instances, plus the commands). A new PostgreSQL backend per request was a third
# of a charge's own time. It is checked before each request's first query, so one that
# died while idle (a restart, a failover) is replaced instead of failing that request; a
# register's key lookup is that check itself (payments/services/reconnect.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "payments",
]

MIDDLEWARE = [
    "payments.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known: an operator's own language; English off the back office.
    "payments.admin.language.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

# The back office's login: after AXES_FAILURE_LIMIT wrong passwords for one user name from
# one address, that pair is locked out for AXES_COOLOFF_HOURS (django-axes, which keeps the
# attempts in the database, so every gunicorn process sees them).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The caller's address as registers are judged by it: X-Forwarded-For only from a proxy in
# TRUSTED_PROXIES.
AXES_CLIENT_IP_CALLABLE = "payments.api.authentication.client_ip"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# Registers POST to both `/payment/click` and `/payment/click/`; a redirect would lose the
# body, so both forms are routed explicitly and nothing is appended.
APPEND_SLASH = False

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

# The back office speaks the operators' languages; each operator picks one on its pages
# (kept with the operator), and this is the language of whoever has not picked. The
# register API speaks English whatever the request asks: its messages are the contract.
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("uz", "Oʻzbekcha")]
LANGUAGE_CODE = env.str("BACK_OFFICE_LANGUAGE", default="en")
# Ours first; then what Django's own Uzbek admin catalog lacks (locale/django_admin).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "django_admin"]
# An operator's choice outlives the session: a year in the browser, and with the operator.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "Asia/Tashkent"
# Django's formats with the seconds: times are compared with registers' and providers' logs.
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve admin and API-docs assets straight from the installed apps, so a fresh clone
# needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

# Request bodies larger than this are refused with a code-7 envelope before parsing.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# How long an Idempotency-Key and its stored answer are kept.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)

# --- REST framework and OpenAPI --------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["payments.api.envelope.EnvelopeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["payments.api.envelope.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "payments.api.envelope.exception_handler",
    # Every register endpoint knows its register (payments.api.authentication).
    "DEFAULT_AUTHENTICATION_CLASSES": ["payments.api.authentication.RegisterAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["payments.api.authentication.IsRegister"],
    "UNAUTHENTICATED_USER": None,
    # No metadata answer to OPTIONS: it would not be the envelope. OPTIONS is a 405.
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cash-register payment API",
    "DESCRIPTION": (
        "CLICK PASS, PAYME GO, Uzum Fast Pay and HUMO payments for cash registers. Every "
        "response is the envelope `{data, error, is_success}`; HTTP 200 for every outcome a "
        "register acts on.\n\n"
        "**Trying a call from this page**: a browser is no register, so a call sent without "
        "a key is refused (code 111, `no_key`). Press **Authorize** and give a register's "
        "key (`make run` prints one; the back office's Registers page issues others), then "
        "**Try it out**. Calls made here are real: against a production service they charge "
        "real money."
    ),
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its pages are public: they describe the API, not anyone's payments.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["payments.api.schema.paths_without_trailing_slash"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "payments.api.schema.document_components",
    ],
}

# --- Registers ----------------------------------------------------------------------------
# Registers, their keys and their provider accounts live in the database (the admin, or
# `manage.py register`). The settings below describe the first register only: the one the
# upgrade to registers makes from a deployment's existing configuration (migration 0010),
# and the one `make run` serves.
FIRST_REGISTER_NAME = env.str("FIRST_REGISTER_NAME", default="Register 1")
REGISTER_INN = env.str("REGISTER_INN", default="000000000")
REGISTER_KKM_ID = env.str("REGISTER_KKM_ID", default="00000001")
REGISTER_DEVICE_ID = env.str("REGISTER_DEVICE_ID", default="00000001")
REGISTER_CASHBOX_CODE = env.str("REGISTER_CASHBOX_CODE", default="POS-01")


# A request without a key from these networks is the first register's, so that registers
# that called before registers existed go on being served. The default is loopback and
# the private ranges (a shop's LAN): narrow it to the registers' own addresses.
def network(text: str) -> str:
    """A network in CIDR (a bare address is its /32 or /128); anything else is refused."""
    return str(ipaddress.ip_network(text.strip(), strict=False))


FIRST_REGISTER_NETWORKS = env.list(
    "FIRST_REGISTER_NETWORKS",
    cast=network,
    default=[
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ],
)
# Proxies (CIDR) whose X-Forwarded-For is believed when telling a register by its address.
# Empty: the address is the connection's own, whatever the headers say.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", cast=network, default=[])

# Prometheus metrics at /metrics: readable from these networks (CIDR; the scraper's
# address as TRUSTED_PROXIES tell it), or with `Authorization: Bearer <METRICS_TOKEN>`
# from anywhere. Anyone else gets 111 / HTTP 401.
METRICS_NETWORKS = env.list("METRICS_NETWORKS", cast=network, default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Where reconcile and retry_fiscal leave the figures of their last run for /metrics
# (a directory every instance can read). Empty: they leave none.
METRICS_JOBS_DIR = env.str("METRICS_JOBS_DIR", default="")
# gunicorn's workers count in files here (config/gunicorn.py hands it to prometheus-client
# as PROMETHEUS_MULTIPROC_DIR): set it whenever gunicorn runs more than one worker. Other
# processes (manage.py commands) count in their own memory.
METRICS_WORKERS_DIR = env.str("METRICS_WORKERS_DIR", default="")

# Provider secrets stay in the environment; provider accounts in the database name them.
# A name is one of these two (the first register's, as before) or PROVIDER_SECRET_<anything>.
PROVIDER_SECRETS = {
    name: value for name, value in os.environ.items() if name.startswith("PROVIDER_SECRET_")
}

# Hosts an OFD receipt URL may point at.
OFD_ALLOWED_HOSTS = env.list("OFD_ALLOWED_HOSTS", default=["ofd.soliq.uz"])
# The path of a receipt's page on those hosts.
OFD_RECEIPT_PATHS = env.list("OFD_RECEIPT_PATHS", default=["/check"])

# --- Providers -------------------------------------------------------------------------
# Seconds to wait for a TCP connection to any provider.
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=5.0)

CLICK_BASE_URL = env.str("CLICK_BASE_URL", default="http://127.0.0.1:8101/v2/merchant/")
CLICK_SERVICE_ID = env.int("CLICK_SERVICE_ID", default=40012)
CLICK_MERCHANT_USER_ID = env.str("CLICK_MERCHANT_USER_ID", default="12345")
CLICK_SECRET_KEY = env.str("CLICK_SECRET_KEY", default="EMULATOR_SECRET_KEY")
# The charge may take a while at CLICK's side; status and fiscal calls are quick.
CLICK_PAYMENT_READ_TIMEOUT = env.float("CLICK_PAYMENT_READ_TIMEOUT", default=30.0)
CLICK_READ_TIMEOUT = env.float("CLICK_READ_TIMEOUT", default=10.0)
# While CLICK says "created"/"processing", ask payment/status this many times, this many
# seconds apart, before answering the register with code 110.
CLICK_STATUS_POLL_ATTEMPTS = env.int("CLICK_STATUS_POLL_ATTEMPTS", default=10)
CLICK_STATUS_POLL_INTERVAL = env.float("CLICK_STATUS_POLL_INTERVAL", default=1.0)

PAYME_BASE_URL = env.str("PAYME_BASE_URL", default="http://127.0.0.1:8102/api")
PAYME_CASHBOX_ID = env.str("PAYME_CASHBOX_ID", default="5e730e8e0b852a417aa49ceb")
PAYME_KEY = env.str("PAYME_KEY", default="EMULATOR_PAYME_KEY")
PAYME_CREATE_READ_TIMEOUT = env.float("PAYME_CREATE_READ_TIMEOUT", default=15.0)
# A card can take a while to answer; Payme publishes no limit.
PAYME_PAY_READ_TIMEOUT = env.float("PAYME_PAY_READ_TIMEOUT", default=45.0)
PAYME_READ_TIMEOUT = env.float("PAYME_READ_TIMEOUT", default=10.0)
# Recovery window while a receipt is not final: receipts.check this many times, this many
# seconds apart; a receipt still waiting (state 0) after it is cancelled.
PAYME_CHECK_ATTEMPTS = env.int("PAYME_CHECK_ATTEMPTS", default=15)
PAYME_CHECK_INTERVAL = env.float("PAYME_CHECK_INTERVAL", default=2.0)
# The receipt's `account` fields, as the cashbox is configured at Payme. Values are
# templates over transaction_id, kkm_id, device_id, inn and cashbox_code; keep our
# transaction id in one of them, so a receipt whose answer was lost can be found again.
PAYME_ACCOUNT = env.json(
    "PAYME_ACCOUNT",
    default={"kkm_id": "{kkm_id}", "device_id": "{device_id}", "document": "{transaction_id}"},
)

# Uzum Fast Pay: the merchant API's base, the first register's service and till user id
# (its key is the environment secret PROVIDER_SECRET_UZUM).
# Uzum's production host (Fast Pay publishes no test host); `make run` points it at the
# emulator.
UZUM_BASE_URL = env.str(
    "UZUM_BASE_URL", default="https://mobile.apelsin.uz/api/apelsin-pay/merchant/"
)
UZUM_SERVICE_ID = env.int("UZUM_SERVICE_ID", default=4012)
UZUM_MERCHANT_SERVICE_USER_ID = env.str("UZUM_MERCHANT_SERVICE_USER_ID", default="8461")
# How Uzum reads the Authorization timestamp for this account: "epoch" or "tashkent".
UZUM_TIMESTAMP_READING = env.str("UZUM_TIMESTAMP_READING", default="epoch")
UZUM_PAYMENT_READ_TIMEOUT = env.float("UZUM_PAYMENT_READ_TIMEOUT", default=30.0)
UZUM_READ_TIMEOUT = env.float("UZUM_READ_TIMEOUT", default=10.0)
# While Uzum says HOLD or "in process", ask its status this often before answering 110.
UZUM_STATUS_POLL_ATTEMPTS = env.int("UZUM_STATUS_POLL_ATTEMPTS", default=15)
UZUM_STATUS_POLL_INTERVAL = env.float("UZUM_STATUS_POLL_INTERVAL", default=2.0)

# --- Reconciliation -------------------------------------------------------------------
# Only payments at least this old are settled by `reconcile` (younger ones may still be
# running in a request).
RECONCILE_MIN_AGE_SECONDS = env.int("RECONCILE_MIN_AGE_SECONDS", default=120)
# Provider lookups in parallel: each waits for its provider in a thread of its own.
RECONCILE_WORKERS = env.int("RECONCILE_WORKERS", default=32)
# Whether "no such payment" from a provider lookup proves a charge never happened. CLICK
# does not promise that status_by_mti finds CLICK PASS payments, so it is off by default;
# the emulators' answers are authoritative, and the fault-matrix tests turn it on.
RECONCILE_NOT_FOUND_IS_FAILED = env.bool("RECONCILE_NOT_FOUND_IS_FAILED", default=False)

# --- Fiscal receipts --------------------------------------------------------------------
# retry_fiscal sends a refused receipt again after these many minutes, one per attempt;
# after the last, a person must look.
FISCAL_RETRY_BACKOFF_MINUTES = env.list(
    "FISCAL_RETRY_BACKOFF_MINUTES", cast=int, default=[1, 5, 30, 120, 720]
)
# A paid QR payment whose register has sent no receipt after this long is listed.
FISCAL_RECEIPT_DEADLINE_MINUTES = env.int("FISCAL_RECEIPT_DEADLINE_MINUTES", default=60)

# --- HUMO PIN pad (serial line) -------------------------------------------------------
# A device path (/dev/serial/by-id/..., /dev/ttyUSB0, a pty) or socket://host:port.
# Empty: no PIN pad, and HUMO requests answer code 108.
PINPAD_URL = env.str("PINPAD_URL", default="")
# 8N1 as USB-CDC pads (and ptys) take it; a native RS-232 Concert terminal wants 7E1.
PINPAD_BAUDRATE = env.int("PINPAD_BAUDRATE", default=9600)
PINPAD_BYTESIZE = env.int("PINPAD_BYTESIZE", default=8)
PINPAD_PARITY = env.str("PINPAD_PARITY", default="N")
PINPAD_STOPBITS = env.float("PINPAD_STOPBITS", default=1)
PINPAD_WRITE_TIMEOUT = env.float("PINPAD_WRITE_TIMEOUT", default=2.0)
PINPAD_POS_NUMBER = env.str("PINPAD_POS_NUMBER", default="01")
# The messages inside the frames: "tlv" (our extension: every HUMO operation, RRN and slip)
# or "concert-e+" (the public Concert E+ layout: purchase and cancel of up to 999 999.99 UZS,
# no RRN, no slip, no end of day, no last-transaction query).
PINPAD_PROTOCOL = env.str("PINPAD_PROTOCOL", default="tlv")
# One request on the line at a time, across all server processes: a lock file here. A
# second request waits this many seconds for it (0: answers "busy" at once).
PINPAD_LOCK_DIR = Path(env.str("PINPAD_LOCK_DIR", default=tempfile.gettempdir()))
PINPAD_LOCK_WAIT = env.float("PINPAD_LOCK_WAIT", default=30.0)
# Seconds between attempts to open a line that went away (USB re-enumeration).
PINPAD_REOPEN_BACKOFF = env.list("PINPAD_REOPEN_BACKOFF", cast=float, default=[1.0, 2.0, 5.0])
# How long the customer may take with card and PIN, plus the bank's answer.
PINPAD_ANSWER_WAIT = env.float("PINPAD_ANSWER_WAIT", default=180.0)
# Link-layer deadlines and retries (docs/pinpad-protocol.md).
PINPAD_LINK_TIMING = {
    "enq_wait": env.float("PINPAD_ENQ_WAIT", default=2.0),
    "enq_attempts": env.int("PINPAD_ENQ_ATTEMPTS", default=3),
    "retry_pause": env.float("PINPAD_RETRY_PAUSE", default=1.0),
    "frame_ack_wait": env.float("PINPAD_FRAME_ACK_WAIT", default=3.0),
    "transmissions": env.int("PINPAD_TRANSMISSIONS", default=3),
    "first_byte_wait": env.float("PINPAD_FIRST_BYTE_WAIT", default=3.0),
    "inter_byte_wait": env.float("PINPAD_INTER_BYTE_WAIT", default=1.0),
    "eot_wait": env.float("PINPAD_EOT_WAIT", default=2.0),
    "max_frame": env.int("PINPAD_MAX_FRAME", default=8192),
    "frame_wait": env.float("PINPAD_FRAME_WAIT", default=15.0),
}

# --- gunicorn (config/gunicorn.py; its command line wins) -------------------------------
GUNICORN_BIND = env.str("GUNICORN_BIND", default="127.0.0.1:8000")
GUNICORN_WORKERS = env.int("GUNICORN_WORKERS", default=2)
GUNICORN_THREADS = env.int("GUNICORN_THREADS", default=16)
GUNICORN_ACCESS_LOG = env.str("GUNICORN_ACCESS_LOG", default="-")

# --- Logging ---------------------------------------------------------------------------
# plain for a person at a terminal, json for a log collector
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    env.unreadable.append(f"LOG_FORMAT={LOG_FORMAT!r}: plain or json")
    LOG_FORMAT = "plain"
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    env.unreadable.append(f"LOG_LEVEL={LOG_LEVEL!r}: one of DEBUG, INFO, WARNING, ERROR")
    LOG_LEVEL = "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "payments.middleware.RequestIdLogFilter"},
        "scrub": {"()": "payments.logformat.ScrubFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "payments.logformat.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # plain for a person at a terminal, json for a log collector
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "scrub"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# --- What the checks refuse (payments/checks.py) ------------------------------------------
# Values that could not be read, by variable; and variables still holding a template's
# placeholder (deploy/production.env's CHANGE_ME, .env.example's change-me).
UNREADABLE_SETTINGS = env.unreadable
UNFILLED_SETTINGS = sorted(
    name for name, value in os.environ.items() if "change_me" in value.lower().replace("-", "_")
)
