"""How an answer is judged and how answers add up to a score and a temperature.

Pure functions over a criterion and a raw value: the admin's rules live here, in one place.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from leads.models import Criterion, Lead, Verdict

# Score (percent of the active criteria's total weight) at which a lead turns warm / hot.
WARM_FROM = 40
HOT_FROM = 70


@dataclass(frozen=True)
class Judgement:
    value: str
    label: str
    verdict: str
    points: int
    knocked_out: bool


def judge(criterion: Criterion, raw: str) -> Judgement:
    """Validate a raw answer and judge it by the criterion's current rules."""
    raw = (raw or "").strip()
    if not raw:
        raise ValidationError(_("Enter an answer."))
    value, label, verdict = _JUDGES[Criterion.Kind(criterion.kind)](criterion, raw)
    return Judgement(
        value=value,
        label=label,
        verdict=verdict,
        points=criterion.weight if verdict == Verdict.GOOD else 0,
        knocked_out=criterion.knock_out and verdict == Verdict.BAD,
    )


def _judge_yes_no(criterion: Criterion, raw: str) -> tuple[str, str, str]:
    answers = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
    if raw.lower() not in answers:
        raise ValidationError(_("Answer yes or no."))
    said_yes = answers[raw.lower()]
    verdict = Verdict.GOOD if said_yes == criterion.good_answer_yes else Verdict.BAD
    value = "yes" if said_yes else "no"
    return value, value, verdict  # the page translates yes / no for its reader (Answer.shown)


def _judge_choice(criterion: Criterion, raw: str) -> tuple[str, str, str]:
    option = next((o for o in criterion.options.all() if o.value == raw and not o.archived), None)
    if option is None:
        raise ValidationError(_("Choose one of the listed options."))
    return option.value, option.label, option.verdict


def _judge_number(criterion: Criterion, raw: str) -> tuple[str, str, str]:
    number = parse_number(raw)
    too_low = criterion.min_value is not None and number < criterion.min_value
    too_high = criterion.max_value is not None and number > criterion.max_value
    verdict = Verdict.BAD if too_low or too_high else Verdict.GOOD
    text = f"{number.normalize():f}"
    return text, text, verdict


_DIGITS = re.compile(r"[0-9]*")
_MARKS = ".,"


def parse_number(raw: str) -> Decimal:
    """A number as people type it, in Russian or in English. The rule:
    - spaces of any kind (a non-breaking one too) group thousands and are dropped: 250 000;
    - one comma or one point is the decimal mark (1,5 = 1.5 = one and a half) — except when it
      is followed by exactly three digits after a 1–3 digit whole part: then it could be a
      thousands separator as well, and only 000 settles it (250,000 = 250 000); 1,500 is
      refused with both readings, for the qualifier to retype;
    - a mark repeated (1,000,000 or 1.000.000) groups thousands;
    - both marks (1,234.5 or 1.234,5): the last one is the decimal mark, the other groups
      thousands;
    - thousands groups are three digits each, or the number is refused; so is anything else
      (letters, exponents, currency signs), and a number from 10^16 up or with a digit past
      10^-15: budgets and sizes, not astronomy."""
    text = "".join(raw.split()).replace("\u2212", "-")  # the typographic minus
    sign = "-" if text.startswith("-") else ""
    text = text[1:] if text[:1] in "+-" else text
    if not text or not any(c.isdigit() for c in text) or text.strip("0123456789" + _MARKS):
        raise ValidationError(_("Enter a number, such as 250 000 or 1,5."))
    marks = [c for c in text if c in _MARKS]
    if len(set(marks)) == 2:  # 1,234.5 / 1.234,5
        point = text[max(text.rfind(","), text.rfind("."))]
        whole, fraction = text.rsplit(point, 1)
        group = "," if point == "." else "."
        digits = _grouped(whole, group) + "." + fraction
    elif len(marks) > 1:  # 1,000,000
        digits = _grouped(text, group=marks[0])
    elif marks:
        whole, fraction = text.split(marks[0])
        digits = whole + "." + fraction
        if len(fraction) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0"):
            if fraction != "000":
                raise ValidationError(
                    _("“%(given)s” could be %(thousands)s or %(fraction)s: type one of these.")
                    % {
                        "given": raw.strip(),
                        "thousands": whole + fraction,
                        "fraction": whole + "," + fraction.rstrip("0"),
                    }
                )
            digits = whole + fraction
    else:
        digits = text
    try:
        number = Decimal(sign + digits)
    except InvalidOperation:
        raise ValidationError(_("Enter a number, such as 250 000 or 1,5.")) from None
    if number and abs(number.adjusted()) > 15:
        raise ValidationError(_("Enter a number, such as 250 000 or 1,5."))
    return number


def _grouped(text: str, group: str) -> str:
    """The digits of a whole number written in thousands groups (1,234,567), else refused."""
    head, *groups = text.split(group)
    if not (1 <= len(head) <= 3 and _DIGITS.fullmatch(head)) or any(
        len(g) != 3 or not _DIGITS.fullmatch(g) for g in groups
    ):
        raise ValidationError(
            _("“%(given)s” is not a number: thousands go in groups of three, as 1 250 000.")
            % {"given": text}
        )
    return head + "".join(groups)


def _judge_text(criterion: Criterion, raw: str) -> tuple[str, str, str]:
    return raw[:500], raw[:500], Verdict.GOOD


_JUDGES = {
    Criterion.Kind.YES_NO: _judge_yes_no,
    Criterion.Kind.CHOICE: _judge_choice,
    Criterion.Kind.NUMBER: _judge_number,
    Criterion.Kind.TEXT: _judge_text,
}


def score(points: Iterable[int], total_weight: int) -> int:
    """The share of the possible points the answers earned, 0–100."""
    if total_weight <= 0:
        return 0
    return min(100, round(100 * sum(points) / total_weight))


def temperature(score_value: int) -> str:
    if score_value >= HOT_FROM:
        return Lead.Temperature.HOT
    if score_value >= WARM_FROM:
        return Lead.Temperature.WARM
    return Lead.Temperature.POTENTIAL
