from django.contrib import admin

from pearl.core.admin import ReadOnlyAdmin
from pearl.dataquality.models import ImportJob, ImportPreset


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """Jobs change only through the import services; the admin is for looking."""

    list_display = ("id", "filename", "status", "created_by", "created_at", "created_count", "invalid_count")
    list_filter = ("status",)


@admin.register(ImportPreset)
class ImportPresetAdmin(ReadOnlyAdmin):
    list_display = ("name", "key", "rule", "created_by", "created_at")
