from celery import shared_task

from crm.notifications import services


@shared_task(acks_late=True, ignore_result=True)
def deliver(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        services.delivery_send(delivery_id)


@shared_task(ignore_result=True)
def retry_deliveries() -> None:
    """Beat: send what is due again — failed attempts after their backoff, and anything whose
    task was lost (broker down at enqueue, a worker killed mid-send)."""
    due = services.deliveries_due()
    if due:
        services.enqueue(due)
