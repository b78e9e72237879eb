from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.templatetags.static import static as static_url
from django.urls import include, path

from accounts import views as account_views
from console import health
from incidents import paging_views, wall_views
from incidents import views as incident_views


@login_not_required
def favicon(request):
    """Browsers ask /favicon.ico whatever the page names: the static icon (its hashed name, known at run time)."""
    return redirect(static_url("favicon.svg"))


admin.site.site_header = "Incident Console · admin"  # the admin is the console's, not "Django administration"
admin.site.site_title = "Incident Console admin"
admin.site.index_title = "Runbooks, people, paging and how commands run"


# Patterns are tried in order: incidents first, as every open incident page polls there every second.
urlpatterns = [
    path("incidents/", include("incidents.urls")),
    path("", incident_views.dashboard, name="dashboard"),
    path("wall/", wall_views.wall, name="wall"),  # the screen in the room: tiles, no navigation
    path("favicon.ico", favicon),
    path("healthz", health.healthz, name="healthz"),
    path("", include("incidents.followup_urls")),  # /actions/, /metrics/, /runbooks/<slug>/record/
    path("accounts/", include("accounts.urls")),
    path("runbooks/", include("runbooks.urls")),
    path("", include("runbooks.oncall_urls")),  # /severity/ and /escalation/
    path("ack/<str:token>/", paging_views.acknowledge_link, name="page_ack"),  # no login: the signed link is all
    path("admin/login/", account_views.admin_login),  # one login page, the throttled one
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("setup/", include("setup.urls")),
]
