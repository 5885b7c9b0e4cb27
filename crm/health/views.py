"""GET /healthz: the database, the broker, beat, the worker and the SLA sweep, for a load
balancer or docker's healthcheck. 200 when all is well, 503 otherwise; no personal data.

- `beat`: beat's own last tick. Old: beat is dead — no sweeps are sent, alerts are late.
- `worker`: the last heartbeat of a worker (any one of them). Old: no worker is running —
  alerts are raised late and no e-mail or webhook goes out.
- `sla_sweep`: the last sweep a worker finished, which needs both; old with the other two
  fresh, the queue is stuck (or the sweep fails: see the worker's log).
- `replica` (only with REPLICA_DATABASE_URL set): whether reports read the replica, its lag,
  and why not (`unreachable`, `not a standby`, `lag … over …`). Shown, never failing the
  check: reports then read the primary (crm/replica.py)."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from crm import replica
from crm.celery import app as celery_app
from crm.health.models import Heartbeat

# Beat ticks, the worker beats and the sweep runs every SLA_SWEEP_SECONDS: three missed mean
# the process is not running.
MISSED = 3
HEARTBEATS = ("beat", "worker", "sla_sweep")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "broker": _broker(), **_heartbeats()}
    healthy = all(check["ok"] for check in checks.values())
    replica_state = replica.status()
    if replica_state is not None:
        checks["replica"] = replica_state
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


def _heartbeats() -> dict:
    try:
        last = dict(Heartbeat.objects.filter(name__in=HEARTBEATS).values_list("name", "at"))
    except Exception as error:  # noqa: BLE001 - the database check says why
        return {name: {"ok": False, "error": error.__class__.__name__} for name in HEARTBEATS}
    now = timezone.now()
    return {name: _age(last.get(name), now) for name in HEARTBEATS}


def _age(last, now) -> dict:
    if last is None:
        return {"ok": False, "error": "never ran"}
    age = (now - last).total_seconds()
    return {
        "ok": age <= MISSED * settings.SLA_SWEEP_SECONDS,
        "last_at": last.isoformat(),
        "age_s": round(age, 1),
    }
