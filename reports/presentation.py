"""What the report page shows of the figures: labelled rows and chart series."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from reports.formatting import (
    COUNT,
    DOWN,
    MINUTES,
    MONEY,
    NEUTRAL,
    SHARE,
    UP,
    Trend,
    figure,
    plain,
    trend,
)

WITHIN_WARN, WITHIN_BREACH = "within_warn", "within_breach"
KINDS = {"qualification": _("qualifies leads"), "sales": _("closes deals")}


@dataclass(frozen=True)
class Row:
    """One line of a report table, ready to show: the figures formatted in the reader's
    language, and the change judged by the metric's good direction."""

    label: str
    key: str
    kind: str
    good: str
    now: object
    before: object

    @property
    def now_text(self) -> str:
        return figure(self.now, self.kind)

    @property
    def before_text(self) -> str:
        return figure(self.before, self.kind)

    @property
    def now_plain(self) -> str:
        return plain(self.now, self.kind)

    @property
    def before_plain(self) -> str:
        return plain(self.before, self.kind)

    @property
    def trend(self) -> Trend:
        return trend(self.now, self.before, self.good)


def _label(label, figures: dict) -> str:
    """The label as read: the "within" rows name the team's own SLA minutes."""
    if label == WITHIN_WARN:
        minutes = figures["sla_warn_minutes"]
        return ngettext(
            "Called within %(minutes)d minute (warning)",
            "Called within %(minutes)d minutes (warning)",
            minutes,
        ) % {"minutes": minutes}
    if label == WITHIN_BREACH:
        minutes = figures["sla_breach_minutes"]
        return ngettext(
            "Called within %(minutes)d minute (breach)",
            "Called within %(minutes)d minutes (breach)",
            minutes,
        ) % {"minutes": minutes}
    return str(label)


# (label, key, kind, which way is good). The "within" rows name the team's own SLA minutes.
ROWS: dict[str, list[tuple[str | Promise, str, str, str]]] = {
    "qualification": [
        (_("Leads in"), "leads", COUNT, UP),
        (_("Called"), "called", COUNT, UP),
        (_("Reaction, median (working minutes)"), "reaction_median", MINUTES, DOWN),
        (_("Reaction, 90th percentile (working minutes)"), "reaction_p90", MINUTES, DOWN),
        (WITHIN_WARN, "within_warn_share", SHARE, UP),
        (WITHIN_BREACH, "within_breach_share", SHARE, UP),
        (_("Still new"), "new", COUNT, DOWN),
        (_("Checked, not yet converted"), "checked", COUNT, NEUTRAL),
        (_("Converted"), "converted", COUNT, UP),
        (_("Junk"), "junk", COUNT, DOWN),
        (_("Lead → handoff"), "lead_to_handoff", SHARE, UP),
        (_("Handoff → accepted"), "handoff_to_accepted", SHARE, UP),
        (_("Handoff → won"), "handoff_to_won", SHARE, UP),
        (_("Lead → won"), "lead_to_won", SHARE, UP),
        (_("Revenue won"), "revenue", MONEY, UP),
        (_("Disputes raised"), "disputes", COUNT, DOWN),
        (_("Disputes upheld"), "upheld", COUNT, DOWN),
        (_("Disputes rejected"), "rejected", COUNT, NEUTRAL),
        (_("Disputes open"), "disputes_open", COUNT, DOWN),
        (_("Disputes per 100 handoffs"), "disputes_per_100", MINUTES, DOWN),
        (_("SLA breaches"), "breaches_total", COUNT, DOWN),
    ],
    "sales": [
        (_("Handoffs received"), "handoffs", COUNT, UP),
        (_("Accepted"), "accepted", COUNT, UP),
        (_("Handoff → accepted"), "handoff_to_accepted", SHARE, UP),
        (_("Won (of these handoffs)"), "won", COUNT, UP),
        (_("Handoff → won"), "handoff_to_won", SHARE, UP),
        (_("Returned by disputes"), "returned", COUNT, DOWN),
        (_("Deals won in the period"), "closed_won", COUNT, UP),
        (_("Deals lost in the period"), "closed_lost", COUNT, DOWN),
        (_("Win rate"), "win_rate", SHARE, UP),
        (_("Revenue won"), "revenue", MONEY, UP),
        (_("Disputes raised"), "disputes", COUNT, DOWN),
        (_("Disputes upheld"), "upheld", COUNT, NEUTRAL),
        (_("Disputes rejected"), "rejected", COUNT, DOWN),
        (_("Disputes open"), "disputes_open", COUNT, DOWN),
        (_("Disputes per 100 handoffs"), "disputes_per_100", MINUTES, DOWN),
    ],
}
WEEKDAYS = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def table(team: dict) -> list[Row]:
    now, before = team["figures"], team["previous"]
    if "breaches" in now:
        now["breaches_total"] = now["breaches"]["total"]
        before["breaches_total"] = before["breaches"]["total"]
    return [
        Row(_label(label, now), key, kind, good, now[key], before[key])
        for label, key, kind, good in ROWS[team["kind"]]
    ]


def charts(team: dict) -> dict:
    f = team["figures"]
    disputes = [
        (_("upheld"), f["upheld"]),
        (_("rejected"), f["rejected"]),
        (_("open"), f["disputes_open"]),
    ]
    if team["kind"] == "sales":
        return {
            "funnel": [
                (_("Handoffs"), f["handoffs"]),
                (_("Accepted"), f["accepted"]),
                (_("Won"), f["won"]),
            ],
            "disputes": disputes,
            "closers": [(c["closer"], c["revenue"]) for c in f["closers"]],
        }
    return {
        "funnel": [
            (_("Leads"), f["leads"]),
            (_("Called"), f["called"]),
            (_("Converted"), f["converted"]),
            (_("Accepted"), f["accepted"]),
            (_("Won"), f["won"]),
        ],
        "reaction": [(w["week"], w["reaction_median"]) for w in f["weekly"]],
        "junk": f["junk_by_reason"],
        "sources": f["by_source"],
        "disputes": disputes,
        "breach_hours": [(f"{h:02d}", n) for h, n in enumerate(f["breaches"]["hours"]) if n],
        "breach_days": list(zip(WEEKDAYS, f["breaches"]["weekdays"], strict=True)),
    }


PERSON_ROWS = {
    "qualifier": [
        (_("Calls logged"), "calls", COUNT, UP),
        (_("Reached calls of 30 s or more"), "reached_calls", COUNT, UP),
        (_("First calls to new leads"), "first_calls", COUNT, UP),
        (_("Reaction, median (working minutes)"), "reaction_median", MINUTES, DOWN),
        (_("Reaction, 90th percentile (working minutes)"), "reaction_p90", MINUTES, DOWN),
        (_("Checked"), "checked", COUNT, UP),
        (_("Converted"), "converted", COUNT, UP),
        (_("Junk"), "junk", COUNT, NEUTRAL),
        (_("Converted per first call"), "lead_to_handoff", SHARE, UP),
        (_("Handoffs"), "handoffs", COUNT, UP),
        (_("Handoffs won"), "handoffs_won", COUNT, UP),
        (_("Disputes upheld against"), "disputes_upheld", COUNT, DOWN),
    ],
    "closer": [
        (_("Deals accepted"), "accepted", COUNT, UP),
        (_("Won"), "won", COUNT, UP),
        (_("Lost"), "lost", COUNT, DOWN),
        (_("Win rate"), "win_rate", SHARE, UP),
        (_("Revenue won"), "revenue", MONEY, UP),
        (_("Disputes rejected against"), "disputes_rejected", COUNT, DOWN),
    ],
}


def person_table(now: dict, before: dict, role: str) -> list[Row]:
    return [
        Row(str(label), key, kind, good, now[role][key], before[role][key])
        for label, key, kind, good in PERSON_ROWS[role]
    ]


def human_rows(report: list[dict]) -> list[list[str]]:
    """The team report as a person's spreadsheet: headers and labels in the reader's
    language, numbers with its decimal mark, no codes."""
    rows = [
        [
            str(_("Team")),
            str(_("Metric")),
            str(_("This period")),
            str(_("Before")),
            str(_("Change")),
        ]
    ]
    for team in report:
        name = f"{team['name']} ({KINDS[team['kind']]})"
        rows.extend(
            [name, row.label, row.now_plain, row.before_plain, row.trend.text]
            for row in table(team)
        )
        now, before = team["figures"], team["previous"]
        for key, title in (
            ("by_source", _("Leads by source")),
            ("junk_by_reason", _("Junk reasons")),
        ):
            previous = dict(before.get(key, []))
            for label, count in now.get(key, []):
                was = previous.get(label, 0)
                change = trend(count, was, NEUTRAL).text
                rows.append([name, f"{title}: {label}", str(count), str(was), change])
        rows.extend(
            [name, f"{_('Revenue won')}: {closer['closer']}", plain(closer["revenue"], MONEY)]
            for closer in now.get("closers", [])
        )
    return rows
