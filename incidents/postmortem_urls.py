"""Postmortem, milestone and action-item URLs under /incidents/<pk>/ (included by incidents/urls.py)."""

from django.urls import path

from . import followup_views, postmortem_views

urlpatterns = [
    path("<int:pk>/postmortem/", postmortem_views.postmortem_page, name="postmortem"),
    path("<int:pk>/postmortem/generate/", postmortem_views.generate, name="postmortem_generate"),
    path("<int:pk>/postmortem/sections/<slug:key>/", postmortem_views.save_section, name="postmortem_section"),
    path("<int:pk>/postmortem/timeline/", postmortem_views.choose_entries, name="postmortem_entries"),
    path("<int:pk>/postmortem/state/", postmortem_views.move, name="postmortem_state"),
    path("<int:pk>/postmortem/waive/", postmortem_views.waive, name="postmortem_waive"),
    path("<int:pk>/postmortem/history/", postmortem_views.history, name="postmortem_history"),
    path("<int:pk>/postmortem/print/", postmortem_views.print_page, name="postmortem_print"),
    path("<int:pk>/postmortem.md", postmortem_views.markdown_export, name="postmortem_md"),
    path("<int:pk>/milestones/", postmortem_views.edit_milestone, name="milestone"),
    path("<int:pk>/actions/", postmortem_views.add_action, name="action_new"),
    path("<int:pk>/actions/<int:item_pk>/", followup_views.item_action, name="action_item"),
]
