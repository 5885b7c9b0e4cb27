import pytest
from django.core.exceptions import ValidationError
from phonenumber_field.formfields import PhoneNumberField


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
    assert PhoneNumberField(region="RU").clean(typed) == stored


@pytest.mark.parametrize("typed", ["123", "8 (916) 123-45", "not a phone", "+7 000 000-00-00"])
def test_invalid_phones_are_rejected(typed):
    with pytest.raises(ValidationError):
        PhoneNumberField(region="RU").clean(typed)
