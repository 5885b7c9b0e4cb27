"""Phones, normalised with `phonenumbers`: stored as E.164 (+79161234567), read in the
default region when typed without a country code (8 (916) 123-45-67 is the same number).

What people type into a form's phone box is more than a number: an extension ("доб. 123",
"ext. 45"), a remark ("Иван, после 18:00"), a neighbour country's number without its "+"
(375 29 123-45-67). `parse_phone` separates them; `normalise_phone` is its E.164 alone."""

import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext_lazy as _

# Countries whose numbers a Russian form receives typed without "+": read as international
# when the digits are no valid number of the default region. Russia and Kazakhstan share +7,
# so 7 7xx… is already read as Kazakh by the default region's own rules.
NEIGHBOUR_REGIONS = frozenset(
    {"BY", "KZ", "UA", "UZ", "AM", "KG", "AZ", "GE", "TJ", "TM", "MD", "LV", "LT", "EE"}
)

# The number itself: an optional "+", then digits with the separators people type.
_NUMBER = re.compile(r"\s*(?P<number>\+?[\d\s().\-]*\d)(?P<rest>.*)", re.S)
# An extension right after the number: "доб. 123", "доб.123", "ext. 45", "x45", "#45".
_EXTENSION = re.compile(
    r"[\s,;]*(?:доб(?:авочный)?|вн(?:утр(?:енний)?)?|ext(?:ension)?|x|#)\.?\s*"
    r"(?P<ext>\d{1,10})(?!\d)(?P<rest>.*)",
    re.S | re.I,
)
_LETTER = re.compile(r"[^\W\d_]")


class PhoneError(ValueError):
    """Not a phone number; `message` says why, for the person who typed it."""

    code = "invalid"
    message = _("Enter a valid phone number.")


class PhoneHasLetters(PhoneError):
    code = "letters"
    message = _("A phone number holds digits only; this one has letters in it.")


@dataclass(frozen=True)
class Phone:
    e164: str
    extension: str = ""
    note: str = ""  # words typed after the number ("Иван, после 18:00")


def parse_phone(raw: str) -> Phone:
    """The number in E.164, its extension and any words after it; PhoneError when there is
    no valid number, PhoneHasLetters when letters stand inside it (8 800 FLOWERS: the parser
    would turn them into digits, a number the person never gave)."""
    found = _NUMBER.match(raw)
    if found is None:
        has_digits = re.search(r"\d", raw)
        raise PhoneHasLetters(raw) if has_digits and _LETTER.search(raw) else PhoneError(raw)
    number, rest = found["number"], found["rest"]
    if rest and _LETTER.match(rest) and not _EXTENSION.match(rest):
        raise PhoneHasLetters(raw)  # a letter right against the digits: 8916АБВ4567
    extension = ""
    with_extension = _EXTENSION.match(rest)
    if with_extension:
        extension, rest = with_extension["ext"], with_extension["rest"]
    note = rest.strip(" \t\r\n,;:-–—")
    try:
        return Phone(_e164(number), extension, note)
    except PhoneError:
        glued = re.match(r"[-.()]+[^\W\d_]", rest)  # 8 800 555-FLOWERS
        if glued or (_LETTER.search(note) and re.search(r"\d", note)):
            raise PhoneHasLetters(raw) from None  # 8 916 ABC 4567: letters in the number
        raise PhoneError(raw) from None


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise PhoneError(number) from None
    if not phonenumbers.is_valid_number(parsed):
        parsed = _neighbour(number)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _neighbour(number: str) -> phonenumbers.PhoneNumber:
    """A neighbour country's number typed with its country code but without "+"."""
    digits = re.sub(r"\D", "", number)
    if number.lstrip().startswith("+") or not digits:
        raise PhoneError(number)
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        raise PhoneError(number) from None
    region = phonenumbers.region_code_for_number(parsed)
    if region not in NEIGHBOUR_REGIONS or not phonenumbers.is_valid_number(parsed):
        raise PhoneError(number)
    return parsed


def normalise_phone(raw: str) -> str:
    """E.164 for a valid number (its extension and any words after it left out); a PhoneError
    (a ValueError) for anything that is not one."""
    return parse_phone(raw).e164


def is_valid_phone(e164: str) -> bool:
    try:
        return bool(e164) and normalise_phone(e164) == e164
    except ValueError:
        return False


def international(e164: str) -> str:
    """+7 916 123-45-67: how a person reads it."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def tel_uri(e164: str) -> str:
    """tel:+7-916-123-45-67, for click-to-call from a browser or a softphone."""
    number = phonenumbers.parse(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)
