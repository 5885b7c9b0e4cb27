from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from crm.health.views import healthz
from crm.notifications.api import NotificationViewSet
from deals.api import DealViewSet, LossReasonViewSet
from deals.views import search
from handoff import api as handoff_api
from leads.api import (
    CriterionViewSet,
    ExportViewSet,
    JunkReasonViewSet,
    LeadViewSet,
    SourceViewSet,
)
from leads.intake_view import intake_post
from leads.views import home
from reports.api import CallReportView, TeamReportView

router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("criteria", CriterionViewSet, basename="criterion")
router.register("junk-reasons", JunkReasonViewSet, basename="junk-reason")
router.register("loss-reasons", LossReasonViewSet, basename="loss-reason")
router.register("sources", SourceViewSet, basename="source")
router.register("exports", ExportViewSet, basename="export")
router.register("deals", DealViewSet, basename="deal")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("disputes", handoff_api.DisputeViewSet, basename="dispute")

api_v1 = [
    path("intake/", intake_post, name="intake"),
    path("leads/<int:pk>/convert/", handoff_api.convert, name="lead-convert"),
    path("deals/<int:pk>/dispute/", handoff_api.dispute, name="deal-dispute"),
    path("reports/teams/", TeamReportView.as_view(), name="team-report"),
    path("reports/calls/", CallReportView.as_view(), name="call-report"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Behind the login page for a person with a browser (SERVE_PERMISSIONS answers 401/403).
    # The split view serves its initialiser as a script file, so no inline script runs; Swagger
    # UI sets inline styles, allowed on this page alone (it shows no customer data).
    path(
        "docs/",
        login_required(
            csp_update({"style-src": [UNSAFE_INLINE]})(
                SpectacularSwaggerSplitView.as_view(url_name="api:schema")
            )
        ),
        name="docs",
    ),
    *router.urls,
]

login = auth_views.LoginView.as_view(redirect_authenticated_user=True)
urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The user's own page: their API token.
    path("accounts/profile/", include("crm.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("search/", search, name="search"),
    path("leads/", include("leads.urls")),
    path("", include("handoff.urls")),
    path("deals/", include("deals.urls")),
    path("notifications/", include("crm.notifications.urls")),
    path("reports/", include("reports.urls")),
    path("settings/", include("setup.urls")),
    path("api/v1/", include((api_v1, "api"))),
    # The PBXs' event addresses (README, "Telephony") and the workspace's call panel.
    path("", include("telephony.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # Browsers ask for it on pages that name no icon (the admin's, the API docs).
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"))),
]
