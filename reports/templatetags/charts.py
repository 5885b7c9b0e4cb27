"""Small server-side charts (HTML bars, an SVG line): nothing to download, nothing to run.

Numbers inside SVG are written by Python, never by the template's localisation: Russian
writes 12,5 and an SVG coordinate needs 12.5. A chart with nothing to draw says why."""

from django import template
from django.utils.translation import gettext as _

from reports.formatting import COUNT, figure
from reports.formatting import trend as judged

register = template.Library()


def _svg(value: float) -> str:
    """A coordinate in SVG's own syntax (12.5), whatever the reader's language."""
    return f"{value:.1f}"


@register.inclusion_tag("reports/bars.html")
def bars(items, css: str = "", kind: str = COUNT, empty: str = "") -> dict:
    """Horizontal bars for (label, value) pairs, scaled to the largest."""
    items = [(label, value or 0) for label, value in items]
    top = max((value for _label, value in items), default=0)
    return {
        "items": [
            (label, figure(value, kind), str(round(100 * value / top))) for label, value in items
        ]
        if top
        else [],
        "css": css,
        "empty": empty or _("Nothing to show in this period."),
    }


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
