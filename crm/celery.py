"""The Celery app: beat runs the SLA sweep; workers deliver e-mail and webhooks.

Deadlines are rows swept by beat, never per-lead ETA tasks: those are doubled by Redis's
visibility timeout and lost with a worker's memory. A second beat only sweeps twice, and the
sweep records each alert once.

Logging: the worker and beat log as the web does — settings.LOGGING (JSON, redacted), not
Celery's own handlers on the root logger (CELERY_WORKER_HIJACK_ROOT_LOGGER is off, and a
`setup_logging` receiver means Celery configures nothing itself; `--loglevel` is not used:
LOG_LEVEL is). Start them with `--quiet`, or Celery prints its banner as plain text.

Health: beat records its own tick and each worker a heartbeat of its own (crm/health/), so
/healthz tells a dead worker from a dead beat."""

import logging.config
import os

from celery import Celery, bootsteps, signals
from celery.beat import PersistentScheduler

from crm.lib import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def configure_logging(**_kwargs) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    logging.captureWarnings(True)  # a Python warning is a JSON line too
    logs.log_uncaught_exceptions()  # beat can die on a closed schedule file at shutdown


# Sent before the worker checks its privileges (a warning, when it runs as root) and long
# before it sets up logging: configured here, nothing it says comes out as plain text.
signals.celeryd_init.connect(configure_logging)


def _interval() -> float:
    from django.conf import settings

    return settings.SLA_SWEEP_SECONDS


class Scheduler(PersistentScheduler):
    """Beat's scheduler, recording on each tick (at most once a second) that beat is alive."""

    def tick(self, *args, **kwargs) -> float:
        from crm.health.services import record

        record("beat", every=min(1.0, _interval() / 2))
        return super().tick(*args, **kwargs)


app.conf.beat_scheduler = "crm.celery:Scheduler"


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Each worker records that it is alive every sweep interval, from its own timer: beat
    being down does not make a live worker look dead, nor the other way round."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs) -> None:
        super().__init__(worker, **kwargs)
        self.timer_entry = None

    def start(self, worker) -> None:
        from crm.health.services import record

        record("worker")
        self.timer_entry = worker.timer.call_repeatedly(_interval(), record, ("worker",))

    def stop(self, worker) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()


app.steps["worker"].add(WorkerHeartbeat)
