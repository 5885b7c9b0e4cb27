"""Writes that change a closed day of the team report mark it (reports/rollups.py: touch), and
those that change a person's closed day mark that (reports/person_rollups.py: touch), or a
team's day of insights (reports/insight_rollups.py: touch), or a team's day of calls
(reports/call_rollups.py: touch_*).

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
from reports import call_rollups, insight_rollups, person_rollups, rollups
from telephony.models import Call


@receiver(post_save, sender=Lead)
def lead_saved(sender, instance: Lead, **kwargs) -> None:
    # Its cohort day: its state, first call, reaction, source or junk reason changed. (Its
    # handoff's day of insights needs no mark: a handed-off lead takes no answer.)
    changed = [(instance.team_id, instance.created_at)]
    rollups.touch(changed)
    insight_rollups.touch(changed)
    # Its first call's day of the call report, when it counts differently. A first call set or
    # moved needs no mark here: the first call is an attempt, whose save marks both its days
    # (every call logged saves first_attempt_at too: marking on it would mark every retry).
    fields = kwargs.get("update_fields")
    if fields is None or not FIRST_CALL_FIELDS.isdisjoint(fields):
        call_rollups.touch([(instance.team_id, instance.first_attempt_at)])


FIRST_CALL_FIELDS = frozenset({"imported_history"})


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
    # The call report's: also the day it was moved from (the PBX completing a typed attempt).
    call_rollups.touch_attempt(instance, [instance.at, getattr(instance, LOADED_AT, None)])
    setattr(instance, LOADED_AT, instance.at)


@receiver(post_save, sender=LeadEvent)
def event_saved(sender, instance: LeadEvent, **kwargs) -> None:
    if instance.kind == LeadEvent.Kind.TRANSITION:
        person_rollups.touch([(instance.actor_id, instance.at)])
        call_rollups.touch_decision(instance)


LOADED_AT = "_call_report_at"  # a call's or an attempt's moment as loaded, on the instance


@receiver(post_init, sender=ContactAttempt)
def attempt_loaded(sender, instance: ContactAttempt, **kwargs) -> None:
    setattr(instance, LOADED_AT, instance.__dict__.get("at"))


@receiver(post_init, sender=Call)
def pbx_call_loaded(sender, instance: Call, **kwargs) -> None:
    setattr(instance, LOADED_AT, instance.__dict__.get("started_at"))


@receiver(post_save, sender=Call)
def pbx_call_saved(sender, instance: Call, **kwargs) -> None:
    # A call the PBX reported late, ended late, or whose start a replayed event moved earlier.
    call_rollups.touch_call(instance, [instance.started_at, getattr(instance, LOADED_AT, None)])
    setattr(instance, LOADED_AT, instance.started_at)


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
