"""How an answer is judged and how answers add up to a score and a temperature.

Pure functions over a criterion and a raw value: the admin's rules live here, in one place.
"""

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
    value, label, verdict = _JUDGES[criterion.kind](criterion, raw)
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
    option = next((o for o in criterion.options.all() if o.value == raw), None)
    if option is None:
        raise ValidationError(_("Choose one of the listed options."))
    return option.value, option.label, option.verdict


def _judge_number(criterion: Criterion, raw: str) -> tuple[str, str, str]:
    try:
        number = Decimal(raw.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        raise ValidationError(_("Enter a number.")) from None
    # Budgets and sizes, not astronomy: an absurd exponent is a typo, not an answer.
    if not number.is_finite() or abs(number.adjusted()) > 15:
        raise ValidationError(_("Enter a number."))
    too_low = criterion.min_value is not None and number < criterion.min_value
    too_high = criterion.max_value is not None and number > criterion.max_value
    verdict = Verdict.BAD if too_low or too_high else Verdict.GOOD
    text = f"{number.normalize():f}"
    return text, text, verdict


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
