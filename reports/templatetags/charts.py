"""Small server-side charts (HTML bars, an SVG line): nothing to download, nothing to run.

Numbers inside SVG are written by Python, never by the template's localisation: Russian
writes 12,5 and an SVG coordinate needs 12.5. A chart with nothing to draw says why.

The bars and the table rows are written here, not by included templates: the team report of
all teams draws ~250 rows and ~500 bars, and Django's engine spent about as long resolving
their ~4,000 variables (~100 ms on the bench machine) as the report took to add up its days.
The markup is the templates' was, escaped the same way (conditional_escape: what `{{ }}` does)."""

from django import template
from django.utils.html import conditional_escape as e
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from reports.formatting import COUNT, figure
from reports.formatting import trend as judged

register = template.Library()


def _svg(value: float) -> str:
    """A coordinate in SVG's own syntax (12.5), whatever the reader's language."""
    return f"{value:.1f}"


@register.simple_tag
def bars(items, css: str = "", kind: str = COUNT, empty: str = "") -> SafeString:
    """Horizontal bars for (label, value) pairs, scaled to the largest."""
    items = [(label, value or 0) for label, value in items]
    top = max((value for _label, value in items), default=0)
    if not top:
        return _empty(empty)
    bars = "".join(
        f'<li><span class="label" title="{text}">{text}</span><svg class="bar" '
        'viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true"><rect width="'
        f'{round(100 * value / top)}" height="1"></rect></svg><span class="value">'
        f"{e(figure(value, kind))}</span></li>"
        for text, value in ((e(label), value) for label, value in items)  # a label read once
    )
    return mark_safe(f'<ul class="bars {e(css)}">{bars}</ul>\n')  # noqa: S308 - escaped above


def _empty(empty: str) -> SafeString:
    text = e(empty or _("Nothing to show in this period."))
    return mark_safe(f'<p class="muted chart-empty">{text}</p>\n')  # noqa: S308 - escaped


@register.simple_tag
def figure_rows(rows) -> SafeString:
    """A report table's rows (reports.presentation.Row): the metric, this period's figure
    with the change's arrow (and its words for screen readers), the period before's."""
    return mark_safe("".join(_row(row) for row in rows))  # noqa: S308 - _row escapes


def _row(row) -> str:
    t = row.trend
    arrow = f'<span class="{e(t.css)}" aria-hidden="true">{e(t.arrow)}</span>' if t.arrow else ""
    words = f'<span class="sr-only">{e(t.text)}</span>' if t.text else ""
    return (
        f'<tr data-metric="{e(row.key)}"><th>{e(row.label)}</th><td class="now">'
        f'{e(row.now_text)} {arrow}{words}</td><td class="before">{e(row.before_text)}</td></tr>\n'
    )


@register.inclusion_tag("reports/line.html")
def line(points, width: int = 480, height: int = 140, empty: str = "") -> dict:
    """A line over (label, value) points; gaps (None) are skipped. With no value at all the
    chart is a sentence saying so, not an empty frame."""
    known = [(i, v) for i, (_label, v) in enumerate(points) if v is not None]
    top = max((v for _i, v in known), default=0) or 1
    step = width / max(len(points) - 1, 1)
    coordinates = [
        (_svg(round(i * step, 1)), _svg(round(height - 10 - (height - 20) * v / top, 1)), v)
        for i, v in known
    ]
    return {
        "points": [(x, y, figure(v, "minutes")) for x, y, v in coordinates],
        "polyline": " ".join(f"{x},{y}" for x, y, _v in coordinates),
        "labels": [label for label, _v in points],
        "width": str(width),
        "height": str(height),
        "top": figure(max((v for _i, v in known), default=None), "minutes"),
        "empty": "" if known else (empty or _("Nothing to show in this period.")),
    }


@register.simple_tag
def trend(now, before, good: str):
    """The change a head reads first: ▲/▼, coloured by whether it is good, with words for
    screen readers."""
    return judged(now, before, good)
