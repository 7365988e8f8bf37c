from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelinesConfig(AppConfig):
    name = "pearl.pipelines"
    label = "pipelines"
    verbose_name = _("Pipelines and opportunities")

    def ready(self) -> None:
        from pearl.core import handover, sweeps
        from pearl.core.events import subscribe
        from pearl.pipelines.events import on_communication_changed
        from pearl.pipelines.services.handover import open_opportunity_count, opportunities_handover
        from pearl.pipelines.services.quotes import quotes_follow_up_sweep

        subscribe("communication.changed", on_communication_changed)
        handover.register("opportunities", count_fn=open_opportunity_count, transfer_fn=opportunities_handover)
        sweeps.register("pipelines.quotes", quotes_follow_up_sweep)
