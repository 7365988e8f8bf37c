"""/settings/ pages for customer data: tags, choice lists and custom fields.

Included by pearl.accounts.settings_urls into its "settings" namespace; no app_name here, so the
names below join that namespace (``settings:tag_list``, …).
"""

from django.urls import path

from pearl.customers import settings_views as views

urlpatterns = [
    path("tags/", views.tag_list, name="tag_list"),
    path("tags/<int:pk>/", views.tag_edit, name="tag_edit"),
    path("tags/<int:pk>/delete/", views.tag_delete, name="tag_delete"),
    path("choices/", views.choice_index, name="choice_index"),
    path("choices/<str:list_name>/", views.choice_list, name="choice_list"),
    path("choices/<str:list_name>/<int:pk>/", views.choice_edit, name="choice_edit"),
    path("choices/<str:list_name>/<int:pk>/toggle/", views.choice_toggle, name="choice_toggle"),
    path("fields/", views.field_index, name="field_index"),
    path("fields/<str:object_type>/", views.field_list, name="field_list"),
    path("fields/<str:object_type>/new/", views.field_create, name="field_create"),
    path("fields/<str:object_type>/<int:pk>/", views.field_edit, name="field_edit"),
    path("fields/<str:object_type>/<int:pk>/delete/", views.field_delete, name="field_delete"),
]
