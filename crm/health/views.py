"""GET /healthz: the database, the broker and the age of the last SLA sweep, for a load
balancer or docker's healthcheck. 200 when all is well, 503 otherwise; no personal data."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from crm.celery import app as celery_app
from crm.health.models import Heartbeat

# Beat sweeps every SLA_SWEEP_SECONDS; three missed sweeps mean it is not running.
MISSED_SWEEPS = 3


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "broker": _broker(), "sla_sweep": _sweep()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": error.__class__.__name__}


def _broker() -> dict:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": error.__class__.__name__}


def _sweep() -> dict:
    last = Heartbeat.objects.filter(name="sla_sweep").values_list("at", flat=True).first()
    if last is None:
        return {"ok": False, "error": "never ran"}
    age = (timezone.now() - last).total_seconds()
    return {
        "ok": age <= MISSED_SWEEPS * settings.SLA_SWEEP_SECONDS,
        "last_at": last.isoformat(),
        "age_s": round(age, 1),
    }
