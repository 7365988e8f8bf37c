"""The one JSON API under /api/v1/: every app adds its router here."""

from django.utils.translation import gettext_lazy as _

from pearl.accounts.api import BearerTokenAuth
from pearl.accounts.api import router as accounts_router
from pearl.activities.api import router as activities_router
from pearl.analytics.api import router as analytics_router
from pearl.core.api import PearlAPI, SessionCsrfAuth
from pearl.customers.api import router as customers_router
from pearl.dataquality.api import router as dataquality_router
from pearl.integrations.api import router as integrations_router
from pearl.leads.api import router as leads_router
from pearl.pipelines.api import router as pipelines_router
from pearl.pools.api import router as pools_router
from pearl.reminders.api import router as reminders_router
from pearl.sales.api import router as sales_router

api = PearlAPI(
    title="Pearl API",
    version="1",
    urls_namespace="api",
    # Bearer first: a request carrying a token is judged by it alone (see SessionCsrfAuth).
    auth=[BearerTokenAuth(), SessionCsrfAuth()],
    description=str(
        _(
            "Authenticate with `Authorization: Bearer pearl_…` (create a token in the UI or with "
            "`pearl token USERNAME`) or with the browser session plus the X-CSRFToken header. Errors are "
            "RFC 9457 application/problem+json. Single records carry an ETag; send it back as If-Match "
            "to refuse a stale write (412). POSTs accept an Idempotency-Key."
        )
    ),
)
api.add_router("", accounts_router)
api.add_router("", customers_router)
api.add_router("", dataquality_router)
api.add_router("", activities_router)
api.add_router("", sales_router)
api.add_router("", analytics_router)
api.add_router("", integrations_router)
api.add_router("", leads_router)
api.add_router("", pipelines_router)
api.add_router("", pools_router)
api.add_router("", reminders_router)
