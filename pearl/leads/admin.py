from django.contrib import admin

from pearl.core.admin import ReadOnlyAdmin
from pearl.leads.models import AssignmentRule, Lead, LeadFollowUp


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    """Leads change only through the leads services (assignment, history); the admin is for looking."""

    list_display = ("name", "company", "mobile", "status", "owner", "assigned_rule", "created_at")
    list_filter = ("status", "source", "assigned_rule")
    search_fields = ("name", "company", "mobile")
    list_select_related = ("owner", "assigned_rule")
    show_full_result_count = False  # hundreds of thousands of leads: don't count on every admin page


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_active", "order", "method", "capacity")
    list_filter = ("is_active", "method")


@admin.register(LeadFollowUp)
class LeadFollowUpAdmin(ReadOnlyAdmin):
    list_display = ("lead", "kind", "at", "actor", "summary")
    list_filter = ("kind",)
    list_select_related = ("lead", "actor")
    show_full_result_count = False
