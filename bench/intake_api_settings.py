"""Settings to try the configuration-level proposals for intake with bench/intake_bench.py
(`--settings bench.intake_api_settings`): the project's settings plus

- CONN_HEALTH_CHECKS off: no `SELECT 1` round trip before the first query of every request
  (with CONN_MAX_AGE a broken connection then surfaces as one failed request instead);
- only the middleware a JSON intake post needs (security headers and CommonMiddleware); the
  sessions, locale, CSRF, auth, messages, clickjacking, htmx and team-time-zone middleware
  serve the pages. In the app this would be a path-scoped short-circuit or a separate WSGI
  entry for /api/v1/intake/, not a global change: the pages need them.
"""

from crm.settings import *  # noqa: F401,F403
from crm.settings import DATABASES

DATABASES["default"]["CONN_HEALTH_CHECKS"] = False

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
