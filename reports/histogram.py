"""Reaction times as a histogram, so that percentiles add up across days.

A day's reactions are counted in fixed buckets; a period's histogram is the sum of its days'.
Each bucket is `(lower, upper]` and a percentile is read as `percentile_cont` reads the sorted
values (linear interpolation between the two nearest ranks), each rank taken at its bucket's
upper bound. So a percentile is never below the exact one and at most one bucket above it:

    0                      exactly 0 (called before the team opened)
    (0, 60] minutes        0.1-minute buckets (the report shows tenths of a minute)
    (60, 600]              1-minute buckets
    (600, 6,000]           10-minute buckets
    (6,000, 60,000]        100-minute buckets
    beyond 60,000          one bucket, read as 60,000 (1,000 working hours)

Storage: the counts are 32-bit little-endian fields of one integer, so summing the histograms
of 180 days is 180 big-integer additions, done in C; stored zlib-compressed (most fields are
zero or below 256: a day's 2-9 KB of fields is a few hundred bytes to read)."""

import math
import sys
import zlib
from bisect import bisect_right
from itertools import accumulate

from django.db.models import Case, F, FloatField, IntegerField, Value, When
from django.db.models.functions import Cast, Ceil

# (upper bound of the range, bucket width): buckets are numbered from 1 after bucket 0.
RANGES = ((60.0, 0.1), (600.0, 1.0), (6000.0, 10.0), (60000.0, 100.0))
FIELD = 4  # bytes per bucket count
UPPER: list[float] = [0.0]
# (lower, upper, width, index of the range's first bucket)
_starts: list[tuple[float, float, float, int]] = []
_lower = 0.0
for _top, _width in RANGES:
    _starts.append((_lower, _top, _width, len(UPPER)))
    UPPER += [round(_lower + _width * (i + 1), 1) for i in range(round((_top - _lower) / _width))]
    _lower = _top
OVERFLOW = len(UPPER)
UPPER.append(RANGES[-1][0])
SIZE = len(UPPER)
# Read the fields in place where the machine's unsigned int is 4 little-endian bytes.
_NATIVE = sys.byteorder == "little" and memoryview(b"\0" * FIELD).cast("I").itemsize == FIELD


def bucket_sql(column: str) -> Case:
    """The bucket of a reaction, computed in the database (GROUP BY it)."""
    r = Cast(F(column), FloatField())
    whens = [When(**{f"{column}__lte": 0}, then=Value(0))]
    for lower, top, width, first in _starts:
        # first + ceil((r - lower) / width) - 1: (lower, lower + width] is bucket `first`.
        whens.append(
            When(
                **{f"{column}__lte": top},
                then=Cast(Ceil((r - Value(lower)) / Value(width)), IntegerField())
                + Value(first - 1),
            )
        )
    return Case(*whens, default=Value(OVERFLOW), output_field=IntegerField())


def pack(counts: dict[int, int]) -> int:
    """{bucket: count} as the integer value() returns."""
    return sum(n << (8 * FIELD * min(max(b, 0), OVERFLOW)) for b, n in counts.items())


def to_bytes(total: int) -> bytes:
    """The integer as stored."""
    return (
        zlib.compress(total.to_bytes((total.bit_length() + 7) // 8, "little"), 1) if total else b""
    )


def value(stored: bytes | memoryview | None) -> int:
    """A stored histogram as the integer that adds up with others."""
    return int.from_bytes(zlib.decompress(stored), "little") if stored else 0


def percentiles(total: int, fractions: tuple[float, ...]) -> list[float | None]:
    """percentile_cont over the histogram `total` (a sum of value()s), each rank at its
    bucket's upper bound."""
    fields = min(SIZE, (total.bit_length() + 8 * FIELD - 1) // (8 * FIELD)) or 1
    raw = total.to_bytes(fields * FIELD, "little")
    counts = memoryview(raw).cast("I") if _NATIVE else _fields(raw)
    running = list(accumulate(counts))
    n = running[-1] if running else 0
    if not n:
        return [None] * len(fractions)

    def at(rank: int) -> float:
        return UPPER[bisect_right(running, rank)]

    found: list[float | None] = []
    for fraction in fractions:
        position = fraction * (n - 1)
        below = int(position)
        low = at(below)
        found.append(low if position == below else low + (position - below) * (at(below + 1) - low))
    return found


def _fields(raw: bytes) -> list[int]:
    return [int.from_bytes(raw[i : i + FIELD], "little") for i in range(0, len(raw), FIELD)]


def bucket_of(reaction: float) -> int:
    """The bucket of one value, as bucket_sql computes it (for tests and documentation)."""
    if reaction <= 0:
        return 0
    for lower, top, width, first in _starts:
        if reaction <= top:
            return first + math.ceil((reaction - lower) / width) - 1
    return OVERFLOW
