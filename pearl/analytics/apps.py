from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "pearl.analytics"
    label = "analytics"
    verbose_name = _("Figures, grades and smart tags")

    def ready(self) -> None:
        from pearl.analytics import services
        from pearl.analytics.selectors import smart_tag_ids
        from pearl.core import events, sweeps
        from pearl.customers.services.derived import register_managed_tags

        for name in services.EVENTS:
            events.subscribe(name, services.on_customer_event)
        sweeps.register("analytics.figures", services.analytics_sweep)
        register_managed_tags(smart_tag_ids)
