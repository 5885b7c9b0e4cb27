"""The lean-Django reference for bench/intake_bench.py: settings, URLconf, view and WSGI app in
one module, served by gunicorn as `bench.intake_lean:application`.

The endpoint only inserts a row: the project's settings (same database, CONN_MAX_AGE, apps),
no middleware, one URL, json.loads of the body and one `Lead.objects.create(...)` (one INSERT,
autocommit, no validation, no normalisation, no dedup, no LeadEvent, no rate limit), answering
201 with {"id": ...}. The source and team come from BENCH_LEAN_SOURCE_ID / BENCH_LEAN_TEAM_ID.
Nothing here is used by the application.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = __name__

from crm.settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
ROOT_URLCONF = __name__


def lean_intake(request):
    import json
    from datetime import timedelta

    from django.http import HttpResponseNotAllowed, JsonResponse
    from django.utils import timezone

    from leads.models import Lead

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    data = json.loads(request.body)
    now = timezone.now()
    lead = Lead.objects.create(
        team_id=int(os.environ["BENCH_LEAN_TEAM_ID"]),
        source_id=int(os.environ["BENCH_LEAN_SOURCE_ID"]),
        name=data.get("name", ""),
        phone=data.get("phone", "")[:20],
        email=data.get("email", ""),
        message=data.get("message", ""),
        external_id=data.get("external_id", ""),
        utm_source=data.get("utm_source", ""),
        utm_medium=data.get("utm_medium", ""),
        utm_campaign=data.get("utm_campaign", ""),
        created_at=now,
        warn_at=now + timedelta(minutes=15),
        breach_at=now + timedelta(minutes=20),
        due_at=now + timedelta(minutes=20),
    )
    return JsonResponse({"id": lead.pk}, status=201)


from django.urls import path  # noqa: E402 (needs no app registry)

urlpatterns = [path("api/v1/intake/", lean_intake)]

_handler = None
_handler_lock = __import__("threading").Lock()


def application(environ, start_response):
    global _handler
    if _handler is None:
        with _handler_lock:  # gthread: the first requests arrive together
            if _handler is None:
                from django.core.wsgi import get_wsgi_application

                _handler = get_wsgi_application()
    return _handler(environ, start_response)
