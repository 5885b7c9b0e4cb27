from celery import shared_task

from crm.deadlines.sweep import sweep as sweep_deadlines
from crm.health.services import beat


@shared_task(ignore_result=True)
def sweep() -> int:
    """The one beat task over every kind of deadline (leads' SLA, deals' acceptance, …)."""
    raised = sweep_deadlines()
    beat("sla_sweep")  # what /healthz reads: a dead beat shows as an old sweep
    return raised
