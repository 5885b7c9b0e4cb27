"""Heartbeats: the moment a process or a periodic job last showed it was alive, read by
/healthz. In the database, because the web, the worker and beat share nothing else on the
embedded setup.

- `beat`: beat's own tick (crm.celery.Scheduler), every sweep interval at least;
- `worker`: a worker's own timer (crm.celery.WorkerHeartbeat), every sweep interval;
- `sla_sweep`: the last SLA sweep a worker finished (beat sends it, a worker runs it)."""

import logging
import time

from django.db import connection
from django.utils import timezone

from crm.health.models import Heartbeat

log = logging.getLogger(__name__)

_recorded: dict[str, float] = {}


def beat(name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now()})


def record(name: str, every: float = 0.0) -> None:
    """A long-running process's heartbeat (beat, a worker's main loop): at most once per
    `every` seconds, on a connection closed right after — nothing is left open for a process
    forked later to inherit — and never raising: the database being down must not stop beat
    or a worker, and /healthz then says so itself."""
    now = time.monotonic()
    if now - _recorded.get(name, float("-inf")) < every:
        return
    _recorded[name] = now
    try:
        beat(name)
    except Exception as error:  # noqa: BLE001 - any database failure
        log.warning("could not record the %s heartbeat: %s", name, error.__class__.__name__)
    finally:
        connection.close()
