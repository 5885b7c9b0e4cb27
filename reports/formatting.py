"""How a report figure reads: numbers and money in the reader's language, and the arrow that
says whether a change is good. Pure functions of the value and the active language."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import formats, numberformat
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

# What a figure is, for formatting: a count, a share in percent, working minutes, money.
COUNT, SHARE, MINUTES, MONEY = "count", "share", "minutes", "money"
# Which way is good: up, down, or neither (a volume the head reads but does not judge).
UP, DOWN, NEUTRAL = "up", "down", "neutral"

# The currency of every amount (deals are signed in roubles); the pattern is translatable
# so a language can put the sign first.
CURRENCY_PATTERN = gettext_lazy("%(amount)s ₽")


def number(value: float | int | Decimal | None, decimals: int = 0) -> str:
    """A number as the reader writes it: 1,234.5 in English, 1 234,5 in Russian (what
    formats.number_format(value, decimals, use_l10n=True, force_grouping=True) writes)."""
    if value is None:
        return "—"
    decimal, grouping, thousands = _separators(get_language())
    if type(value) is int and not decimals and grouping == 3:  # a count: most of a page's
        return f"{value:,}".replace(",", thousands)
    return numberformat.format(
        value, decimal, decimals, grouping, thousands, force_grouping=True, use_l10n=True
    )


# The language's separators, looked up once: a report page writes ~1,000 numbers, and asking
# Django's formats for three settings per number was a tenth of the all-teams page.
_SEPARATORS: dict[str | None, tuple] = {}


def _separators(lang: str | None) -> tuple:
    if lang not in _SEPARATORS:
        _SEPARATORS[lang] = tuple(
            formats.get_format(name, lang, use_l10n=True)
            for name in ("DECIMAL_SEPARATOR", "NUMBER_GROUPING", "THOUSAND_SEPARATOR")
        )
    return _SEPARATORS[lang]


@receiver(setting_changed)
def _formats_changed(**kwargs) -> None:
    # As Django resets its own cache of formats (tests override LANGUAGES, FORMAT_MODULE_PATH).
    _SEPARATORS.clear()


def money(value: Decimal | float | int | None) -> str:
    """An amount with its currency; kopecks only when there are any."""
    if value is None:
        return "—"
    amount = Decimal(value)
    decimals = 0 if amount == amount.to_integral_value() else 2
    return str(CURRENCY_PATTERN) % {"amount": number(amount, decimals)}


def figure(value, kind: str) -> str:
    """A figure of the given kind, ready to read."""
    if value is None:
        return "—"
    if kind == MONEY:
        return money(value)
    if kind == SHARE:
        return f"{number(value, 1)}\u00a0%" if _space_before_percent() else f"{number(value, 1)}%"
    if kind == MINUTES:
        return number(value, 1)
    return number(value)


def _space_before_percent() -> bool:
    # Russian puts a (non-breaking) space before the sign, English does not.
    return formats.get_format("DECIMAL_SEPARATOR") == ","


def plain(value, kind: str) -> str:
    """A figure for a spreadsheet in the reader's language: no grouping, no unit, the
    language's decimal mark (Russian Excel reads 12,5 as a number and 12.5 as text)."""
    if value is None:
        return ""
    if kind == MONEY:
        amount = Decimal(value)
        decimals = 0 if amount == amount.to_integral_value() else 2
        return formats.number_format(amount, decimals, use_l10n=True, force_grouping=False)
    decimals = 1 if kind in (SHARE, MINUTES) else 0
    return formats.number_format(value, decimals, use_l10n=True, force_grouping=False)


@dataclass(frozen=True)
class Trend:
    """The change against the period before: an arrow, whether it is good, and the words a
    screen reader says instead of the colour."""

    arrow: str  # ▲, ▼ or "" (no change, or nothing to compare)
    verdict: str  # "good", "bad" or "neutral"
    text: str

    @property
    def css(self) -> str:
        return f"change {self.verdict}" if self.arrow else "change"


def trend(now, before, good: str) -> Trend:
    """Up or down against the previous period, judged by the metric's good direction."""
    if now is None or before is None:
        return Trend("", NEUTRAL, "")
    if now == before:
        return Trend("", NEUTRAL, _("no change"))
    rising = now > before
    arrow = "▲" if rising else "▼"
    if good == NEUTRAL:
        return Trend(arrow, NEUTRAL, _("up") if rising else _("down"))
    better = rising == (good == UP)
    verdict = "good" if better else "bad"
    if rising:
        return Trend(arrow, verdict, _("up, better") if better else _("up, worse"))
    return Trend(arrow, verdict, _("down, better") if better else _("down, worse"))
