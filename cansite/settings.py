"""Settings for cansite, read from the environment.

Defaults give a working local site (SQLite under var/, jobs run in-process, DEBUG on).
LOCAL_SITE=true (what `make demo` serves with) is that site with DEBUG off, for 127.0.0.1 only: a secret
key generated once in var/, localhost hosts, plain HTTP (no SSL redirect, no secure-only cookies) and
static files served by whitenoise from the source folders.
Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and TURING_IP_KEY.
"""

import contextlib
import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_noop

from common.files import atomic_write_text

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def install_secret(name: str) -> str:
    """A random key kept in VAR_DIR/name: made on first use (readable by its owner only), then reused,
    so that sessions and keyed hashes survive a restart of this one install."""
    path = VAR_DIR / name
    if not path.exists():
        # Whole or not at all (a kill mid-write must not leave an empty key), and only the first of two
        # processes starting at once writes it: both then read the same key.
        with contextlib.suppress(FileExistsError):
            atomic_write_text(path, secrets.token_urlsafe(50), exclusive=True, mode=0o600)
    return path.read_text().strip()


LOCAL_SITE = env_bool("LOCAL_SITE", False)
DEBUG = env_bool("DEBUG", not LOCAL_SITE)
LOCAL = DEBUG or LOCAL_SITE  # served to this machine only, over plain HTTP
# Only the local default may use the insecure key; the local site makes its own; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "insecure-local-only-key" if DEBUG else install_secret("secret-key") if LOCAL_SITE else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if LOCAL else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_rq",
    "datasets",
    "generator",
    "classifier",
    "turing",
    "seeds",
    "home",  # last: the front page and `manage.py demo`, which depend on every app above
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common (Django's order): the language from the switcher's cookie, else from
    # Accept-Language, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cansite.web.reject_control_characters",
]

ROOT_URLCONF = "cansite.urls"
WSGI_APPLICATION = "cansite.wsgi.application"

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
            ],
            # {% load visibility %}: what visitors may see of paths and errors (staff see all).
            "libraries": {"visibility": "cansite.visibility"},
        },
    },
]

# Served (DEBUG off), each gunicorn thread keeps its database connection for DB_CONN_MAX_AGE seconds
# instead of opening one per request (a PostgreSQL connection costs a process fork and an
# authentication, several times a Turing answer's own queries); a connection that died meanwhile is
# noticed before a request uses it (health checks). Locally and in tests: one per request, as Django's default.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cansite.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0 if LOCAL else 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    # The downloader writes from one thread while the site reads: WAL keeps readers unblocked,
    # and a busy timeout makes a second writer wait instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 30,
    }
    # Tests use a file, not memory, so that the commands they start in subprocesses share it; it is
    # named after the database, so that two suites on two databases never share one test file.
    _db_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_db_file.with_name(f"test-{_db_file.stem}.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Unset REDIS_URL: jobs run in-process in RQ's synchronous mode (cansite.queues gives those
# queues an in-memory fake Redis). Set: real queues "default" and "gpu" on that server, served by
# `manage.py rqworker default gpu`.
REDIS_URL = os.environ.get("REDIS_URL", "")
RQ_QUEUES = {
    name: {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "ASYNC": bool(REDIS_URL), "DEFAULT_TIMEOUT": 3600}
    for name in ("default", "gpu")
}
RQ_SHOW_ADMIN_LINK = True
if REDIS_URL:
    # One cache for every web process (cached pages, sessions); without Redis each process keeps its own.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "cansite"}}
    # Sessions read from the cache, written through to the database: a visitor's every request (a Turing
    # answer) costs no session query.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages (README "Languages"): visitors' pages in English, Korean and Spanish. This list is the one home of
# the site's languages: the switcher offers them, a study's `languages` must be among them, the static seed
# export writes one tree per language. Catalogues live in locale/<code>/LC_MESSAGES (`make messages`).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "Korean"), ("es", "Spanish")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the switcher's choice outlives the browser session
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = not LOCAL
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if LOCAL
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# The local site needs no collectstatic: whitenoise serves the source folders (and never MEDIA_ROOT).
WHITENOISE_USE_FINDERS = LOCAL
# MEDIA_ROOT holds checkpoints, run configs and the real photographs: no URL maps it; each app's own
# views serve what a page may show.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Security: strict when DEBUG is off, so that `check --deploy` passes in production.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not LOCAL)
SESSION_COOKIE_SECURE = not LOCAL
CSRF_COOKIE_SECURE = not LOCAL
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if LOCAL else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not LOCAL
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not LOCAL)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
X_FRAME_OPTIONS = "DENY"

LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# A local torch-fidelity Inception-v3 weights file for FID (nothing is ever downloaded). Unset:
# `gan_metrics` reports KID on a local feature extractor instead, and says so.
INCEPTION_WEIGHTS = os.environ.get("INCEPTION_WEIGHTS", "")

# The site's public address: Open Graph and Twitter tags of the seed pages need absolute URLs.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Turing test (turing app). A set build's own consent text (admin) overrides TURING_CONSENT_TEXT. The default
# is in the catalogues (gettext_noop marks it), so visitors read it in their language; a text of your own is
# shown as written.
TURING_CONSENT_TEXT = os.environ.get("TURING_CONSENT_TEXT", gettext_noop(
    "This is a research study: you will see photographs of skin lesions and say whether each is a real "
    "photograph or made by a computer. We store your answers, their timing and the optional profile you give, "
    "nothing else about you. Taking part is voluntary; you may stop at any time."))
TURING_RESUME_MINUTES = env_int("TURING_RESUME_MINUTES", 60)  # an unfinished test expires after this idle time
TURING_NEW_PARTICIPANTS_PER_IP_HOUR = env_int("TURING_NEW_PARTICIPANTS_PER_IP_HOUR", 30)
# The key of the HMAC that stands for a client address in the per-network limit: never SECRET_KEY (the
# demo's is no secret). Unset: a random key of this install, kept in var/.
TURING_IP_KEY = os.environ.get("TURING_IP_KEY", "") or install_secret("turing-ip-key")
TURING_RESULTS_PUBLIC = env_bool("TURING_RESULTS_PUBLIC", False)
TURING_ATTENTION_REPEATS = env_int("TURING_ATTENTION_REPEATS", 1)  # images shown twice per participant
TURING_ATTENTION_CATCH = env_int("TURING_ATTENTION_CATCH", 1)  # test-pattern catch trials per set (at build); 0: none
TURING_FAST_MS = env_int("TURING_FAST_MS", 300)  # answers quicker than this are flagged
TURING_FAST_SHARE = float(os.environ.get("TURING_FAST_SHARE", "0.2"))  # more fast answers than this: flagged
# The client address header, read only when BEHIND_PROXY (a client can set any header itself).
TURING_PROXY_HEADER = (os.environ.get("TURING_PROXY_HEADER", "HTTP_X_FORWARDED_FOR")
                       if env_bool("BEHIND_PROXY", False) else "")
