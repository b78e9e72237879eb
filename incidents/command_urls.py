"""URLs of command runs under an incident; included by incidents/urls.py."""

from django.urls import path

from . import command_views

urlpatterns = [
    path("<int:pk>/items/<int:item_pk>/commands/<int:index>/run/", command_views.run_new, name="run_new"),
]
