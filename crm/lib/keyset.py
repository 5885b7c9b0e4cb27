"""Keyset paging: a page is read from where the last one ended — the last row's sort value and
id, carried in a cursor — never with OFFSET, so a page costs the same however deep it is and a
row is neither missed nor repeated when rows tie on the sort value (the id breaks the tie).

Each range is written as `field <= value AND (field < value OR id < last_id)` (descending), so
that PostgreSQL starts an index scan of (…, field, id) at the cursor; the OR only drops the
rows of the same value already shown."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model, Q, QuerySet

SEPARATOR = "_"


def cursor_of(value: datetime | None, pk: int) -> str:
    """A row's place: its sort value (UTC, or empty for none) and its id."""
    if value is None:
        return f"{SEPARATOR}{pk}"
    return f"{value.astimezone(UTC).isoformat().replace('+00:00', 'Z')}{SEPARATOR}{pk}"


def parse_cursor(text: str) -> tuple[datetime | None, int]:
    """The value and id of a cursor; ValueError when it is not one."""
    value, separator, pk = text.rpartition(SEPARATOR)
    if not separator or not pk.isdigit():
        raise ValueError(f"not a cursor: {text!r}")
    if not value:
        return None, int(pk)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a cursor: {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"not a cursor (a time without a zone): {text!r}")
    return moment, int(pk)


def _ranges(
    rows: QuerySet, field: str, descending: bool, after: tuple[datetime | None, int] | None
) -> Iterator[QuerySet]:
    """The querysets that hold, in order, the rows after the cursor. Descending: the field
    may not be null. Ascending: nulls come last (PostgreSQL's order), read as a second range."""
    if descending:
        ordered = rows.order_by(f"-{field}", "-id")
        if after is None:
            yield ordered
        else:
            value, pk = after
            if value is None:
                raise ValueError("a descending order has no null values")
            yield ordered.filter(**{f"{field}__lte": value}).filter(
                Q(**{f"{field}__lt": value}) | Q(id__lt=pk)
            )
        return
    values = rows.filter(**{f"{field}__isnull": False}).order_by(field, "id")
    nulls = rows.filter(**{f"{field}__isnull": True}).order_by("id")
    if after is None:
        yield values
        yield nulls
        return
    value, pk = after
    if value is None:
        yield nulls.filter(id__gt=pk)
        return
    yield values.filter(**{f"{field}__gte": value}).filter(
        Q(**{f"{field}__gt": value}) | Q(id__gt=pk)
    )
    yield nulls


def read(
    rows: QuerySet,
    field: str,
    *,
    descending: bool,
    after: tuple[datetime | None, int] | None,
    limit: int,
) -> list:
    """Up to `limit` rows after the cursor, in the order (field, id): one query, or two when
    an ascending order reaches the rows whose field is null."""
    found: list = []
    for part in _ranges(rows, field, descending, after):
        found += list(part[: limit - len(found)])
        if len(found) >= limit:
            break
    return found


def sort_key(field: str, *, descending: bool) -> tuple[Callable[[Model], Any], bool]:
    """The Python key (and `reverse`) that sorts rows as `read` orders them, to merge the
    pages of several ranges (one per team)."""
    if descending:
        return (lambda row: (getattr(row, field), row.pk)), True

    def key(row: Model) -> tuple:
        value = getattr(row, field)
        return (value is None, value or datetime.min.replace(tzinfo=UTC), row.pk)

    return key, False


def page(
    rows: QuerySet, field: str, *, descending: bool, after: str, size: int
) -> tuple[list, str]:
    """One page after the cursor text ("" for the first) and the next page's cursor ("" at the
    end). A cursor that is not one raises ValueError."""
    found = read(
        rows,
        field,
        descending=descending,
        after=parse_cursor(after) if after else None,
        limit=size + 1,
    )
    shown = found[:size]
    more = len(found) > size
    return shown, cursor_of(getattr(shown[-1], field), shown[-1].pk) if more else ""
