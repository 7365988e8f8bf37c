from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelinesConfig(AppConfig):
    name = "pearl.pipelines"
    label = "pipelines"
    verbose_name = _("Pipelines and opportunities")

    def ready(self) -> None:
        from pearl.core import handover, profile_panels, sweeps
        from pearl.core.events import subscribe
        from pearl.pipelines.events import on_communication_changed
        from pearl.pipelines.profile import customer_opportunities
        from pearl.pipelines.services.expiry import quotes_expire_sweep
        from pearl.pipelines.services.handover import open_opportunity_count, opportunities_handover
        from pearl.pipelines.services.quotes import quotes_follow_up_sweep

        subscribe("communication.changed", on_communication_changed)
        handover.register("opportunities", count_fn=open_opportunity_count, transfer_fn=opportunities_handover)
        # Expiry first, so the follow-up sweep does not ask about a quote that has just run out.
        sweeps.register("pipelines.quotes_expire", quotes_expire_sweep, order=90)
        sweeps.register("pipelines.quotes", quotes_follow_up_sweep)
        profile_panels.register(
            "pipelines.opportunities",
            read=customer_opportunities,
            template="pipelines/_customer-opportunities.html",
            order=20,
        )
