"""The lead's deadlines: the callback SLA (warning, breach) and the reminders about a lead left
in checked. Registered here with the deadline engine (crm/deadlines), which raises them in its
one sweep; this module schedules and cancels them, puts the raised ones on the lead's timeline
and says what a lead's SLA status is (`sla_state`: the one definition every page reads)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.db.models import Case, CharField, F, Q, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from crm.deadlines import registry
from crm.deadlines import services as deadlines
from crm.deadlines.models import Deadline
from crm.teams.selectors import working_week
from leads import sla
from leads.models import Lead, LeadEvent

# A lead is named by its name or number, never its phone or e-mail: the text also goes to
# e-mail subjects and to a messenger bot outside our servers. Whoever holds a lead is its
# assignee while the claim is active (Lead.claim_active_q, the one definition).
LEAD = registry.register_subject(
    registry.Subject(
        field="lead",
        url_name="leads:detail",
        param="lead",
        label=lambda: Coalesce(
            NullIf("lead__name", Value("")),
            Concat(Value("#"), Cast("lead_id", CharField())),
            output_field=CharField(),
        ),
        holder=lambda now: Case(
            When(Lead.claim_active_q(now, via="lead__"), then=F("lead__assignee_id")),
            default=None,
        ),
    )
)

WARN = registry.register(
    registry.Kind(
        code="warn",
        subject=LEAD,
        label=_("callback warning"),
        tell=registry.TELL_HOLDER,
        message=gettext_noop("Call %(lead)s now: the callback is due."),
        notification="lead_warn",
    )
)
BREACH = registry.register(
    registry.Kind(
        code="breach",
        subject=LEAD,
        label=_("callback breach"),
        tell=registry.TELL_MANAGER,
        message=gettext_noop("SLA breach: %(lead)s has not been called in time."),
        notification="lead_breach",
    )
)
STALL_REMIND = registry.register(
    registry.Kind(
        code="stall_remind",
        subject=LEAD,
        label=_("checked lead reminder"),
        tell=registry.TELL_HOLDER,
        message=gettext_noop("%(lead)s has been waiting in checked: convert or junk it."),
        notification="lead_stall_remind",
    )
)
STALL_ESCALATE = registry.register(
    registry.Kind(
        code="stall_escalate",
        subject=LEAD,
        label=_("checked lead escalation"),
        tell=registry.TELL_MANAGER,
        message=gettext_noop("%(lead)s has been left in checked too long."),
        notification="lead_stall_escalate",
    )
)

CALLBACK_KINDS = (WARN.code, BREACH.code)
LEAD_KINDS = (WARN.code, BREACH.code, STALL_REMIND.code, STALL_ESCALATE.code)


def schedule_callback(lead: Lead, warn_at: datetime, breach_at: datetime) -> None:
    deadlines.schedule(lead, [(WARN.code, warn_at), (BREACH.code, breach_at)])


def schedule_requested_callback(lead: Lead, callback_at: datetime) -> None:
    schedule_callback(
        lead, *sla.callback_deadlines(callback_at, lead.team, working_week(lead.team))
    )


def schedule_stall(lead: Lead, checked_at: datetime) -> None:
    remind_at, escalate_at = sla.stall_deadlines(checked_at, lead.team, working_week(lead.team))
    deadlines.schedule(lead, [(STALL_REMIND.code, remind_at), (STALL_ESCALATE.code, escalate_at)])


def cancel(lead: Lead, now: datetime, kinds: Iterable[str] | None = None) -> None:
    """Stop the clock: pending deadlines of these kinds (all the lead's by default)."""
    deadlines.cancel(lead, now, LEAD_KINDS if kinds is None else kinds)


# A lead's SLA status, written once. The clock is its callback deadlines (the first call's
# warning and breach, or a requested callback's): one runs while it is not cancelled and no
# call was logged since it fell due. A lead with no running clock is "stopped" (called, a
# duplicate waiting on its original's clock, an imported lead); otherwise it is "breach" once a
# running breach is due, "warning" once a running warning is due, else "ok". The queue's badge,
# the workspace and "SLA now" all read this.
def running_callback_q(via: str = "") -> Q:
    """Callback deadlines whose clock still runs; `via` is the path from the queried model to
    the Deadline ("" from Deadline itself)."""
    return Q(**{f"{via}kind__in": CALLBACK_KINDS, f"{via}cancelled_at": None}) & (
        Q(**{f"{via}lead__last_attempt_at": None})
        | Q(**{f"{via}lead__last_attempt_at__lt": F(f"{via}due_at")})
    )


@dataclass(frozen=True)
class SlaState:
    status: str  # "ok", "warning", "breach" or "stopped"
    since: datetime | None  # the due moment it began at; None while ok or stopped


STOPPED = SlaState("stopped", None)


def sla_state_of(clock: Iterable[Deadline], now: datetime) -> SlaState:
    """The status from a lead's running callback deadlines (running_callback_q)."""
    clock = list(clock)
    for kind in (BREACH.code, WARN.code):
        due = [d.due_at for d in clock if d.kind == kind and d.due_at <= now]
        if due:
            return SlaState("breach" if kind == BREACH.code else "warning", min(due))
    return SlaState("ok", None) if clock else STOPPED


def attach_sla(leads: Iterable[Lead], now: datetime) -> None:
    """Give each lead its `sla` (an SlaState), with one query for all of them."""
    leads = [lead for lead in leads if lead.pk is not None]
    clocks: dict[int, list[Deadline]] = {lead.pk: [] for lead in leads}
    if clocks:
        running = Deadline.objects.filter(running_callback_q(), lead__in=list(clocks)).only(
            "lead_id", "kind", "due_at"
        )
        for deadline in running:
            clocks[cast(int, deadline.lead_id)].append(deadline)  # lead__in: never None
    for lead in leads:
        lead.sla = sla_state_of(clocks[lead.pk], now) if lead.is_open else STOPPED


def sla_state(lead: Lead, now: datetime) -> SlaState:
    if getattr(lead, "sla", None) is None:
        attach_sla([lead], now)
    return lead.sla


def raised_on_timeline(
    lead: Lead, since: datetime | None, until: datetime | None
) -> list[LeadEvent]:
    """The lead's alerts raised from `since` (inclusive) to `until` (exclusive; None: no
    bound), as entries of its timeline (crm.lib.timeline's `also`), unsaved.

    An alert is read from its raised deadline, not stored as an event: the sweep raises a
    thousand deadlines of random leads at once, and an event row each would put an entry at
    each lead's place in the events' timeline index — a page read from disk per alert once
    that index outgrows memory (Performance → 1M and 10M). The deadlines' `lead` index serves
    this read."""
    raised = lead.deadlines.filter(raised_at__isnull=False)
    if since is not None:
        raised = raised.filter(raised_at__gte=since)
    if until is not None:
        raised = raised.filter(raised_at__lt=until)
    rows = raised.order_by("raised_at", "id").values_list("raised_at", "kind")
    return [
        # raised_at__isnull=False above: never None
        LeadEvent(
            lead=lead, at=cast(datetime, at), kind=LeadEvent.Kind.ALERT, note=registry.label(kind)
        )
        for at, kind in rows
    ]
