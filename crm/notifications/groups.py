"""The inbox as a person reads a real day: notifications of one kind about one team within one
hour are one line ("12 SLA breaches in Call centre"), and the bell counts those lines.

Grouped in the database (GROUP BY kind, team, hour), so a day of thousands of alerts costs
one aggregate over the person's rows, read through the inbox and unread indexes."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.notifications.models import Notification
from crm.teams.models import Team

# The kinds a person can filter by, in the order the filter lists them.
KINDS = {
    "lead_breach": _("SLA breaches"),
    "lead_warn": _("Leads to call now"),
    "lead_stall_remind": _("Leads waiting in checked"),
    "lead_stall_escalate": _("Leads left in checked"),
    "deal_new": _("New deals"),
    "deal_not_accepted": _("Deals nobody accepted"),
    "dispute": _("Disputes"),
}


def _summary(kind: str, count: int, team: str) -> str:
    """What a group of `count` notifications says, naming the team when it is known."""
    texts = {
        "lead_breach": lambda: ngettext(
            "%(count)d SLA breach in %(team)s", "%(count)d SLA breaches in %(team)s", count
        ),
        "lead_warn": lambda: ngettext(
            "%(count)d lead to call now in %(team)s",
            "%(count)d leads to call now in %(team)s",
            count,
        ),
        "lead_stall_remind": lambda: ngettext(
            "%(count)d lead waiting in checked in %(team)s",
            "%(count)d leads waiting in checked in %(team)s",
            count,
        ),
        "lead_stall_escalate": lambda: ngettext(
            "%(count)d lead left in checked too long in %(team)s",
            "%(count)d leads left in checked too long in %(team)s",
            count,
        ),
        "deal_new": lambda: ngettext(
            "%(count)d new deal handed off to %(team)s",
            "%(count)d new deals handed off to %(team)s",
            count,
        ),
        "deal_not_accepted": lambda: ngettext(
            "%(count)d deal nobody has accepted in %(team)s",
            "%(count)d deals nobody has accepted in %(team)s",
            count,
        ),
        "dispute": lambda: ngettext(
            "%(count)d dispute in %(team)s", "%(count)d disputes in %(team)s", count
        ),
    }
    if kind not in texts:
        return ngettext("%(count)d notification", "%(count)d notifications", count) % {
            "count": count
        }
    if not team:
        # Written before notifications named their team: the kind and count say enough.
        return f"{KINDS[kind]}: {count}"
    return texts[kind]() % {"count": count, "team": team}


@dataclass(frozen=True)
class Group:
    kind: str
    team_id: int | None
    hour: datetime
    count: int
    unread: int
    first_at: datetime
    last_at: datetime
    latest_id: int
    text: str
    single: Notification | None  # the notification itself when the group holds one

    @property
    def key(self) -> str:
        """The group's address in the inbox's query (kind, team, hour)."""
        return f"{self.kind}:{self.team_id or ''}:{self.hour:%Y%m%d%H}"


def _hour():
    # UTC hours: the same buckets whoever reads and whatever the server's zone.
    return TruncHour("created_at", tzinfo=UTC)


def mine(user: User, kind: str = "", unread_only: bool = False) -> QuerySet:
    rows = Notification.objects.filter(recipient=user)
    if kind:
        rows = rows.filter(kind=kind)
    if unread_only:
        rows = rows.filter(read_at=None)
    return rows


def groups(rows: QuerySet, limit: int) -> list[Group]:
    """The newest `limit` groups of these notifications, newest first."""
    found = list(
        rows.annotate(hour=_hour())
        .values("kind", "team", "hour")
        .annotate(
            n=Count("id"),
            unread=Count("id", filter=Q(read_at=None)),
            first_at=Min("created_at"),
            last_at=Max("created_at"),
            latest_id=Max("id"),
        )
        .order_by("-last_at", "-latest_id")[:limit]
    )
    teams = dict(
        Team.objects.filter(pk__in={g["team"] for g in found if g["team"]}).values_list(
            "pk", "name"
        )
    )
    singles = Notification.objects.in_bulk([g["latest_id"] for g in found if g["n"] == 1])
    return [
        Group(
            kind=g["kind"],
            team_id=g["team"],
            hour=g["hour"],
            count=g["n"],
            unread=g["unread"],
            first_at=g["first_at"],
            last_at=g["last_at"],
            latest_id=g["latest_id"],
            text=_summary(g["kind"], g["n"], teams.get(g["team"], "")),
            single=singles.get(g["latest_id"]) if g["n"] == 1 else None,
        )
        for g in found
    ]


def unread_groups(user: User) -> int:
    """What the bell shows: how many lines of the inbox have something unread."""
    return (
        Notification.objects.filter(recipient=user, read_at=None)
        .annotate(hour=_hour())
        .values("kind", "team", "hour")
        .distinct()
        .count()
    )


def unread_by_kind(user: User) -> dict[str, int]:
    rows = Notification.objects.filter(recipient=user, read_at=None)
    return dict(rows.values_list("kind").annotate(n=Count("id")).order_by())


def in_group(rows: QuerySet, key: str) -> QuerySet | None:
    """The notifications of one group, by its key; None for a key that is no group's."""
    kind, sep, rest = key.partition(":")
    team, sep2, hour = rest.partition(":")
    if not (sep and sep2 and kind and (team == "" or team.isdigit())):
        return None
    try:
        start = datetime.strptime(hour, "%Y%m%d%H").replace(tzinfo=UTC)
    except ValueError:
        return None
    rows = rows.filter(kind=kind, created_at__gte=start, created_at__lt=start + timedelta(hours=1))
    return rows.filter(team=int(team)) if team else rows.filter(team=None)
