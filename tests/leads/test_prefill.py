"""A form's or a file's answers pre-fill the call script (issue 13, item 1): matched to a
criterion by its question, slug or one of its names in forms, judged as the qualifier's answer
would be, marked as coming from the form; what does not fit stays in the form answers only."""

import json
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from leads import services
from leads.imports import guess_mapping, import_leads, open_file
from leads.models import Answer, Criterion, CriterionOption, Lead, LeadImport, LeadSource
from leads.prefill import CriteriaIndex, normal
from tests.factories import make_criterion, make_lead
from tests.leads.exports import (
    BITRIX24_USER_FIELDS,
    amocrm_xlsx,
    bitrix24_csv,
    bitrix24_user_answers,
)

pytestmark = pytest.mark.django_db
NAMES = ["Тип кухни", "Бюджет", "budget_rub", "decision-maker", "Город", "Комментарий"]

URL = "/api/v1/intake/"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def criteria(db) -> dict[str, Criterion]:
    """The demo's script, with the Russian names a kitchen maker's site gives its questions."""
    kitchen = make_criterion(
        "kitchen-type", question="Custom-made or modular kitchen?", form_names="Тип кухни"
    )
    CriterionOption.objects.filter(criterion=kitchen, value="custom").update(label="Под заказ")
    budget = Criterion.objects.create(
        slug="budget",
        question="Budget, roubles",
        kind=Criterion.Kind.NUMBER,
        knock_out=True,
        weight=3,
        min_value=250_000,
        form_names="Бюджет\nБюджет клиента\nbudget_rub",
    )
    decides = Criterion.objects.create(
        slug="decision-maker", question="Are they the one who decides?", kind="yes_no", weight=1
    )
    city = Criterion.objects.create(slug="city", question="Город", kind="text", weight=1)
    return {"kitchen": kitchen, "budget": budget, "decides": decides, "city": city}


@pytest.fixture
def source(world) -> LeadSource:
    source = LeadSource.objects.get(slug="website")
    source.team = world.team
    source.preset = LeadSource.Preset.TILDA
    source.save()
    return source


def tilda(source: LeadSource, **answers: str):
    body = {"Name": "Анна", "Phone": "+7 999 111-22-33", "tranid": "1:2", **answers}
    return APIClient().post(f"{URL}?key={source.intake_key}", urlencode(body), content_type=FORM)


# --- The rule, as a table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "criterion"),
    [
        ("Тип кухни", "kitchen"),  # a name in forms
        ("  тип   КУХНИ*: ", "kitchen"),  # case, spaces, a required-field star and a colon
        ("kitchen_type", "kitchen"),  # the slug, written with "_"
        ("Kitchen-Type", "kitchen"),
        ("custom-made or modular kitchen?", "kitchen"),  # the question itself
        ("БЮДЖЕТ", "budget"),
        ("budget rub", "budget"),
        ("город", "city"),
        ("Гopод", None),  # a Latin "o" and "p": no match, never a guess
        ("Комментарий", None),
    ],
)
def test_which_form_field_answers_which_criterion(criteria, name, criterion):
    found = CriteriaIndex.active().criterion_for(name)
    assert found == (criteria[criterion] if criterion else None)


@pytest.mark.parametrize(
    ("key", "sent", "value", "verdict"),
    [
        ("Тип кухни", "Под заказ", "custom", "good"),  # an option's label, in Russian
        ("Тип кухни", "под  ЗАКАЗ", "custom", "good"),
        ("Тип кухни", "modular", "modular", "bad"),  # an option's value
        ("Бюджет", "450 000 ₽", "450000", "good"),
        ("Бюджет", "450000 руб.", "450000", "good"),
        ("Бюджет", "₽ 200 000", "200000", "bad"),  # below the minimum: judged, not dropped
        ("Бюджет", "1 500 000,50 рублей", "1500000.5", "good"),
        ("decision-maker", "да", "yes", "good"),
        ("decision-maker", "Нет", "no", "bad"),
        ("decision-maker", "on", "yes", "good"),  # a ticked checkbox
        ("Город", "Казань", "Казань", "good"),
    ],
)
def test_an_answer_that_fits_is_judged_as_the_qualifiers_would_be(
    criteria, key, sent, value, verdict
):
    [found] = CriteriaIndex.active().match({key: sent})
    assert (found.judgement.value, found.judgement.verdict) == (value, verdict)


@pytest.mark.parametrize(
    ("key", "sent"),
    [
        ("Бюджет", "дорого"),
        ("Бюджет", "300–500 тыс"),  # a range
        ("Бюджет", "$5000"),  # not roubles
        ("Бюджет", "1,500"),  # 1500 or 1,5: the qualifier asks
        ("Бюджет", "1e6"),
        ("Тип кухни", "угловая"),  # no such option
        ("decision-maker", "может быть"),
        ("Город", "x" * 501),  # longer than an answer holds
        ("Город", "   "),
    ],
)
def test_an_answer_that_does_not_fit_is_not_forced(criteria, key, sent):
    assert CriteriaIndex.active().match({key: sent}) == []


ANSWER_TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["Под заказ", "modular", "да", "нет", "on", "450 000 ₽", "1,500", "₽"]),
    st.builds(
        lambda n, unit: f"{n} {unit}",
        st.integers(-(10**18), 10**18),
        st.sampled_from(["₽", "руб.", "рублей", "$", "тыс", ""]),
    ),
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    # The criteria are read, never changed, by each example.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(answers=st.dictionaries(st.sampled_from(NAMES), ANSWER_TEXT, max_size=5))
def test_any_answer_prefills_a_valid_judgement_or_nothing_never_an_error(criteria, answers):
    for found in CriteriaIndex.active().match(answers):
        judgement = found.judgement
        assert found.key in answers
        assert 0 < len(judgement.value) <= 500 and len(judgement.label) <= 500
        assert judgement.verdict in ("good", "neutral", "bad")


def test_the_first_field_that_fits_answers_a_criterion_named_twice(criteria):
    found = CriteriaIndex.active().match({"Бюджет": "дорого", "budget_rub": "300000"})
    assert [(f.key, f.judgement.value) for f in found] == [("budget_rub", "300000")]


def test_an_inactive_criterion_is_never_prefilled(criteria):
    Criterion.objects.filter(slug="city").update(active=False)
    assert CriteriaIndex.active().match({"Город": "Казань"}) == []


def test_names_compare_with_yo_as_ye():
    assert normal("Ещё  не_решили:") == normal("еще не-решили")


# --- Intake ---------------------------------------------------------------------------------


def test_a_tilda_forms_answers_prefill_the_script_marked_as_from_the_form(source, criteria, world):
    response = tilda(source, **{"Тип кухни": "Под заказ", "Бюджет": "450 000 ₽", "Город": "Тула"})
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    answers = {a.criterion.slug: a for a in lead.answers.all()}
    assert {s: (a.value, a.verdict) for s, a in answers.items()} == {
        "kitchen-type": ("custom", "good"),
        "budget": ("450000", "good"),
        "city": ("Тула", "good"),
    }
    assert all(a.origin == Answer.Origin.FORM and a.answered_by is None for a in answers.values())
    assert lead.score == round(100 * (3 + 3 + 1) / 8)  # the decision-maker is left to ask
    assert lead.temperature == Lead.Temperature.HOT
    # The form answers stay as sent: the record of what the visitor typed.
    assert lead.form_answers == {"Тип кухни": "Под заказ", "Бюджет": "450 000 ₽", "Город": "Тула"}


def test_an_odd_answer_is_a_201_kept_in_the_form_answers_and_prefills_nothing(source, criteria):
    response = tilda(source, **{"Бюджет": "дорого", "Тип кухни": "угловая"})
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert not lead.answers.exists()
    assert lead.score == 0
    assert lead.form_answers == {"Бюджет": "дорого", "Тип кухни": "угловая"}


def test_a_knock_out_answer_from_the_form_shows_as_knocked_out(source, criteria):
    tilda(source, **{"Тип кухни": "модульная", "Бюджет": "100 000"})
    lead = Lead.objects.get()
    assert set(lead.answers.filter(knocked_out=True).values_list("criterion__slug", flat=True)) == {
        "budget"
    }  # "модульная" is no option's label ("Modular"): kept in the form answers only


def test_a_repeated_post_prefills_nothing_twice(source, criteria):
    first = tilda(source, Бюджет="450 000")
    again = tilda(source, Бюджет="450 000")
    assert (first.status_code, again.status_code) == (201, 200)
    assert Answer.objects.count() == 1


def test_a_json_post_with_our_field_names_prefills_too(world, criteria):
    source = LeadSource.objects.get(slug="website")
    source.team = world.team
    source.save()
    body = {"phone": "+79161234567", "budget_rub": 600000, "decision-maker": "yes"}
    response = APIClient().post(
        f"{URL}?key={source.intake_key}", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert sorted(Answer.objects.values_list("criterion__slug", "value")) == [
        ("budget", "600000"),
        ("decision-maker", "yes"),
    ]


def test_the_qualifier_answers_over_a_prefilled_answer(source, criteria, world):
    tilda(source, Бюджет="450 000")
    lead = Lead.objects.get()
    services.lead_answer(lead=lead, by=world.qualifier, criterion=criteria["budget"], value="90000")
    answer = lead.answers.get()
    assert (answer.value, answer.origin, answer.answered_by) == (
        "90000",
        Answer.Origin.QUALIFIER,
        world.qualifier,
    )
    assert answer.knocked_out
    assert lead.form_answers == {"Бюджет": "450 000"}  # what the form said is still there


def test_a_prefill_never_replaces_the_qualifiers_answer(world, criteria):
    lead = make_lead(world.team)
    services.lead_answer(lead=lead, by=world.qualifier, criterion=criteria["budget"], value="1000")
    new = services.lead_prefill(lead=lead, answers={"Бюджет": "900 000", "Город": "Омск"})
    assert [a.criterion.slug for a in new] == ["city"]
    budget = lead.answers.get(criterion=criteria["budget"])
    assert (budget.value, budget.origin) == ("1000", Answer.Origin.QUALIFIER)


@pytest.mark.parametrize(("language", "mark"), [("en", "from the form"), ("ru", "из формы")])
def test_the_workspace_shows_the_answer_came_from_the_form(
    source, criteria, world, client, language, mark
):
    tilda(source, **{"Бюджет": "450 000 ₽", "Комментарий к заказу": "Позвонить после 18"})
    lead = Lead.objects.get()
    client.force_login(world.qualifier)
    page = client.get(reverse("leads:detail", args=[lead.pk]), HTTP_ACCEPT_LANGUAGE=language)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count(f'<small class="answer-origin">{mark}</small>') == 1  # beside the field
    assert f'<small class="muted answer-origin">{mark}</small>' in html  # in the answers
    assert 'value="450000"' in html  # the script's field holds it
    assert "Позвонить после 18" in html  # the unmatched answer, under Form answers


# --- Import ---------------------------------------------------------------------------------


def test_a_bitrix24_exports_user_fields_prefill_the_script(world, criteria):
    raw = bitrix24_csv(20, responsibles=[world.qualifier.get_full_name()], user_fields=True)
    csv_file = open_file(raw)
    mapping = guess_mapping(csv_file.header)
    assert mapping["form_answers"] == BITRIX24_USER_FIELDS
    result = import_leads(csv_file, mapping, team=world.team, source=LeadSource.objects.get())
    assert (result.created, result.bad_rows) == (20, 0), result.errors[:3]
    for i in range(20):
        lead = Lead.objects.get(external_id=str(100000 + i))
        kitchen, budget = bitrix24_user_answers(i)
        assert lead.form_answers == {"Тип кухни": kitchen, "Бюджет клиента": budget}
        answers = {a.criterion.slug: a for a in lead.answers.all()}
        assert ("kitchen-type" in answers) == (kitchen == "Под заказ")
        assert ("budget" in answers) == (budget != "дорого")
        assert all(a.origin == Answer.Origin.IMPORT for a in answers.values())
        points = sum(a.points for a in answers.values())
        assert lead.score == round(100 * points / 8)


def test_the_dry_run_says_which_column_prefills_which_answer(world, criteria, client):
    client.force_login(world.head)
    raw = bitrix24_csv(3, user_fields=True)
    upload = client.post(
        reverse("leads:import"),
        {
            "file": _file("leads.csv", raw),
            "team": world.team.pk,
            "source": LeadSource.objects.get().pk,
        },
    )
    assert upload.status_code == 302, upload.content.decode()[:2000]
    job = LeadImport.objects.get()
    assert job.mapping["form_answers"] == BITRIX24_USER_FIELDS  # proposed on the mapping page
    job.start(mapping=job.mapping, dry_run=True, all_or_nothing=False)
    job.save()
    page = client.post(reverse("leads:import_step", args=[job.pk]))
    html = page.content.decode()
    assert "Dry run: nothing was stored." in html
    assert not Answer.objects.exists()
    assert "Pre-fills the answer: Budget, roubles" in html
    assert "Pre-fills the answer: Custom-made or modular kitchen?" in html


def test_an_amocrm_export_reads_its_real_titles(world, criteria):
    raw = amocrm_xlsx(8, responsibles=[world.qualifier.get_full_name()])
    csv_file = open_file(raw)
    mapping = guess_mapping(csv_file.header)
    assert mapping["created"] == "Дата создания сделки"
    assert mapping["status"] == "Этап сделки"
    assert mapping["name"] == "Полное имя контакта"
    assert (mapping["utm_term"], mapping["utm_content"]) == ("utm_term", "utm_content")
    assert "Примечание 2" in mapping["message"]
    import_leads(csv_file, mapping, team=world.team, source=LeadSource.objects.get())
    lead = Lead.objects.get(external_id="5001")
    assert (lead.utm_term, lead.utm_content) == ("кухни", "ad-1")
    assert lead.created_at.date().isoformat() == "2026-03-03"
    assert lead.assignee == world.qualifier
    assert Lead.objects.get(external_id="5003").state == Lead.State.JUNK  # закрыто и не реализовано
    assert "Примечание 2: перезвонить вечером" in Lead.objects.get(external_id="5000").message


def _file(name: str, raw: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, raw, content_type="text/csv")


# --- Item 2: every UTM tag, under the titles Bitrix24 gives them ----------------------------


def test_a_bitrix24_export_brings_all_five_utm_tags_and_its_stage(world):
    raw = bitrix24_csv(12, responsibles=[world.qualifier.get_full_name()])
    mapping = guess_mapping(open_file(raw).header)
    assert {tag: mapping[tag] for tag in ("utm_content", "utm_term", "status")} == {
        "utm_content": "Содержание кампании",
        "utm_term": "Условие поиска кампании",
        "status": "Стадия",
    }
    import_leads(open_file(raw), mapping, team=world.team, source=LeadSource.objects.get())
    odd = Lead.objects.get(external_id="100001")
    assert (odd.utm_source, odd.utm_medium, odd.utm_campaign) == ("yandex", "cpc", "spring-1")
    assert (odd.utm_content, odd.utm_term) == ("banner-1", "кухня на заказ")
    assert Lead.objects.get(external_id="100007").state == Lead.State.JUNK  # by its "Стадия"


@pytest.mark.parametrize(
    "header",
    [
        ["Телефон", "utm_content", "utm_term"],
        ["Телефон", "UTM Content", "UTM Term"],
    ],
)
def test_any_file_maps_utm_content_and_term_by_itself(world, header):
    raw = (";".join(header) + "\n+79161234567;banner-2;кухни на заказ\n").encode()
    csv_file = open_file(raw)
    result = import_leads(
        csv_file, guess_mapping(csv_file.header), team=world.team, source=LeadSource.objects.get()
    )
    assert result.created == 1
    lead = Lead.objects.get()
    assert (lead.utm_content, lead.utm_term) == ("banner-2", "кухни на заказ")


def test_the_admin_edits_a_criterions_names_in_forms(criteria, client, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.ru", "x")
    client.force_login(admin)
    page = client.get(reverse("admin:leads_criterion_change", args=[criteria["budget"].pk]))
    assert page.status_code == 200
    assert 'name="form_names"' in page.content.decode()
    assert "budget_rub" in page.content.decode()
