import csv
import io
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from crm.lib.http import AuthedRequest
from crm.lib.spreadsheets import spreadsheet_safe
from crm.teams.selectors import teams_for_user
from reports import exports, people, presentation
from reports.forms import PeriodForm
from reports.periods import Period
from reports.selectors import report_teams


def _period(request: AuthedRequest) -> tuple[PeriodForm, Period | None]:
    form = PeriodForm.from_query(request.GET)
    return form, form.period(timezone.get_current_timezone()) if form.is_valid() else None


@login_required
def teams(request: AuthedRequest) -> HttpResponse:
    """The team report: qualification and sales teams side by side, against the previous
    period; ?format=csv downloads the same numbers."""
    visible = report_teams(request.user)
    if not visible:
        raise PermissionDenied
    form, period = _period(request)
    report = exports.team_report(visible, period) if period else []
    if period and request.GET.get("format") == "csv":
        return _csv(exports.rows(report), f"team-report-{period.first_day}-{period.last_day}.csv")
    for team in report:
        team["table"], team["charts"] = presentation.table(team), presentation.charts(team)
    return render(
        request,
        "reports/teams.html",
        {
            "form": form,
            "period": period,
            "report": report,
            "members": get_user_model()
            .objects.filter(teams__in=visible)
            .distinct()
            .order_by("username"),
        },
        status=200 if period else 400,
    )


@login_required
def person(request: AuthedRequest, pk: int) -> HttpResponse:
    visible = report_teams(request.user)
    user = get_user_model().objects.filter(pk=pk, teams__in=visible).distinct().first()
    if user is None:
        raise Http404
    form, period = _period(request)
    context: dict[str, Any] = {"form": form, "period": period, "person": user}
    if period:
        now = people.person_figures(user, period)
        before = people.person_figures(user, period.previous())
        context["qualifier"] = presentation.person_table(now, before, "qualifier")
        context["closer"] = presentation.person_table(now, before, "closer")
    return render(request, "reports/person.html", context, status=200 if period else 400)


@login_required
def leaderboard(request: AuthedRequest) -> HttpResponse:
    """What every team member sees: points for the actions that make sales."""
    team_ids = list(teams_for_user(request.user).values_list("pk", flat=True))
    form, period = _period(request)
    board = people.leaderboard(team_ids, period) if period else None
    return render(request, "reports/leaderboard.html", {"form": form, "board": board})


@login_required
def insights(request: AuthedRequest) -> HttpResponse:
    """Which answers predict a sale, and which sources bring junk or disputes."""
    visible = report_teams(request.user)
    if not visible:
        raise PermissionDenied
    team_ids = [t.pk for t in visible]
    form, period = _period(request)
    context: dict[str, Any] = {"form": form}
    if period:
        context["answers"] = people.answer_outcomes(team_ids, period)
        context["sources"] = people.source_quality(team_ids, period)
    return render(request, "reports/insights.html", context)


def _csv(rows, filename: str) -> HttpResponse:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(spreadsheet_safe(row) for row in rows)
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
