from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "pearl.leads"
    label = "leads"
    verbose_name = _("Leads and assignment")

    def ready(self) -> None:
        from pearl.core import handover, sweeps
        from pearl.leads.services.handover import leads_handover, open_lead_count
        from pearl.leads.services.reminders import leads_reminders_sweep

        sweeps.register("leads.reminders", leads_reminders_sweep, order=60)
        handover.register("leads", count_fn=open_lead_count, transfer_fn=leads_handover)
