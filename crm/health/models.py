from django.db import models


class Heartbeat(models.Model):
    """When a periodic job last finished (the SLA sweep): a dead beat shows as an old one. In
    the database, because the web and the worker share nothing else on the embedded setup."""

    name = models.CharField(max_length=50, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"
