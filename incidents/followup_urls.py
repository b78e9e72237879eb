"""After the incident: action items, metrics, and how each runbook fared (included at the site root)."""

from django.urls import path

from . import followup_views

app_name = "followup"
urlpatterns = [
    path("actions/", followup_views.action_list, name="actions"),
    path("actions/summary/", followup_views.action_summary, name="actions_summary"),
    path("metrics/", followup_views.metrics_page, name="metrics"),
    path("metrics/figures.csv", followup_views.metrics_csv, name="metrics_csv"),
    path("metrics/incidents.csv", followup_views.metrics_incidents_csv, name="metrics_incidents_csv"),
    path("runbooks/<slug:slug>/record/", followup_views.runbook_record, name="runbook_record"),
]
