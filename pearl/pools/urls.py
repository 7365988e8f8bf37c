from django.urls import path

from pearl.pools import views

app_name = "pools"

urlpatterns = [
    path("", views.pool_list, name="pool_list"),
    path("<int:pk>/", views.pool_detail, name="pool_detail"),
    path("<int:pk>/claim/<int:customer_id>/", views.pool_claim, name="pool_claim"),
    path("settings/", views.pool_settings, name="pool_settings"),
    path("settings/new/", views.pool_edit, name="pool_create"),
    path("settings/<int:pk>/", views.pool_edit, name="pool_edit"),
    path("handover/", views.handover, name="handover"),
]
