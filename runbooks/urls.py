from django.urls import path

from . import views

app_name = "runbooks"
urlpatterns = [
    path("", views.runbook_list, name="list"),
    path("severity/", views.severity, name="severity"),
    path("<slug:slug>/", views.detail, name="detail"),
]
