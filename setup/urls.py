from django.urls import path

from . import views, views_import

app_name = "setup"
urlpatterns = [
    path("", views.setup_page, name="page"),
    path("test-message/", views.test_message, name="test_message"),
    path("guide/<slug:name>/", views.guide_page, name="guide"),
    path("import/", views_import.upload, name="import"),
    path("import/<uuid:job_id>/", views_import.preview, name="import_preview"),
    path("import/<uuid:job_id>/progress/", views_import.progress, name="import_progress"),
]
