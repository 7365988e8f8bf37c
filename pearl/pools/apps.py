from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolsConfig(AppConfig):
    name = "pearl.pools"
    label = "pools"
    verbose_name = _("Public pool")

    def ready(self) -> None:
        from pearl.core import sweeps
        from pearl.pools.services import reclaim_sweep

        # After the analytics sweep (order 100), so last-contact figures are fresh.
        sweeps.register("pools.reclaim", reclaim_sweep, order=200)
