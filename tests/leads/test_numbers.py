"""How a number answer is read: as a qualifier types it, in Russian or in English. A value
that could be read two ways is refused with both readings, never guessed."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from leads.scoring import parse_number
from tests.factories import make_criterion, make_lead


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("250000", "250000"),
        ("250 000", "250000"),
        ("250\u00a0000", "250000"),  # a non-breaking space, as Word and Excel write it
        ("250\u202f000", "250000"),  # a narrow one
        ("1 250 000", "1250000"),
        ("250,000", "250000"),  # the finding: this was read as 250
        ("250.000", "250000"),
        ("1,000,000", "1000000"),
        ("1.000.000", "1000000"),
        ("1,5", "1.5"),  # a decimal comma, as Russians write
        ("1.5", "1.5"),
        ("0,500", "0.5"),  # a leading zero cannot start a thousands group
        ("1234,567", "1234.567"),  # nor can four digits
        ("1,25", "1.25"),
        ("1,2345", "1.2345"),
        ("1 234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234,567.5", "1234567.5"),
        ("1 000,000", "1000"),  # spaces group, so the comma is 1,000 = one thousand
        ("-5", "-5"),
        ("\u22125", "-5"),
        ("+7", "7"),
        (",5", "0.5"),
        ("5,", "5"),
        ("0", "0"),
        ("  42  ", "42"),
    ],
)
def test_numbers_as_people_type_them(typed, number):
    assert parse_number(typed) == Decimal(number)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1,500", "could be 1500 or 1,5"),  # one and a half thousand, or one and a half?
        ("1.500", "could be 1500 or 1,5"),
        ("12,250", "could be 12250 or 12,25"),
        ("999.999", "could be 999999 or 999,999"),
        ("1,00,000", "groups of three"),  # the Indian lakh is not ours
        ("1,2,3", "groups of three"),
        ("1,234.5.6", "groups of three"),
        ("1.2,3.4", "groups of three"),
        ("a lot", "Enter a number"),
        ("250k", "Enter a number"),
        ("250 000 ₽", "Enter a number"),
        ("1e5", "Enter a number"),
        ("NaN", "Enter a number"),
        ("Infinity", "Enter a number"),
        ("--5", "Enter a number"),
        (",", "Enter a number"),
        ("", "Enter a number"),
        ("1" * 17, "Enter a number"),
        ("0," + "0" * 16 + "1", "Enter a number"),
        ("١٢", "Enter a number"),  # Arabic-Indic digits
    ],
)
def test_what_is_refused_and_why(typed, message):
    with pytest.raises(ValidationError, match=message):
        parse_number(typed)


@pytest.mark.django_db
def test_250_comma_000_meets_a_250_000_minimum_through_the_api(world):
    make_criterion("budget", question="Budget", kind="number", min_value=250000)
    lead = make_lead(world.team)
    api = APIClient()
    api.force_authenticate(world.qualifier)
    url = f"/api/v1/leads/{lead.pk}/answers/"
    response = api.post(url, {"criterion": "budget", "value": "250,000"}, format="json")
    assert response.status_code == 200, response.content
    answer = lead.answers.get()
    assert (answer.value, answer.verdict, answer.knocked_out) == ("250000", "good", False)
    ambiguous = api.post(url, {"criterion": "budget", "value": "1,500"}, format="json")
    assert ambiguous.status_code == 400
    assert "1500" in str(ambiguous.json())
    assert lead.answers.get().value == "250000"  # the earlier answer stands
