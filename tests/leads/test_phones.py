import pytest
from django.core.exceptions import ValidationError

from crm.lib.phones import (
    Phone,
    PhoneError,
    PhoneHasLetters,
    international,
    normalise_phone,
    parse_phone,
    tel_uri,
)
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
    with pytest.raises(PhoneError):
        normalise_phone(typed)
    with pytest.raises(ValidationError):
        PhoneField().clean(typed)


def test_phones_read_as_people_and_softphones_expect():
    assert international("+79161234567") == "+7 916 123-45-67"
    assert tel_uri("+79161234567") == "tel:+7-916-123-45-67"


@pytest.mark.parametrize(
    ("typed", "e164", "extension", "note"),
    [
        ("+7 916 123-45-67 доб. 123", "+79161234567", "123", ""),
        ("8 (495) 123-45-67 доб.45", "+74951234567", "45", ""),
        ("8 916 123 45 67 ext. 45", "+79161234567", "45", ""),
        ("+7 916 123 45 67 x7", "+79161234567", "7", ""),
        ("+7 916 123 45 67 #12", "+79161234567", "12", ""),
        ("+7 916 123-45-67 Иван после 18:00", "+79161234567", "", "Иван после 18:00"),
        ("89161234567, Иван", "+79161234567", "", "Иван"),
        ("8 916 123-45-67 доб. 5 (бухгалтерия)", "+79161234567", "5", "(бухгалтерия)"),
    ],
)
def test_extensions_and_words_after_the_number_are_kept_apart(typed, e164, extension, note):
    assert parse_phone(typed) == Phone(e164, extension, note)
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("375291234567", "+375291234567"),  # Belarus
        ("375 (29) 123-45-67", "+375291234567"),
        ("77011234567", "+77011234567"),  # Kazakhstan, 7 7xx
        ("8 701 123 45 67", "+77011234567"),
        ("380501234567", "+380501234567"),  # Ukraine
        ("998901234567", "+998901234567"),  # Uzbekistan
        ("37491123456", "+37491123456"),  # Armenia
        ("996555123456", "+996555123456"),  # Kyrgyzstan
        ("994501234567", "+994501234567"),  # Azerbaijan
        ("8 (916) 123-45-67", "+79161234567"),  # still Russian
        ("9161234567", "+79161234567"),
    ],
)
def test_neighbour_countries_typed_without_plus_are_recognised(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["491761234567", "14155552671"])
def test_far_countries_without_plus_are_not_guessed(typed):
    with pytest.raises(PhoneError):
        normalise_phone(typed)


@pytest.mark.parametrize(
    "typed", ["8916АБВ4567", "8 916 ABC 4567", "+7 916 12З-45-67", "8 800 555-FLOW-ERS"]
)
def test_letters_in_a_number_are_refused_never_turned_into_digits(typed):
    with pytest.raises(PhoneHasLetters):
        parse_phone(typed)
