"""Settings of the peer CRM (DjangoCRM/django-crm v1.7.x-LTS) for bench/peer_bench.py: its own
settings (webcrm/settings.py), unchanged, except what the benchmark needs — PostgreSQL instead
of its SQLite default (database from PEER_DATABASE_URL), DEBUG off as in production, any host.
Loaded by the peer's Python with this directory on its path; never by this project."""

import os
from urllib.parse import unquote, urlparse

from webcrm.settings import *  # noqa: F403

_url = urlparse(os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peer_crm"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_url.path.lstrip("/")),
        "USER": unquote(_url.username or "postgres"),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": _url.port or 5432,
    }
}
DEBUG = False
ALLOWED_HOSTS = ["*"]
TESTING = False
