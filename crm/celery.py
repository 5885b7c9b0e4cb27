"""The Celery app: beat runs the SLA sweep; workers deliver e-mail and webhooks.

Deadlines are rows swept by beat, never per-lead ETA tasks: those are doubled by Redis's
visibility timeout and lost with a worker's memory. A second beat only sweeps twice, and the
sweep records each alert once."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
