"""Pre-filling the call script from what a lead arrived with: a web form's own questions
("Тип кухни": "Под заказ") and an imported file's columns. Pure functions over the active
criteria; the services store the answers.

The rule, written once:
- **Which question.** A form field or column answers a criterion when its name equals the
  criterion's question, its slug, or one of its *names in forms and files* (the admin lists
  them, one per line: "Тип кухни", "kitchen_type") — compared case-insensitively (Russian and
  English alike, ё as е), with runs of spaces, "_" and "-" as one space, and a trailing ":",
  "?" or "*" ignored (forms write "Бюджет*:").
- **Which answer.** yes/no: да/нет, yes/no, true/false, 1/0, on/off (a ticked checkbox sends
  "on" or "yes"); choice: an option's label or value, compared the same way; number: as the
  qualifier types it (`scoring.parse_number`), after a rouble sign or word at either end
  ("450 000 ₽", "450 000 руб.", "RUB 450000") — any other unit, a range ("300–500 тыс"),
  words ("дорого") or an ambiguous "1,500" is no number; text: any answer up to 500
  characters.
- **What does not fit is not forced.** An answer that does not read as the criterion's kind is
  not pre-filled: it stays, as sent, in the lead's form answers only. A criterion named by two
  fields takes the first that fits. Nothing here raises on odd input.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError

from leads import scoring
from leads.models import Answer, Criterion

YES = frozenset({"yes", "y", "true", "1", "on", "да", "д", "+"})
NO = frozenset({"no", "n", "false", "0", "off", "нет", "н", "-"})
# A rouble sign or word at the start or end of a number: the budget criteria are in roubles.
ROUBLES = re.compile(
    r"^(?:₽|руб\.?|рублей|рубля|рубль|р\.|rub\.?|rur)\s*|\s*(?:₽|руб\.?|рублей|рубля|рубль|р\.?|"
    r"rub\.?|rur)$",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[\s_\-]+")
TEXT_LIMIT = 500


def normal(text: str) -> str:
    """A name or an answer as compared: case, ё, runs of spaces/_/- and trailing marks aside."""
    text = str(text).casefold().replace("ё", "е")
    return _SEPARATORS.sub(" ", text).strip().rstrip(":?*").strip()


@dataclass(frozen=True)
class Prefill:
    criterion: Criterion
    judgement: scoring.Judgement
    key: str  # the form field or column it came from

    def answer(self, lead_id: int, origin: str, now: datetime) -> Answer:
        """The Answer it makes, given by nobody yet (`answered_by` None) but the form or file."""
        judgement = self.judgement
        return Answer(
            lead_id=lead_id,
            criterion=self.criterion,
            question=self.criterion.question,
            kind=self.criterion.kind,
            value=judgement.value,
            label=judgement.label,
            verdict=judgement.verdict,
            points=judgement.points,
            knocked_out=judgement.knocked_out,
            answered_by=None,
            answered_at=now,
            origin=origin,
        )


class CriteriaIndex:
    """The active criteria by every name a form or a file may give them."""

    def __init__(self, criteria: Iterable[Criterion]) -> None:
        self.criteria = list(criteria)
        self.by_name: dict[str, Criterion] = {}
        for criterion in self.criteria:  # in the admin's order: the first named wins a clash
            names = [criterion.question, criterion.slug, *criterion.form_names.splitlines()]
            for name in names:
                if normal(name):
                    self.by_name.setdefault(normal(name), criterion)
        self.total_weight = sum(c.weight for c in self.criteria)

    @classmethod
    def active(cls) -> "CriteriaIndex":
        return cls(Criterion.objects.filter(active=True).prefetch_related("options"))

    def criterion_for(self, name: str) -> Criterion | None:
        return self.by_name.get(normal(name))

    def match(self, answers: Mapping[str, str]) -> list[Prefill]:
        """The answers that pre-fill a criterion, judged; one per criterion, at most."""
        found: dict[int, Prefill] = {}
        for key, value in answers.items():
            criterion = self.criterion_for(key)
            if criterion is None or criterion.pk in found:
                continue
            judgement = read_answer(criterion, value)
            if judgement is not None:
                found[criterion.pk] = Prefill(criterion, judgement, key)
        return list(found.values())


def read_answer(criterion: Criterion, value: object) -> scoring.Judgement | None:
    """The answer judged as the qualifier's would be, or None when it does not fit."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = _READERS[criterion.kind](criterion, value.strip())
    if raw is None:
        return None
    try:
        return scoring.judge(criterion, raw)
    except ValidationError:
        return None


def _yes_no(criterion: Criterion, value: str) -> str | None:
    said = normal(value)
    return "yes" if said in YES else "no" if said in NO else None


def _choice(criterion: Criterion, value: str) -> str | None:
    said = normal(value)
    return next(
        (o.value for o in criterion.options.all() if said in (normal(o.value), normal(o.label))),
        None,
    )


def _number(criterion: Criterion, value: str) -> str | None:
    text = value
    for _twice in range(2):  # a sign at one end and a word at the other: "₽ 450 000 руб."
        text = ROUBLES.sub("", text.strip())
    return text or None  # judged by scoring.parse_number, as the qualifier's typing is


def _text(criterion: Criterion, value: str) -> str | None:
    return value if len(value) <= TEXT_LIMIT else None


_READERS: dict[str, Callable[[Criterion, str], str | None]] = {
    Criterion.Kind.YES_NO: _yes_no,
    Criterion.Kind.CHOICE: _choice,
    Criterion.Kind.NUMBER: _number,
    Criterion.Kind.TEXT: _text,
}
