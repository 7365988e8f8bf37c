from django.urls import path

from pearl.dataquality import views, views_check, views_quality, views_review

app_name = "dataquality"
urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/preview/", views.import_preview, name="import_preview"),
    path("imports/<int:pk>/run/", views.import_run, name="import_run"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/report/", views.import_report, name="import_report"),
    path("imports/<int:pk>/revert/", views.import_revert, name="import_revert"),
    path("duplicates/", views_review.duplicate_list, name="duplicate_list"),
    path("duplicates/check/", views_check.duplicate_check, name="duplicate_check"),
    path("duplicates/scan/", views_review.duplicate_scan, name="duplicate_scan"),
    path("duplicates/merge/", views_review.duplicate_bulk_merge, name="duplicate_bulk_merge"),
    path("duplicates/settings/", views_review.dedupe_settings, name="dedupe_settings"),
    path("duplicates/<int:pk>/decide/", views_review.duplicate_decide, name="duplicate_decide"),
    path("quality/", views_quality.quality_overview, name="quality"),
]
