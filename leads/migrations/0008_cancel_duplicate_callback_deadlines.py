"""Duplicates no longer raise callback alerts of their own (their original's clock counts):
cancel the pending callback deadlines of duplicates stored before, which nobody has called."""

from django.db import migrations
from django.utils import timezone


def cancel_duplicate_callbacks(apps, schema_editor) -> None:
    Deadline = apps.get_model("leads", "Deadline")
    Deadline.objects.filter(
        kind__in=["warn", "breach"],
        raised_at=None,
        cancelled_at=None,
        lead__duplicate_of__isnull=False,
        lead__first_attempt_at=None,
    ).update(cancelled_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("leads", "0007_report_indexes")]

    operations = [
        # Not reversed: which deadlines were pending before is not worth keeping.
        migrations.RunPython(cancel_duplicate_callbacks, migrations.RunPython.noop),
    ]
