"""JSON from outside, read by one rule everywhere (the intake, the API, a settings form): a body
nested deeper than any form or integration sends is refused, and so is text no UTF-8 can hold
(a lone surrogate, JSON's "\\ud800" escape) — neither may reach the database or an answer that
echoes it, where each was a 500 (RecursionError, UnicodeEncodeError)."""

import json
from collections.abc import Iterator

# No form, webhook or API call we read nests near this; a bound keeps a hostile body from
# exhausting the parser's stack.
MAX_DEPTH = 20


class TooDeep(ValueError):
    pass


def loads(text: str | bytes) -> object:
    """json.loads that raises TooDeep (a ValueError) for a body nested deeper than MAX_DEPTH,
    however deep — past the parser's own stack too."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise TooDeep from None
    if too_deep(data):
        raise TooDeep
    return data


def too_deep(data: object, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON data nests more than `limit` objects or arrays deep. A walk one level at a
    time that stops at the limit: a flat body (the usual post) costs one pass over its values."""
    level = [data] if isinstance(data, dict | list) else []
    for _depth in range(limit):
        if not level:
            return False
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return bool(level)


def has_lone_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def lone_surrogate_at(data: object) -> str | None:
    """Where parsed JSON holds a lone surrogate, in a key or a text value: the top-level key
    it is under ("" for the body itself), or None when there is none. Call on data already
    checked by too_deep: the walk is as deep as the data."""
    for key, text in _texts(data, ""):
        if has_lone_surrogate(text):
            return "" if has_lone_surrogate(key) else key  # a key that holds one is no name
    return None


def _texts(data: object, top: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, str):
        yield top, data
    elif isinstance(data, dict):
        for key, value in data.items():
            where = top or str(key)
            yield where, str(key)
            yield from _texts(value, where)
    elif isinstance(data, list):
        for value in data:
            yield from _texts(value, top)
