from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "runbooks"
urlpatterns = [
    path("", views.runbook_list, name="list"),
    path("severity/", RedirectView.as_view(pattern_name="oncall:severity", query_string=True),
         name="severity"),  # the page moved to /severity/
    path("match/", views.match, name="match"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/versions/", views.versions, name="versions"),
    path("<slug:slug>/versions/<int:a>/diff/<int:b>/", views.diff, name="diff"),
]
