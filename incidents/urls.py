from django.urls import path

from . import command_urls, declare_views, paging_urls, postmortem_urls, postmortem_views, views

app_name = "incidents"
urlpatterns = [
    path("<int:pk>/poll/", views.poll, name="poll"),  # first: most requests the console serves are this one
    path("", views.incident_list, name="list"),
    path("live/", views.dashboard_poll, name="dashboard_poll"),
    path("declare/", declare_views.declare, name="declare"),
    path("declare/suggest/", declare_views.declare_suggest, name="declare_suggest"),
    path("postmortems/", postmortem_views.postmortem_list, name="postmortems"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/status/", views.transition, name="transition"),
    path("<int:pk>/severity/", views.change_severity, name="severity"),
    path("<int:pk>/roles/", views.assign_role, name="role"),
    path("<int:pk>/runbooks/", views.attach, name="attach"),
    path("<int:pk>/runbooks/find/", views.attach_search, name="attach_search"),
    path("<int:pk>/runbooks/<int:link_pk>/follow/", views.follow_runbook, name="follow_runbook"),
    path("<int:pk>/notes/", views.add_note, name="note"),
    path("<int:pk>/items/<int:item_pk>/", views.item_action, name="item"),
    *command_urls.urlpatterns,
    *paging_urls.urlpatterns,
    *postmortem_urls.urlpatterns,
]
