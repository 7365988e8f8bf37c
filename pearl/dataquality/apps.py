from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataQualityConfig(AppConfig):
    name = "pearl.dataquality"
    label = "dataquality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        # The customer services keep the match keys in step and ask the matcher before every
        # create through these seams (the customers app cannot import this one).
        from pearl.core import duplicates
        from pearl.dataquality import selectors
        from pearl.dataquality.services.matchkeys import match_keys_refresh

        duplicates.register_refresher("dataquality.matchkeys", match_keys_refresh)
        duplicates.register_finder(
            lambda actor, candidate: selectors.duplicate_check(actor=actor, candidate=candidate),
            lambda actor, candidates: selectors.duplicate_check_many(actor=actor, candidates=candidates),
        )
