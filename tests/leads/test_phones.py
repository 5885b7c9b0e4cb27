import pytest
from django.core.exceptions import ValidationError

from crm.lib.phones import international, normalise_phone, tel_uri
from leads.forms import PhoneField


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("8 (916) 123-45-67", "+79161234567"),
        ("+7 916 1234567", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("+7(916)123 45 67", "+79161234567"),
        ("7 916 123-45-67", "+79161234567"),
        ("8-495-123-45-67", "+74951234567"),
        ("+375 29 123-45-67", "+375291234567"),
        ("+49 30 1234567", "+49301234567"),
    ],
)
def test_phone_formats_normalise_to_one_number(typed, stored):
    assert normalise_phone(typed) == stored
    assert PhoneField().clean(typed) == stored


@pytest.mark.parametrize("typed", ["123", "8 (916) 123-45", "not a phone", "+7 000 000-00-00"])
def test_invalid_phones_are_rejected(typed):
    with pytest.raises(ValueError):
        normalise_phone(typed)
    with pytest.raises(ValidationError):
        PhoneField().clean(typed)


def test_phones_read_as_people_and_softphones_expect():
    assert international("+79161234567") == "+7 916 123-45-67"
    assert tel_uri("+79161234567") == "tel:+7-916-123-45-67"
