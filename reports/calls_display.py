"""The call metrics as people read them (the page and its CSV) and as scripts read them (the
API's CSV): the same figures of `reports.calls`, labelled and formatted."""

from collections.abc import Iterator
from datetime import date

from django.utils.formats import date_format
from django.utils.html import conditional_escape as e
from django.utils.safestring import SafeString, mark_safe
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


def table(team: dict) -> SafeString:
    """The page's table's rows: a row per figure, the team's column first, then each
    qualifier's. Written here, not by the template: all teams have ~1,300 cells, and the
    template engine's per-cell work was a tenth of the page."""
    columns = [team["figures"], *(q["figures"] for q in team["qualifiers"])]
    rows = (
        f'<tr data-metric="{code}"><th scope="row">{e(label)}</th>'
        + "".join(f'<td class="now">{e(shown(c[code], kind))}</td>' for c in columns)
        + "</tr>"
        for code, label, kind in labels(team)
    )
    return mark_safe("".join(rows))  # noqa: S308 - every text is escaped above


def day_names(report: list[dict]) -> dict[date, str]:
    """Each day of the report as the reader writes it (01.11.2026), worded once: the teams and
    their qualifiers share the period's days, and Django's date_format costs ~40 µs a call (a
    quarter of all teams has ~8,000 qualifier-days)."""
    days = {d["date"] for team in report for q in team["qualifiers"][:1] for d in q["days"]}
    return {day: date_format(day, "SHORT_DATE_FORMAT") for day in days}


def day_titles(report: list[dict]) -> dict[date, str]:
    """day_names escaped for the charts' markup, as `{{ }}` would."""
    return {day: str(e(name)) for day, name in day_names(report).items()}


def figure_words() -> dict[str, str]:
    """The words of every qualifier's figure, translated (and escaped) once per page."""
    return {
        "caption": _("norm met on %(met)s of %(days)s working days"),
        "label": e(_("Reached calls per day against the norm")),
        "norm": e(_("norm")),
        "by_day": e(_("By day")),
        "link": e(_("Reached calls by day")),
        "not_begun": e(_("The period has not begun yet.")),
    }


def norm_figure(
    qualifier: dict, norm: int, titles: dict[date, str], days_url: str, words: dict[str, str]
) -> SafeString:
    """A qualifier's figure: "norm met on X of Y working days", the chart, and "By day" folded,
    its table fetched by htmx when opened (calls_views.calls_days; `days_url`, a page of its
    own without a script). Written here, not by the template, as `table`: 80+ figures."""
    figures = qualifier["figures"]
    met = {"met": figures["days_norm_met"], "days": figures["working_days"]}
    head = (
        f'<figure class="chart norm-chart" data-qualifier="{qualifier["id"]}">'
        f"<figcaption>{e(qualifier['name'])}: {words['caption'] % met}</figcaption>"
    )
    if not qualifier["days"]:
        return mark_safe(f'{head}<p class="muted chart-empty">{words["not_begun"]}</p></figure>')  # noqa: S308
    url = e(days_url)
    return mark_safe(  # noqa: S308 - every text is escaped above
        f"{head}{chart(qualifier, norm, titles, words)}"
        f'<details hx-get="{url}" hx-trigger="toggle once" hx-target="find .norm-days-box">'
        f'<summary>{words["by_day"]}</summary><div class="norm-days-box"><a href="{url}">'
        f"{words['link']}</a></div></details></figure>"
    )


def chart(qualifier: dict, norm: int, titles: dict[date, str], words: dict[str, str]) -> str:
    """Reached calls of N s+ per day as bars, with the norm as a line across them, as SVG.
    Written here, not by the template: a quarter of all teams draws ~8,000 bars, and the
    template engine took seconds over them. The numbers are Python's (never localised); each
    bar has its day (`titles`: day_titles) and count as a title."""
    days = qualifier["days"]
    height, step = 60.0, 10
    top = max([norm, *(d["reached_long"] for d in days)]) * 1.15 or 1
    shapes: dict[int, str] = {}  # a count's bar, worked out once: a chart repeats a few counts
    bars = []
    for i, day in enumerate(days):
        n = day["reached_long"]
        if n not in shapes:
            h = n / top * height
            shapes[n] = f'y="{height - h:.1f}" width="8" height="{h:.1f}"'
        kind = "off" if not day["working"] else ("met" if day["met"] else "short")
        bars.append(
            f'<rect class="{kind}" x="{i * step + 1}" {shapes[n]}>'
            f"<title>{titles[day['date']]}: {n}</title></rect>"
        )
    width = max(len(days) * step, step)
    # The norm as a bar one unit high, centred on its level (a zero-height SVG line would be
    # drawn, but counts as invisible to the browser's accessibility tree).
    norm_y = f"{height - norm / top * height - 0.5:.1f}"
    return (
        f'<svg class="norm-bars" viewBox="0 0 {width} {height:.0f}" preserveAspectRatio="none" '
        f'role="img" aria-label="{words["label"]}">{"".join(bars)}<rect class="norm-line" '
        f'x="0" y="{norm_y}" width="{width}" height="1"><title>{words["norm"]}: {norm}</title>'
        "</rect></svg>"
    )


def human_rows(report: list[dict]) -> Iterator[list[str]]:
    """The page's CSV: the reader's language and decimal mark, a row per figure and person,
    then a row per person and day. Yielded, not listed: ~9,000 rows kept alive at once for a
    quarter of all teams made the garbage collector walk them again and again."""
    yield [_("Team"), _("Source"), _("Qualifier"), _("Metric"), _("Value")]
    names = day_names(report)
    seconds = _("seconds")
    for team in report:
        source = _("PBX") if team["source"] == "pbx" else _("typed by hand")
        metrics = [
            (code, f"{label}, {seconds}" if kind == SECONDS else label, kind)
            for code, label, kind in labels(team)
        ]
        people = [(_("whole team"), team["figures"])]
        people += [(q["name"], q["figures"]) for q in team["qualifiers"]]
        for name, figures in people:
            for code, unit, kind in metrics:
                value = plain(figures[code], "minutes" if kind == "ratio" else kind)
                yield [team["name"], source, name, unit, value]
        per_day = _("%(date)s: reached calls of %(seconds)s s or more")
        norm = team["norm_seconds"]
        day_label = {day: per_day % {"date": n, "seconds": norm} for day, n in names.items()}
        for q in team["qualifiers"]:
            for day in q["days"]:
                label = day_label[day["date"]]
                yield [team["name"], source, q["name"], label, str(day["reached_long"])]


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
