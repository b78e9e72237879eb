"""URLs of command runs under an incident; included by incidents/urls.py."""

from django.urls import path

from . import command_views

urlpatterns = [
    path("<int:pk>/items/<int:item_pk>/commands/<int:index>/run/", command_views.run_new, name="run_new"),
    path("<int:pk>/runs/", command_views.runs_panel, name="runs"),
    path("<int:pk>/runs/<int:run_pk>/", command_views.run_detail, name="run_detail"),
    path("<int:pk>/runs/<int:run_pk>/output.txt", command_views.run_output, name="run_output"),
    path("<int:pk>/runs/<int:run_pk>/approve/", command_views.run_approve, name="run_approve"),
    path("<int:pk>/runs/<int:run_pk>/cancel/", command_views.run_cancel, name="run_cancel"),
]
