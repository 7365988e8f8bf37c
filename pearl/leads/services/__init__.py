"""Writes of the leads app: leads (with assignment), assignment rules, conversion, the reminder sweep."""

from pearl.leads.services.assignment import Assigner, Decision, matches, may_own_leads
from pearl.leads.services.conversion import Conversion, default_opportunity_name, lead_convert
from pearl.leads.services.inquiries import Inquiry, lead_inquiries_add
from pearl.leads.services.leads import (
    BulkResult,
    Fallback,
    lead_create,
    lead_delete,
    lead_follow_up_add,
    lead_update,
    leads_create_clean,
    leads_create_many,
    rule_values,
    status_error,
)
from pearl.leads.services.notices import notify_asked_again, notify_assigned
from pearl.leads.services.reminders import follow_up_hours, leads_reminders_sweep
from pearl.leads.services.rules import (
    assignment_rule_create,
    assignment_rule_delete,
    assignment_rule_update,
    assignment_rules_reorder,
    clean_conditions,
)

__all__ = [
    "Assigner",
    "BulkResult",
    "Conversion",
    "Decision",
    "Fallback",
    "Inquiry",
    "assignment_rule_create",
    "assignment_rule_delete",
    "assignment_rule_update",
    "assignment_rules_reorder",
    "clean_conditions",
    "default_opportunity_name",
    "follow_up_hours",
    "lead_convert",
    "lead_create",
    "lead_delete",
    "lead_follow_up_add",
    "lead_inquiries_add",
    "lead_update",
    "leads_create_clean",
    "leads_create_many",
    "leads_reminders_sweep",
    "matches",
    "may_own_leads",
    "notify_asked_again",
    "notify_assigned",
    "rule_values",
    "status_error",
]
