"""URLs of paging under an incident; included by incidents/urls.py (the acknowledge link is console/urls.py's)."""

from django.urls import path

from . import paging_views

urlpatterns = [
    path("<int:pk>/page/", paging_views.page_contact, name="page_contact"),
    path("<int:pk>/escalation/jump/", paging_views.jump, name="escalation_jump"),
]
