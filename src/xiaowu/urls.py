"""Root URLconf: one include per domain, namespaced."""

from django.urls import include, path

from xiaowu.core.views import healthz_view

urlpatterns = [
    path("", include("xiaowu.dashboard.urls")),
    path("accounts/", include("xiaowu.accounts.urls")),
    path("org/", include("xiaowu.org.urls")),
    path("audit/", include("xiaowu.audit.urls")),
    path("students/", include("xiaowu.students.urls")),
    path("staff/", include("xiaowu.staff.urls")),
    path("exchange/", include("xiaowu.exchange.urls")),
    path("reports/", include("xiaowu.reports.urls")),
    path("exams/", include("xiaowu.exams.urls")),
    path("jobs/", include("xiaowu.jobs.urls")),
    path("api/", include("xiaowu.api.urls")),
    path("healthz", healthz_view, name="healthz"),
]

handler403 = "xiaowu.core.views.permission_denied_view"
handler404 = "xiaowu.core.views.page_not_found_view"
handler500 = "xiaowu.core.views.server_error_view"
