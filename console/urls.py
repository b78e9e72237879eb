from django.contrib import admin
from django.urls import include, path

from console import health
from incidents import views as incident_views

# Patterns are tried in order: incidents first, as every open incident page polls there every second.
urlpatterns = [
    path("incidents/", include("incidents.urls")),
    path("", incident_views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("runbooks/", include("runbooks.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
]
