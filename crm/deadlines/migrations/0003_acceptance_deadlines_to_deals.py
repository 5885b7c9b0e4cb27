# The acceptance deadline, which the handoff used to hang on the converted lead, moves to that
# lead's deal.

from django.db import migrations
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone


def acceptance_to_deals(apps, schema_editor):
    Deadline = apps.get_model("deadlines", "Deadline")
    Deal = apps.get_model("deals", "Deal")
    deal_of_lead = Deal.objects.filter(lead=OuterRef("lead"))
    acceptance = Deadline.objects.filter(kind="acceptance", deal=None)
    acceptance.filter(Exists(deal_of_lead)).update(
        deal=Subquery(deal_of_lead.values("pk")[:1]), lead=None
    )
    # A lead's acceptance deadline without a deal could never be raised: kept, stopped.
    acceptance.filter(deal=None, cancelled_at=None, raised_at=None).update(
        cancelled_at=timezone.now()
    )
    acceptance.filter(deal=None).update(kind="acceptance_orphan")


def acceptance_to_leads(apps, schema_editor):
    Deadline = apps.get_model("deadlines", "Deadline")
    Deal = apps.get_model("deals", "Deal")
    Deadline.objects.filter(kind="acceptance_orphan").update(kind="acceptance")
    Deadline.objects.filter(kind="acceptance", lead=None).update(
        lead=Subquery(Deal.objects.filter(pk=OuterRef("deal")).values("lead")[:1]), deal=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("deadlines", "0002_deadline_subject_lead_or_deal"),
    ]

    operations = [
        migrations.RunPython(acceptance_to_deals, acceptance_to_leads),
    ]
