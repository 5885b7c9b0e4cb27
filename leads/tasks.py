from celery import shared_task

from crm import replica
from leads import exports, mail_intake
from leads.models import Mailbox


@shared_task(ignore_result=True)
def run_export(job_id: int) -> None:
    """An export job's file, written by the worker: no web timeout applies here; read off the
    primary when a replica is usable (crm/replica.py)."""
    exports.export_job_run(job_id, using=replica.read_alias())


@shared_task(ignore_result=True)
def sweep_exports() -> None:
    """Beat: lost and stalled jobs sent again; finished exports older than EXPORT_KEEP_DAYS
    deleted."""
    exports.exports_sweep()


@shared_task(ignore_result=True)
def poll_mailboxes() -> None:
    """Beat's task: each enabled mailbox polled by a worker of its own, so one slow server
    holds up no other team's letters."""
    for mailbox_id in Mailbox.objects.filter(enabled=True).values_list("pk", flat=True):
        poll_mailbox.delay(mailbox_id)


@shared_task(ignore_result=True)
def poll_mailbox(mailbox_id: int) -> None:
    mail_intake.poll(mailbox_id)
