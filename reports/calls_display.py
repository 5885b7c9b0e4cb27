"""The call metrics as people read them (the page and its CSV) and as scripts read them (the
API's CSV): the same figures of `reports.calls`, labelled and formatted."""

from collections.abc import Iterator

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from reports.formatting import COUNT, SHARE, figure, number, plain

SECONDS = "seconds"


def labels(team: dict) -> list[tuple[str, str, str]]:
    """(code, label, kind) of each figure, worded with the team's own norm and SLA."""
    return [
        ("calls_made", _("Calls made (outbound)"), COUNT),
        ("calls_received", _("Calls received (inbound)"), COUNT),
        ("calls_missed", _("Inbound calls missed"), COUNT),
        ("reached", _("Reached calls"), COUNT),
        (
            "reached_long",
            _("Reached calls of %(seconds)s s or more") % {"seconds": team["norm_seconds"]},
            COUNT,
        ),
        ("talk_s", _("Talk time, total"), SECONDS),
        ("talk_s_average", _("Talk time per reached call"), SECONDS),
        ("decided", _("Leads decided (handed off or junk)"), COUNT),
        ("calls_per_decision", _("Calls per lead before the decision"), "ratio"),
        ("first_calls", _("First calls to new leads"), COUNT),
        (
            "first_calls_within_sla",
            _("First calls within the SLA (%(minutes)s working min)")
            % {"minutes": team["sla_minutes"]},
            COUNT,
        ),
        ("first_calls_within_sla_share", _("Share of first calls within the SLA"), SHARE),
        ("working_days", _("Working days"), COUNT),
        (
            "days_norm_met",
            _("Days with %(norm)s reached calls of %(seconds)s s or more")
            % {"norm": team["norm_per_day"], "seconds": team["norm_seconds"]},
            COUNT,
        ),
    ]


def source_label(team: dict) -> str:
    if team["source"] == "pbx":
        return _("From the PBX: real call starts and talk time.")
    return _(
        "No PBX is connected: from the calls the qualifiers logged by hand (durations as typed;"
        " calls received and missed are not known)."
    )


def clock(seconds: float | None) -> str:
    """A duration as a person reads it: 0:45, 12:05, 3:25:45."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def shown(value, kind: str) -> str:
    if kind == SECONDS:
        return clock(value)
    if kind == "ratio":
        return number(value, 1)
    return figure(value, kind)


def table(team: dict) -> list[dict]:
    """The page's table: a row per figure, the team's column first, then each qualifier's."""
    columns = [team["figures"], *(q["figures"] for q in team["qualifiers"])]
    return [
        {"code": code, "label": label, "values": [shown(c[code], kind) for c in columns]}
        for code, label, kind in labels(team)
    ]


def chart(qualifier: dict, norm: int) -> dict:
    """Reached calls of N s+ per day as bars, with the norm as a line across them. The SVG's
    numbers are written by Python (never localised); each bar has its day and count as a title."""
    days = qualifier["days"]
    height, step = 60.0, 10
    top = max([norm, *(d["reached_long"] for d in days)]) * 1.15 or 1
    bars = []
    for i, day in enumerate(days):
        h = day["reached_long"] / top * height
        kind = "off" if not day["working"] else ("met" if day["met"] else "short")
        bars.append(
            {
                "x": f"{i * step + 1}",
                "y": f"{height - h:.1f}",
                "h": f"{h:.1f}",
                "css": kind,
                "title": f"{date_format(day['date'], 'SHORT_DATE_FORMAT')}: {day['reached_long']}",
            }
        )
    return {
        "width": max(len(days) * step, step),
        "height": f"{height:.0f}",
        # The norm as a bar one unit high, centred on its level (a zero-height SVG line would
        # be drawn, but counts as invisible to the browser's accessibility tree).
        "norm_y": f"{height - norm / top * height - 0.5:.1f}",
        "bars": bars,
    }


def human_rows(report: list[dict]) -> list[list[str]]:
    """The page's CSV: the reader's language and decimal mark, a row per figure and person,
    then a row per person and day."""
    rows = [[_("Team"), _("Source"), _("Qualifier"), _("Metric"), _("Value")]]
    for team in report:
        source = _("PBX") if team["source"] == "pbx" else _("typed by hand")
        people = [(_("whole team"), team["figures"])]
        people += [(q["name"], q["figures"]) for q in team["qualifiers"]]
        for name, figures in people:
            for code, label, kind in labels(team):
                unit = f"{label}, {_('seconds')}" if kind == SECONDS else label
                value = plain(figures[code], "minutes" if kind == "ratio" else kind)
                rows.append([team["name"], source, name, unit, value])
        per_day = _("%(date)s: reached calls of %(seconds)s s or more")
        for q in team["qualifiers"]:
            for day in q["days"]:
                when = date_format(day["date"], "SHORT_DATE_FORMAT")
                label = per_day % {"date": when, "seconds": team["norm_seconds"]}
                rows.append([team["name"], source, q["name"], label, str(day["reached_long"])])
    return rows


def rows(report: list[dict]) -> Iterator[list]:
    """The API's CSV: metric codes, a decimal point, the qualifier's login; a day's reached
    calls of N s+ as `reached_long:YYYY-MM-DD`."""
    yield ["team", "source", "qualifier", "metric", "value"]
    for team in report:
        head = [team["name"], team["source"]]
        yield from ([*head, "", code, value] for code, value in team["figures"].items())
        for q in team["qualifiers"]:
            yield from ([*head, q["username"], c, v] for c, v in q["figures"].items())
            for day in q["days"]:
                metric = f"reached_long:{day['date'].isoformat()}"
                yield [*head, q["username"], metric, day["reached_long"]]
