from django.urls import path

from . import oncall_views

app_name = "oncall"
urlpatterns = [
    path("severity/", oncall_views.severity, name="severity"),
    path("severity/suggest/", oncall_views.severity_suggest, name="severity_suggest"),
    path("escalation/", oncall_views.escalation, name="escalation"),
]
