"""Small server-side charts (HTML bars, an SVG line): nothing to download, nothing to run."""

from django import template

register = template.Library()


@register.inclusion_tag("reports/bars.html")
def bars(items, css: str = "") -> dict:
    """Horizontal bars for (label, value) pairs, scaled to the largest."""
    items = [(label, value or 0) for label, value in items]
    top = max((value for _label, value in items), default=0) or 1
    return {
        "items": [(label, value, round(100 * value / top)) for label, value in items],
        "css": css,
    }


@register.inclusion_tag("reports/line.html")
def line(points, width: int = 480, height: int = 140) -> dict:
    """A line over (label, value) points; gaps (None) are skipped."""
    known = [(i, v) for i, (_label, v) in enumerate(points) if v is not None]
    top = max((v for _i, v in known), default=0) or 1
    step = width / max(len(points) - 1, 1)
    coordinates = [
        (round(i * step, 1), round(height - 10 - (height - 20) * v / top, 1), v) for i, v in known
    ]
    return {
        "points": coordinates,
        "polyline": " ".join(f"{x},{y}" for x, y, _v in coordinates),
        "labels": [label for label, _v in points],
        "width": width,
        "height": height,
        "top": top,
    }


@register.filter
def change(now, before) -> str:
    """The arrow a head reads first: up, down or level against the previous period."""
    if now is None or before is None or now == before:
        return ""
    return "▲" if now > before else "▼"
