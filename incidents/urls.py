from django.urls import path

from . import command_urls, views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="list"),
    path("declare/", views.declare, name="declare"),
    path("postmortems/", views.postmortems, name="postmortems"),
    path("<int:pk>/", views.detail, name="detail"),
    *command_urls.urlpatterns,
]
