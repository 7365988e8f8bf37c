"""/settings/: people settings (this app) and customer-data settings in one "settings" namespace.

The customer-data pages are included by module path: URL wiring, not a code dependency, so
accounts does not import another app's views (tests/test_architecture.py).
"""

from django.urls import include, path

from pearl.accounts import views

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
    # tags/, choices/, fields/ (no app_name there, so the names join this namespace)
    path("", include("pearl.customers.settings_urls")),
]
