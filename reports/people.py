"""Per-person figures, the leaderboard and what predicts a sale — in the database."""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count, F, Q, Sum

from deals.models import Deal
from handoff.models import Dispute, Handoff
from leads.models import Answer, ContactAttempt, Lead, LeadEvent, LeadSource
from reports.aggregates import percentiles
from reports.models import LeaderboardWeights
from reports.periods import Period
from reports.selectors import closed_deals, money, share

REACHED_CALL_SECONDS = 30


def person_figures(user: User, period: Period) -> dict:
    """What one person did in the period, as a qualifier and as a closer."""
    in_period = {"at__gte": period.start, "at__lt": period.end}
    calls = ContactAttempt.objects.filter(by=user, **in_period)
    first_calls = calls.filter(at=F("lead__first_attempt_at"))
    median, p90 = percentiles(
        Lead.objects.filter(pk__in=first_calls.values("lead")), "reaction_minutes", (0.5, 0.9)
    )
    decisions = LeadEvent.objects.filter(actor=user, kind=LeadEvent.Kind.TRANSITION, **in_period)
    handoffs = Handoff.objects.filter(
        qualifier=user, handed_off_at__gte=period.start, handed_off_at__lt=period.end
    )
    qualifier = {
        "calls": calls.count(),
        "reached_calls": calls.filter(
            outcome=ContactAttempt.Outcome.REACHED, duration_s__gte=REACHED_CALL_SECONDS
        ).count(),
        "first_calls": first_calls.count(),
        "reaction_median": None if median is None else round(median, 1),
        "reaction_p90": None if p90 is None else round(p90, 1),
        **decisions.aggregate(
            checked=Count("id", filter=Q(to_state=Lead.State.CHECKED)),
            converted=Count("id", filter=Q(to_state=Lead.State.CONVERTED)),
            junk=Count("id", filter=Q(to_state=Lead.State.JUNK)),
        ),
        **handoffs.aggregate(
            handoffs=Count("id"),
            handoffs_won=Count("id", filter=Q(deal__stage=Deal.Stage.WON)),
            disputes_upheld=Count("dispute", filter=Q(dispute__outcome=Dispute.Outcome.UPHELD)),
        ),
    }
    deals = Deal.objects.filter(closer=user)
    closer = {
        "accepted": deals.filter(accepted_at__gte=period.start, accepted_at__lt=period.end).count(),
        **closed_deals(deals, period).aggregate(
            won=Count("id", filter=Q(stage=Deal.Stage.WON)),
            lost=Count("id", filter=Q(stage=Deal.Stage.LOST)),
            revenue=Sum("amount", filter=Q(stage=Deal.Stage.WON)),
        ),
        "disputes_rejected": Dispute.objects.filter(
            deal__closer=user,
            outcome=Dispute.Outcome.REJECTED,
            resolved_at__gte=period.start,
            resolved_at__lt=period.end,
        ).count(),
    }
    closer["revenue"] = money(closer["revenue"])
    closer["win_rate"] = share(closer["won"], closer["won"] + closer["lost"])
    qualifier["lead_to_handoff"] = share(qualifier["converted"], qualifier["first_calls"])
    return {"qualifier": qualifier, "closer": closer}


def leaderboard(team_ids: list[int], period: Period) -> dict:
    """Points per person for the actions that count, and per qualifier–closer chain."""
    weights = LeaderboardWeights.current()
    points: dict[int, dict] = defaultdict(
        lambda: {"points": 0, "reached_calls": 0, "checks": 0, "conversions": 0, "wins": 0}
    )
    span = {"at__gte": period.start, "at__lt": period.end}
    for row in (
        ContactAttempt.objects.filter(
            lead__team__in=team_ids,
            outcome=ContactAttempt.Outcome.REACHED,
            duration_s__gte=REACHED_CALL_SECONDS,
            **span,
        )
        .values("by")
        .annotate(n=Count("id"))
    ):
        _add(points, row["by"], "reached_calls", row["n"], weights.reached_call)
    for row in (
        LeadEvent.objects.filter(
            lead__team__in=team_ids,
            kind=LeadEvent.Kind.TRANSITION,
            to_state=Lead.State.CHECKED,
            **span,
        )
        .values("actor")
        .annotate(n=Count("id"))
    ):
        _add(points, row["actor"], "checks", row["n"], weights.checked_lead)
    # A sales team's board counts the handoffs it received, a qualification team's those it made.
    handoffs = Handoff.objects.filter(
        Q(from_team__in=team_ids) | Q(team__in=team_ids),
        handed_off_at__gte=period.start,
        handed_off_at__lt=period.end,
    )
    # A conversion counts unless a dispute took it back.
    kept = handoffs.exclude(dispute__outcome=Dispute.Outcome.UPHELD)
    for row in kept.values("qualifier").annotate(n=Count("id")):
        _add(points, row["qualifier"], "conversions", row["n"], weights.conversion)
    for row in (
        closed_deals(Deal.objects.filter(stage=Deal.Stage.WON), period)
        .filter(Q(team__in=team_ids) | Q(lead__team__in=team_ids))
        .values("closer")
        .annotate(n=Count("id"))
    ):
        _add(points, row["closer"], "wins", row["n"], weights.won_deal)
    chains = list(
        kept.filter(deal__closer__isnull=False)
        .values("qualifier", "deal__closer")
        .annotate(handoffs=Count("id"), won=Count("id", filter=Q(deal__stage=Deal.Stage.WON)))
        .order_by("-won", "-handoffs")
    )
    names = _names(
        {*points, *(c["qualifier"] for c in chains), *(c["deal__closer"] for c in chains)}
    )
    people = sorted(
        ({"person": names.get(pk, ""), **row} for pk, row in points.items()),
        key=lambda r: (-r["points"], r["person"]),
    )
    return {
        "weights": weights,
        "people": people,
        "chains": [
            {
                "qualifier": names.get(c["qualifier"], ""),
                "closer": names.get(c["deal__closer"], ""),
                "handoffs": c["handoffs"],
                "won": c["won"],
                "points": c["handoffs"] * weights.conversion + c["won"] * weights.won_deal,
            }
            for c in chains
        ],
    }


def _names(ids: set) -> dict[int, str]:
    """People as pages name them: the full name, else the login."""
    users = get_user_model().objects.filter(pk__in=[pk for pk in ids if pk is not None])
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


def _add(points: dict, person: int | None, action: str, count: int, weight: int) -> None:
    if person:
        points[person][action] += count
        points[person]["points"] += count * weight


def answer_outcomes(team_ids: list[int], period: Period) -> list[dict]:
    """For each answer given on handed-off leads: how their deals ended. Which answers predict
    a sale, so the admin can tune the criteria."""
    rows = (
        Answer.objects.filter(
            lead__team__in=team_ids,
            lead__handoff__handed_off_at__gte=period.start,
            lead__handoff__handed_off_at__lt=period.end,
        )
        .values("question", "kind", "value", "label")
        .annotate(
            deals=Count("id"),
            won=Count("id", filter=Q(lead__deal__stage=Deal.Stage.WON)),
            lost=Count("id", filter=Q(lead__deal__stage=Deal.Stage.LOST)),
            disputed_away=Count(
                "id", filter=Q(lead__deal__dispute__outcome=Dispute.Outcome.UPHELD)
            ),
        )
        .order_by("question", "-deals")
    )
    return [{**r, "win_rate": share(r["won"], r["won"] + r["lost"])} for r in rows]


def source_quality(team_ids: list[int], period: Period) -> list[dict]:
    """Per source: how much of it is junk, and how often its handoffs are disputed."""
    leads_in = Q(
        lead__team__in=team_ids,
        lead__created_at__gte=period.start,
        lead__created_at__lt=period.end,
        lead__imported_history=False,  # converted in another CRM: no handoff of this team's
    )
    rows = (
        LeadSource.objects.annotate(
            leads_count=Count("lead", filter=leads_in),
            junk=Count("lead", filter=leads_in & Q(lead__state=Lead.State.JUNK)),
            handoffs=Count("lead__handoff", filter=leads_in),
            disputed=Count("lead__deal__dispute", filter=leads_in),
            upheld=Count(
                "lead__deal__dispute",
                filter=leads_in & Q(lead__deal__dispute__outcome=Dispute.Outcome.UPHELD),
            ),
        )
        .filter(leads_count__gt=0)
        .order_by("-leads_count")
    )
    return [
        {
            "source": s.name,
            "leads": s.leads_count,
            "junk": s.junk,
            "junk_rate": share(s.junk, s.leads_count),
            "handoffs": s.handoffs,
            "disputes": s.disputed,
            "dispute_rate": share(s.disputed, s.handoffs),
            "upheld": s.upheld,
        }
        for s in rows
    ]
