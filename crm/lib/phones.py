"""Phones, normalised with `phonenumbers`: stored as E.164 (+79161234567), read in the
default region when typed without a country code (8 (916) 123-45-67 is the same number)."""

import phonenumbers
from django.conf import settings


def normalise_phone(raw: str) -> str:
    """E.164 for a valid number; ValueError for anything that is not one."""
    try:
        number = phonenumbers.parse(raw, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValueError(raw) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
