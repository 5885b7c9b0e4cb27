"""What the head reads: figures in the reader's language, arrows judged by whether the change
is good, the team's own SLA minutes, the period in the form, the CSV for people."""

import csv
import io
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats, translation

from reports.formatting import (
    COUNT,
    DOWN,
    MINUTES,
    MONEY,
    NEUTRAL,
    SHARE,
    UP,
    figure,
    number,
    trend,
)
from reports.selectors import qualification_figures
from tests.reports.test_team_report import PERIOD, period, week  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "value", "kind", "text"),
    [
        ("en", Decimal("7050000.00"), MONEY, "7,050,000 ₽"),
        ("ru", Decimal("7050000.00"), MONEY, "7\xa0050\xa0000 ₽"),
        ("en", Decimal("1234.50"), MONEY, "1,234.50 ₽"),
        ("ru", Decimal("1234.50"), MONEY, "1\xa0234,50 ₽"),
        ("en", 33.3, SHARE, "33.3%"),
        ("ru", 33.3, SHARE, "33,3\xa0%"),
        ("en", 12.5, MINUTES, "12.5"),
        ("ru", 12.5, MINUTES, "12,5"),
        ("en", 12345, COUNT, "12,345"),
        ("ru", 12345, COUNT, "12\xa0345"),
        ("ru", None, MONEY, "—"),
    ],
)
def test_figures_read_as_the_reader_writes_them(language, value, kind, text):
    with translation.override(language):
        assert figure(value, kind) == text


@pytest.mark.parametrize(
    ("now", "before", "good", "arrow", "verdict", "text"),
    [
        (5, 3, UP, "▲", "good", "up, better"),  # more revenue
        (5, 3, DOWN, "▲", "bad", "up, worse"),  # more breaches
        (3, 5, DOWN, "▼", "good", "down, better"),  # a faster reaction
        (3, 5, UP, "▼", "bad", "down, worse"),
        (5, 3, NEUTRAL, "▲", "neutral", "up"),
        (4, 4, UP, "", "neutral", "no change"),
        (4, None, UP, "", "neutral", ""),
    ],
)
def test_the_arrow_says_whether_the_change_is_good(now, before, good, arrow, verdict, text):
    with translation.override("en"):
        judged = trend(now, before, good)
    assert (judged.arrow, judged.verdict, judged.text) == (arrow, verdict, text)


def test_the_arrow_has_words_in_russian():
    with translation.override("ru"):
        assert trend(1, 2, DOWN).text == "снижение, лучше"


def test_within_follows_the_teams_own_sla_minutes(week):  # noqa: F811
    """Reactions in the week: 10, 18 and 30 working minutes."""
    week.team.sla_warn_minutes, week.team.sla_breach_minutes = 10, 18
    week.team.save()
    figures = qualification_figures(week.team, period(week.team))
    assert (figures["within_warn"], figures["within_breach"]) == (1, 2)
    assert (figures["within_warn_share"], figures["within_breach_share"]) == (33.3, 66.7)
    assert (figures["within_15"], figures["within_20"]) == (1, 2)  # the API's fixed figures


def test_the_page_names_the_sla_minutes_and_judges_each_change(client, week):  # noqa: F811
    week.team.sla_warn_minutes, week.team.sla_breach_minutes = 10, 18
    week.team.save()
    client.force_login(week.head)
    html = client.get(reverse("reports:teams"), PERIOD).content.decode()
    assert "Called within 10 minutes (warning)" in html
    assert "Called within 18 minutes (breach)" in html
    assert "Called within 15 minutes" not in html
    # Leads in: 4 against 1 is up and good; junk 1 against 1 is level.
    assert (
        '<tr data-metric="leads"><th>Leads in</th><td class="now">4 '
        '<span class="change good" aria-hidden="true">▲</span>'
        '<span class="sr-only">up, better</span>' in html
    )
    # SLA breaches: 2 against 0 is up, and bad.
    assert '<span class="change bad" aria-hidden="true">▲</span>' in html
    assert "300,000 ₽" in html and "300000.00" not in html
    assert "Call centre sales" not in html and "sales</span>" not in html


def test_the_period_shows_in_the_form(client, week):  # noqa: F811
    client.force_login(week.head)
    html = client.get(reverse("reports:teams"), PERIOD).content.decode()
    assert 'name="date_from" value="2026-11-02"' in html
    assert 'name="date_to" value="2026-11-08"' in html
    default = client.get(reverse("reports:teams")).content.decode()
    assert 'name="date_from" value="20' in default and 'name="date_to" value="20' in default


def _csv(client, language: str) -> tuple[str, list[list[str]]]:
    response = client.get(
        reverse("reports:teams"), {**PERIOD, "format": "csv"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    body = response.content.decode("utf-8-sig")
    delimiter = ";" if language == "ru" else ","
    return body, list(csv.reader(io.StringIO(body), delimiter=delimiter))


def test_the_pages_csv_is_for_people_in_russian(client, week):  # noqa: F811
    client.force_login(week.head)
    body, rows = _csv(client, "ru")
    assert rows[0] == ["Команда", "Показатель", "Этот период", "Предыдущий период", "Изменение"]
    by_label = {(r[0], r[1]): r[2:] for r in rows[1:]}
    team = f"{week.team.name} (квалифицирует лиды)"
    assert by_label[(team, "Время реакции, медиана (рабочие минуты)")][0] == "18,0"
    assert by_label[(team, "Дозвон за 15 минут (предупреждение)")][0] == "33,3"
    assert by_label[(team, "Выручка по выигранным сделкам")][0] == "300000"
    assert by_label[(team, "Поступило лидов")] == ["4", "1", "рост, лучше"]
    assert "reaction_median" not in body and "18.0" not in body


def test_the_pages_csv_in_english_has_a_decimal_point_and_commas(client, week):  # noqa: F811
    client.force_login(week.head)
    _body, rows = _csv(client, "en")
    assert rows[0] == ["Team", "Metric", "This period", "Before", "Change"]
    by_label = {r[1]: r[2] for r in rows[1:] if r[0].startswith(week.team.name)}
    assert by_label["Reaction, median (working minutes)"] == "18.0"


def test_the_page_links_the_machine_csv_of_the_api(client, week):  # noqa: F811
    client.force_login(week.head)
    html = client.get(reverse("reports:teams"), PERIOD).content.decode()
    assert 'href="/api/v1/reports/teams/?from=2026-11-02&amp;to=2026-11-08&amp;format=csv"' in html


def test_a_chart_with_nothing_to_draw_says_why():
    html = Template("{% load charts %}{% line points %}{% bars items empty='No junk.' %}").render(
        Context({"points": [("w1", None), ("w2", None)], "items": [("a", 0)]})
    )
    assert "<svg" not in html
    assert "Nothing to show in this period." in html and "No junk." in html


@pytest.mark.parametrize("language", ["en", "ru"])
def test_numbers_are_written_as_djangos_number_format_writes_them(language):
    """number() looks the separators up once per language and writes counts itself (a page
    writes ~1,000 numbers): the same text as formats.number_format, sign and grouping too."""
    values = [0, 7, -7, 999, 1000, -1000, 1234567, -987654321, 10**12]
    values += [0.5, 12.3, -1234.5, 1000000.1, Decimal("7050000.00"), Decimal("-0.01")]
    with translation.override(language):
        for value in values:
            for decimals in (0, 1, 2):
                assert number(value, decimals) == formats.number_format(
                    value, decimals, use_l10n=True, force_grouping=True
                ), (value, decimals)
