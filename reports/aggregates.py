"""Percentiles in the database: PostgreSQL's percentile_cont; on SQLite, the value at the
right offset of the sorted column (two small queries, still no rows brought into Python)."""

from django.db import connection
from django.db.models import Aggregate, FloatField, QuerySet


class Percentile(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra) -> None:
        super().__init__(expression, fraction=fraction, **extra)


def percentiles(rows: QuerySet, field: str, fractions: tuple[float, ...]) -> list[float | None]:
    """The given percentiles of a numeric column over the rows where it is set."""
    rows = rows.exclude(**{f"{field}__isnull": True}).order_by()
    if connection.vendor == "postgresql":
        named = {f"p{i}": Percentile(field, f) for i, f in enumerate(fractions)}
        found = rows.aggregate(**named)
        return [found[f"p{i}"] for i in range(len(fractions))]
    count = rows.count()
    if not count:
        return [None] * len(fractions)
    ordered = rows.order_by(field).values_list(field, flat=True)
    return [_interpolated(ordered, count, fraction) for fraction in fractions]


def _interpolated(ordered: QuerySet, count: int, fraction: float) -> float:
    # percentile_cont's definition: linear interpolation between the two nearest ranks.
    position = fraction * (count - 1)
    below = int(position)
    values = list(ordered[below : below + 2])
    if len(values) == 1 or position == below:
        return float(values[0])
    return float(values[0]) + (position - below) * (float(values[1]) - float(values[0]))
