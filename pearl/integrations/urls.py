"""/integrations/ pages: the web forms' settings (the channel-event API lives under /api/v1/)."""

from django.urls import path

from pearl.integrations import views

app_name = "integrations"

urlpatterns = [
    path("forms/", views.webform_list, name="webform_list"),
    path("forms/new/", views.webform_create, name="webform_create"),
    path("forms/<int:pk>/", views.webform_edit, name="webform_edit"),
    path("forms/<int:pk>/toggle/", views.webform_toggle, name="webform_toggle"),
]
