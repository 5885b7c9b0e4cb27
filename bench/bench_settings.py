"""Settings for the in-process benchmarks (bench/harness.py, django_setup): the project's own
settings, unchanged, plus what an in-process django.test.Client needs outside the test runner.

- ALLOWED_HOSTS gains "testserver" (the Client's host name).
- Static files are collected into bench/.staticfiles with ManifestStaticFilesStorage, so
  `{% static %}` resolves through a manifest as in production (DEBUG off), without writing to the
  project's STATIC_ROOT. (The production storage also pre-compresses the files; that changes only
  how /static/ is served, not the page's server time.)
"""

from pathlib import Path

from crm.settings import *  # noqa: F403
from crm.settings import ALLOWED_HOSTS, STORAGES

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
STATIC_ROOT = Path(__file__).resolve().parent / ".staticfiles"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
