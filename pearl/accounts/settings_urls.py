"""/settings/: people (accounts) and customer-data settings (customers.settings_views) in one section."""

from django.urls import path

from pearl.accounts import views
from pearl.customers import settings_views as cv

app_name = "settings"
urlpatterns = [
    path("", views.settings_index, name="index"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("roles/", views.role_list, name="role_list"),
    path("roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("tags/", cv.tag_list, name="tag_list"),
    path("tags/<int:pk>/", cv.tag_edit, name="tag_edit"),
    path("tags/<int:pk>/delete/", cv.tag_delete, name="tag_delete"),
    path("choices/", cv.choice_index, name="choice_index"),
    path("choices/<str:list_name>/", cv.choice_list, name="choice_list"),
    path("choices/<str:list_name>/<int:pk>/", cv.choice_edit, name="choice_edit"),
    path("choices/<str:list_name>/<int:pk>/toggle/", cv.choice_toggle, name="choice_toggle"),
    path("fields/", cv.field_index, name="field_index"),
    path("fields/<str:object_type>/", cv.field_list, name="field_list"),
    path("fields/<str:object_type>/new/", cv.field_create, name="field_create"),
    path("fields/<str:object_type>/<int:pk>/", cv.field_edit, name="field_edit"),
    path("fields/<str:object_type>/<int:pk>/delete/", cv.field_delete, name="field_delete"),
]
