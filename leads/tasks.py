from celery import shared_task

from leads import mail_intake
from leads.models import Mailbox


@shared_task(ignore_result=True)
def poll_mailboxes() -> None:
    """Beat's task: each enabled mailbox polled by a worker of its own, so one slow server
    holds up no other team's letters."""
    for mailbox_id in Mailbox.objects.filter(enabled=True).values_list("pk", flat=True):
        poll_mailbox.delay(mailbox_id)


@shared_task(ignore_result=True)
def poll_mailbox(mailbox_id: int) -> None:
    mail_intake.poll(mailbox_id)
