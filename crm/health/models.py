from django.db import models


class Heartbeat(models.Model):
    """When a process or a periodic job last showed it was alive — beat's tick, a worker's
    heartbeat, the last SLA sweep (crm/health/services.py) — read by /healthz. In the
    database, because the web and the worker share nothing else on the embedded setup."""

    name = models.CharField(max_length=50, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"
