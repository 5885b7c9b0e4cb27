from django.utils import timezone

from crm.health.models import Heartbeat


def beat(name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now()})
