from celery import shared_task

from crm import replica
from leads import exports


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
