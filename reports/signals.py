"""Writes that change a closed day of the team report mark it (reports/rollups.py: touch), and
those that change a person's closed day mark that (reports/person_rollups.py: touch), or a
team's day of insights (reports/insight_rollups.py: touch).

Saved models go through these receivers; the writes that send no post_save send a signal of
their app's own (the CSV import, a dispute's ruling, the SLA sweep's breaches)."""

from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from crm.deadlines.models import Deadline
from crm.deadlines.signals import raised as deadlines_raised
from crm.teams.models import Team
from deals.models import Deal
from handoff.models import Dispute, Handoff
from handoff.signals import ruled
from leads.alerts import BREACH
from leads.models import ContactAttempt, Lead, LeadEvent
from leads.signals import imported
from reports import insight_rollups, person_rollups, rollups


@receiver(post_save, sender=Lead)
def lead_saved(sender, instance: Lead, **kwargs) -> None:
    # Its cohort day: its state, first call, reaction, source or junk reason changed. (Its
    # handoff's day of insights needs no mark: a handed-off lead takes no answer.)
    changed = [(instance.team_id, instance.created_at)]
    rollups.touch(changed)
    insight_rollups.touch(changed)


@receiver(post_save, sender=Deal)
def deal_saved(sender, instance: Deal, **kwargs) -> None:
    _deal_changed(instance)


@receiver(post_save, sender=Dispute)
def dispute_saved(sender, instance: Dispute, **kwargs) -> None:
    _deal_changed(instance.deal)


@receiver(ruled)
def dispute_ruled(sender, dispute: Dispute, **kwargs) -> None:
    _deal_changed(dispute.deal)


def _deal_changed(deal: Deal) -> None:
    rollups.touch_deal(deal)
    person_rollups.touch_deal(deal)
    insight_rollups.touch_deal(deal)


@receiver(post_save, sender=ContactAttempt)
def call_saved(sender, instance: ContactAttempt, **kwargs) -> None:
    # A call logged with an old moment (a PBX's late report) changes its caller's day.
    person_rollups.touch([(instance.by_id, instance.at)])


@receiver(post_save, sender=LeadEvent)
def event_saved(sender, instance: LeadEvent, **kwargs) -> None:
    if instance.kind == LeadEvent.Kind.TRANSITION:
        person_rollups.touch([(instance.actor_id, instance.at)])


@receiver(imported)
def leads_imported(sender, leads: list[Lead], **kwargs) -> None:
    # Rows may arrive with their creation dates: their days of the team report change.
    changed = [(lead.team_id, lead.created_at) for lead in leads]
    rollups.touch(changed)
    insight_rollups.touch(changed)


@receiver(post_save, sender=Handoff)
def handoff_saved(sender, instance: Handoff, **kwargs) -> None:
    rollups.touch([(instance.team_id, instance.handed_off_at)])
    # The lead's source counts one more handoff on the day it arrived.
    insight_rollups.touch([(instance.lead.team_id, instance.lead.created_at)])


@receiver(deadlines_raised)
def deadlines_raised_late(sender, ids: list[int], **kwargs) -> None:
    """Breaches count on the day they were due: one raised over GRACE late (beat was down)
    changes a day that may be built. One indexed read per sweep that raised anything."""
    late = Deadline.objects.filter(
        pk__in=ids, kind=BREACH.code, lead__isnull=False, due_at__lt=rollups.recent()
    )
    rollups.touch(late.values_list("lead__team_id", "due_at"))


SLA_FIELDS = ("time_zone", "sla_warn_minutes", "sla_breach_minutes")
LOADED = "_report_cut"  # the fields as loaded, on the instance


@receiver(post_init, sender=Team)
def team_loaded(sender, instance: Team, **kwargs) -> None:
    # None when a field was not loaded (.only()): such a save is not judged.
    loaded = all(f in instance.__dict__ for f in SLA_FIELDS)
    setattr(instance, LOADED, tuple(instance.__dict__[f] for f in SLA_FIELDS) if loaded else None)


@receiver(post_save, sender=Team)
def team_saved(sender, instance: Team, created: bool, **kwargs) -> None:
    cut = tuple(getattr(instance, f) for f in SLA_FIELDS)
    before = getattr(instance, LOADED, None)
    if not created and before is not None and cut != before:
        rollups.forget(instance)
    setattr(instance, LOADED, cut)
