from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from leads.alerts import sla_sweep as sweep


@shared_task(ignore_result=True)
def sla_sweep() -> int:
    raised = sweep()
    # When the last sweep ran, for the health check: a dead beat shows up as an old sweep.
    cache.set("sla:last_sweep_at", timezone.now().isoformat(), timeout=None)
    return raised
