"""Transition conditions that carry the message a user reads, and the blockers they make:
leads and deals enable their buttons with them, and their services refuse with them
(`crm.lib.errors.Blocked`). A template never repeats a transition's sources."""

from collections.abc import Callable
from typing import Any

from django.utils.functional import Promise
from django_fsm import can_proceed

Condition = Callable[[Any], bool]
# What a user reads when a condition does not hold: a fixed text, or one made from the object
# (which criteria are missing), so the page can say exactly what to do.
BlockerMessage = str | Promise | Callable[[Any], str]


def blocks_with(message: BlockerMessage) -> Callable[[Condition], Condition]:
    """Attach the message a user sees when this transition condition does not hold."""

    def attach(condition: Condition) -> Condition:
        condition.message = message  # type: ignore[attr-defined]
        return condition

    return attach


def blocker_message(condition: Condition, obj: object) -> str:
    message = condition.message  # type: ignore[attr-defined]
    return str(message(obj) if callable(message) else message)


def transition_blockers(obj: Any, name: str, *, not_possible: str) -> list[str]:
    """Why the named transition of `obj` cannot run now; empty when it can. `not_possible` is
    the refusal when the transition does not start from the object's state at all."""
    method = getattr(obj, name)
    if not can_proceed(method, check_conditions=False):
        return [not_possible]
    meta = method._django_fsm
    transition = meta.get_transition(meta.field.get_state(obj))
    return [blocker_message(c, obj) for c in transition.conditions if not c(obj)]


def transition_possible(obj: Any, name: str) -> bool:
    """Whether the named transition of `obj` can run now: `transition_blockers` is empty, without
    making the messages (a translated, formatted text per card was most of the deal board's
    Python time when it asked this of every card)."""
    method = getattr(obj, name)
    return can_proceed(method)
