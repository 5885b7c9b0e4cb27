"""What the report page shows of the figures: labelled rows and chart series."""

from django.utils.translation import gettext_lazy as _

ROWS = {
    "qualification": [
        (_("Leads in"), "leads", ""),
        (_("Called"), "called", ""),
        (_("Reaction, median (working minutes)"), "reaction_median", ""),
        (_("Reaction, 90th percentile"), "reaction_p90", ""),
        (_("Called within 15 minutes"), "within_15_share", "%"),
        (_("Called within 20 minutes"), "within_20_share", "%"),
        (_("Still new"), "new", ""),
        (_("Checked, not yet converted"), "checked", ""),
        (_("Converted"), "converted", ""),
        (_("Junk"), "junk", ""),
        (_("Lead → handoff"), "lead_to_handoff", "%"),
        (_("Handoff → accepted"), "handoff_to_accepted", "%"),
        (_("Handoff → won"), "handoff_to_won", "%"),
        (_("Lead → won"), "lead_to_won", "%"),
        (_("Revenue won"), "revenue", ""),
        (_("Disputes raised"), "disputes", ""),
        (_("Disputes upheld"), "upheld", ""),
        (_("Disputes rejected"), "rejected", ""),
        (_("Disputes open"), "disputes_open", ""),
        (_("Disputes per 100 handoffs"), "disputes_per_100", ""),
        (_("SLA breaches"), "breaches_total", ""),
    ],
    "sales": [
        (_("Handoffs received"), "handoffs", ""),
        (_("Accepted"), "accepted", ""),
        (_("Handoff → accepted"), "handoff_to_accepted", "%"),
        (_("Won (of these handoffs)"), "won", ""),
        (_("Handoff → won"), "handoff_to_won", "%"),
        (_("Returned by disputes"), "returned", ""),
        (_("Deals won in the period"), "closed_won", ""),
        (_("Deals lost in the period"), "closed_lost", ""),
        (_("Win rate"), "win_rate", "%"),
        (_("Revenue won"), "revenue", ""),
        (_("Disputes raised"), "disputes", ""),
        (_("Disputes upheld"), "upheld", ""),
        (_("Disputes rejected"), "rejected", ""),
        (_("Disputes open"), "disputes_open", ""),
        (_("Disputes per 100 handoffs"), "disputes_per_100", ""),
    ],
}
WEEKDAYS = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def table(team: dict) -> list[tuple]:
    now, before = team["figures"], team["previous"]
    if "breaches" in now:
        now["breaches_total"] = now["breaches"]["total"]
        before["breaches_total"] = before["breaches"]["total"]
    return [
        (label, key, now[key], before[key], suffix) for label, key, suffix in ROWS[team["kind"]]
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
        (_("Calls logged"), "calls"),
        (_("Reached calls of 30 s or more"), "reached_calls"),
        (_("First calls to new leads"), "first_calls"),
        (_("Reaction, median (working minutes)"), "reaction_median"),
        (_("Reaction, 90th percentile"), "reaction_p90"),
        (_("Checked"), "checked"),
        (_("Converted"), "converted"),
        (_("Junk"), "junk"),
        (_("Converted per first call"), "lead_to_handoff"),
        (_("Handoffs"), "handoffs"),
        (_("Handoffs won"), "handoffs_won"),
        (_("Disputes upheld against"), "disputes_upheld"),
    ],
    "closer": [
        (_("Deals accepted"), "accepted"),
        (_("Won"), "won"),
        (_("Lost"), "lost"),
        (_("Win rate"), "win_rate"),
        (_("Revenue won"), "revenue"),
        (_("Disputes rejected against"), "disputes_rejected"),
    ],
}


def person_table(now: dict, before: dict, role: str) -> list[tuple]:
    return [(label, key, now[role][key], before[role][key]) for label, key in PERSON_ROWS[role]]
