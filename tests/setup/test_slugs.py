"""Slugs from Russian names: transliterated, never empty, unique."""

import pytest
from django.urls import reverse

from crm.lib.slugs import slug_from, transliterate, unique_slug
from leads.models import Criterion, JunkReason
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Тип кухни", "tip-kukhni"),
        ("Бюджет, ₽", "byudzhet"),
        ("Щука и ёж", "shchuka-i-ezh"),
        ("Объём работ", "obem-rabot"),
        ("Budget", "budget"),
        ("Цена / Срок", "tsena-srok"),
    ],
)
def test_slug_from_transliterates_russian(name, slug):
    assert slug_from(name) == slug


def test_transliteration_keeps_capitals_and_other_characters():
    assert transliterate("Юля, 2 шт.") == "Yulya, 2 sht."


def test_unique_slug_adds_a_number_while_taken():
    taken = {"tip-kukhni", "tip-kukhni-2"}
    assert unique_slug("Тип кухни", taken.__contains__) == "tip-kukhni-3"


def test_unique_slug_of_a_name_without_letters_falls_back():
    assert unique_slug("₽₽₽", lambda s: False, fallback="criterion") == "criterion"


@pytest.mark.django_db
def test_the_admin_fills_a_criterions_slug_from_a_cyrillic_question(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:leads_criterion_add"),
        {
            "question": "Тип кухни",
            "slug": "",
            "kind": "yes_no",
            "order": 0,
            "active": "on",
            "weight": 1,
            "good_answer_yes": "on",
            "options-TOTAL_FORMS": 0,
            "options-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Criterion.objects.get().slug == "tip-kukhni"


@pytest.mark.django_db
def test_the_admin_fills_a_junk_reasons_slug_and_keeps_it_unique(client):
    JunkReason.objects.create(name="Спам", slug="spam")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:leads_junkreason_add"), {"name": "Спам", "slug": "", "order": 1}
    )
    assert response.status_code == 302
    assert JunkReason.objects.filter(slug="spam-2").exists()
