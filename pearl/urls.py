from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from pearl.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="customers:customer_list", permanent=False)),
    path("accounts/", include("pearl.accounts.urls")),
    path("customers/", include("pearl.customers.urls")),
    path("settings/", include("pearl.accounts.settings_urls")),
    path("data/", include("pearl.dataquality.urls")),
    path("activities/", include("pearl.activities.urls")),
    path("sales/", include("pearl.sales.urls")),
    path("insights/", include("pearl.analytics.urls")),
    path("integrations/", include("pearl.integrations.urls")),
    path("f/", include("pearl.integrations.public_urls")),
    path("leads/", include("pearl.leads.urls")),
    path("pipelines/", include("pearl.pipelines.urls")),
    path("pools/", include("pearl.pools.urls")),
    path("my/", include("pearl.reminders.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
