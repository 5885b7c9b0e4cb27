"""The team report as rows — the same numbers for the page's CSV and the API's."""

from collections.abc import Iterator

from reports.periods import Period
from reports.selectors import qualification_report, sales_report

SCALARS = {
    "qualification": [
        "leads",
        "called",
        "reaction_median",
        "reaction_p90",
        "within_15",
        "within_15_share",
        "within_20",
        "within_20_share",
        "new",
        "checked",
        "converted",
        "junk",
        "accepted",
        "won",
        "lead_to_handoff",
        "handoff_to_accepted",
        "handoff_to_won",
        "lead_to_won",
        "revenue",
        "disputes",
        "upheld",
        "rejected",
        "disputes_open",
        "disputes_per_100",
    ],
    "sales": [
        "handoffs",
        "accepted",
        "handoff_to_accepted",
        "won",
        "handoff_to_won",
        "returned",
        "closed_won",
        "closed_lost",
        "win_rate",
        "revenue",
        "disputes",
        "upheld",
        "rejected",
        "disputes_open",
        "disputes_per_100",
    ],
}


def team_report(teams: list, period: Period) -> list[dict]:
    """Each team's figures for the period and for the one before it."""
    figures: dict[int, list[dict]] = {}
    # The same days, in each team's own time zone: a Yekaterinburg team's day starts two
    # hours before Moscow's. Teams of one kind and zone are computed together.
    groups: dict[tuple, list] = {}
    for team in teams:
        groups.setdefault((team.kind, team.time_zone), []).append(team)
    for (kind, _zone), group in groups.items():
        local = Period(period.first_day, period.last_day, group[0].zone)
        compute = qualification_report if kind == "qualification" else sales_report
        figures.update(compute(group, [local, local.previous()]))
    report = []
    for team in teams:
        now, before = figures[team.pk]
        before.pop("today_as_of")  # the period before holds no open day
        report.append(
            {
                "id": team.pk,
                "name": team.name,
                "kind": team.kind,
                # When beat computed the period's open days (today; reports/today.py); None:
                # computed by this read, or no open day in the period.
                "today_as_of": now.pop("today_as_of"),
                "figures": now,
                "previous": before,
            }
        )
    return report


def rows(report: list[dict]) -> Iterator[list]:
    yield ["team", "kind", "metric", "value", "previous"]
    for team in report:
        now, before = team["figures"], team["previous"]
        for name in SCALARS[team["kind"]]:
            yield [team["name"], team["kind"], name, now[name], before[name]]
        for key in ("by_source", "junk_by_reason"):
            previous = dict(before.get(key, []))
            for label, count in now.get(key, []):
                yield [team["name"], team["kind"], f"{key}: {label}", count, previous.get(label, 0)]
        for closer in now.get("closers", []):
            for name in ("won", "lost", "win_rate", "revenue"):
                yield [
                    team["name"],
                    team["kind"],
                    f"closer {closer['closer']}: {name}",
                    closer[name],
                    "",
                ]
        if "breaches" in now:
            for hour, count in enumerate(now["breaches"]["hours"]):
                yield [
                    team["name"],
                    team["kind"],
                    f"breaches at {hour:02d}h",
                    count,
                    before["breaches"]["hours"][hour],
                ]
