from django.contrib import admin

from pearl.accounts.models import Role, Team, User
from pearl.core.admin import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "display_name", "role", "team", "is_active")


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "parent", "path")


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ("name", "label", "data_scope")
