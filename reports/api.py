import csv
import io

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import replica
from crm.lib.http import AuthedApiRequest
from crm.lib.spreadsheets import spreadsheet_safe
from reports import exports
from reports.forms import PeriodForm
from reports.selectors import report_teams


class CsvRenderer(BaseRenderer):
    """?format=csv: the report's rows, the same as the page's CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        if isinstance(data, dict) and "teams" in data:
            writer.writerows(spreadsheet_safe(row) for row in exports.rows(data["teams"]))
        else:
            writer.writerow(["detail", data])
        return ("\ufeff" + buffer.getvalue()).encode()


class TeamReportView(APIView):
    request: AuthedApiRequest
    renderer_classes = [JSONRenderer, CsvRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        """Errors are JSON, as everywhere in the API, even when the CSV was asked for: a
        script that asked for the file gets a readable reason, not a one-cell spreadsheet."""
        response = super().handle_exception(exc)
        if isinstance(getattr(self.request, "accepted_renderer", None), CsvRenderer):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "from", str, description="First day, YYYY-MM-DD (default: 30 days ago)"
            ),
            OpenApiParameter("to", str, description="Last day, included (default: today)"),
        ],
    )
    @replica.reporting  # after authentication: the token and the user are the primary's
    def get(self, request: AuthedApiRequest) -> Response:
        teams = report_teams(request.user)
        if not teams:
            raise PermissionDenied
        form = PeriodForm.from_query(request.query_params)
        if not form.is_valid():
            raise ValidationError({f: [str(m) for m in e] for f, e in form.errors.items()})
        period = form.period(None)
        return Response(
            {
                "from": period.first_day,
                "to": period.last_day,
                "previous": {"from": period.previous().first_day, "to": period.previous().last_day},
                "teams": exports.team_report(teams, period),
            }
        )
