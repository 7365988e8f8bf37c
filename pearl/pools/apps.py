from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolsConfig(AppConfig):
    name = "pearl.pools"
    label = "pools"
    verbose_name = _("Public pool")

    def ready(self) -> None:
        from pearl.core import profile_panels, sweeps
        from pearl.pools.profile import customer_pool_state
        from pearl.pools.services import reclaim_sweep

        # After the analytics sweep (order 100), so last-contact figures are fresh.
        sweeps.register("pools.reclaim", reclaim_sweep, order=200)
        # First in the 360° page's sales panel: whether the customer is in the pool, protected or due back.
        profile_panels.register("pools.state", read=customer_pool_state, template="pools/_customer-pool.html", order=10)
