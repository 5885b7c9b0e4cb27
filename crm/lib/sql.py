"""The few SQL fragments that PostgreSQL and SQLite spell differently, for the set-based
statements that the ORM cannot write (INSERT … SELECT … RETURNING)."""

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection


def in_ids(column: str, ids: Sequence[int]) -> tuple[str, list]:
    """`column` is one of `ids`, as one parameter however many ids there are (SQLite allows
    a few thousand parameters per statement; a sweep may hold more ids than that)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    # `column` is ours, never input; the ids go as one parameter.
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]  # noqa: S608


def json_object(key: str, value_sql: str) -> str:
    """A one-key JSON object built in the database, for a JSONField column."""
    function = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    return f"{function}('{key}', {value_sql})"


def moment(value: datetime) -> datetime | str | None:
    """A datetime as the ORM stores it (SQLite keeps naive UTC text; a raw aware value would
    be stored with its offset and compare wrongly against the ORM's rows)."""
    return connection.ops.adapt_datetimefield_value(value)
