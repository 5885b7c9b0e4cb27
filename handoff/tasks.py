from celery import shared_task

from handoff.alerts import acceptance_sweep as sweep


@shared_task(ignore_result=True)
def acceptance_sweep() -> int:
    return sweep()
