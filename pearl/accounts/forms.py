"""Forms for the accounts settings pages.

Forms only turn posted text into typed values (and catch what would break the database, such as
over-long text or an unknown id); every rule about users, teams, roles and tokens lives in the services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _

from pearl.accounts.choices import DataScope
from pearl.accounts.models import Role, Team, User


class TeamChoiceField(forms.ModelChoiceField):
    """Teams shown indented by depth so the tree reads in a plain <select>."""

    def label_from_instance(self, obj: Any) -> str:
        return "\u2003" * obj.depth + obj.name


class UserCreateForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150, validators=[UnicodeUsernameValidator()],
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    display_name = forms.CharField(label=_("Display name"), max_length=64, required=False)
    email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none(), empty_label=None)
    team = TeamChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("(no team)")
    )

    def __init__(self, *args: Any, roles: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = roles  # type: ignore[attr-defined]  # ModelChoiceField has it
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]


class UserUpdateForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=64, required=False)
    email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    # Optional here (unlike on create) so a role-less account, e.g. from createsuperuser, is shown as it
    # is instead of silently getting the first role in the list when saved.
    role = forms.ModelChoiceField(
        label=_("Role"), queryset=Role.objects.none(), required=False, empty_label=_("(no role)")
    )
    team = TeamChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("(no team)")
    )
    is_active = forms.BooleanField(
        label=_("Active"), required=False,
        help_text=_("Inactive users cannot log in or use their API tokens."),
    )
    on_leave = forms.BooleanField(
        label=_("On leave"), required=False,
        help_text=_("Keeps their customers and can log in, but gets no new leads from assignment rules."),
    )
    password = forms.CharField(
        label=_("New password"), strip=False, required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."),
    )

    def __init__(self, *args: Any, roles: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = roles  # type: ignore[attr-defined]
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(user: User) -> dict[str, Any]:
        return {
            "display_name": user.display_name, "email": user.email, "role": user.role_id,
            "team": user.team_id, "is_active": user.is_active, "on_leave": user.on_leave,
        }


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = TeamChoiceField(
        label=_("Parent team"), queryset=Team.objects.none(), required=False,
        empty_label=_("(none: top of the tree)"),
    )
    manager = forms.ModelChoiceField(
        label=_("Manager"), queryset=User.objects.none(), required=False, empty_label=_("(no manager)"),
        help_text=_("Told when the team's leads wait without follow-up."),
    )

    def __init__(self, *args: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = teams  # type: ignore[attr-defined]
        self.fields["manager"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]


class RoleForm(forms.Form):
    label = forms.CharField(label=_("Name"), max_length=64)
    data_scope = forms.ChoiceField(label=_("Data scope"), choices=DataScope.choices)
    can_create = forms.BooleanField(label=_("Create records"), required=False)
    can_edit = forms.BooleanField(label=_("Edit records"), required=False)
    can_delete = forms.BooleanField(label=_("Delete records"), required=False)
    can_export = forms.BooleanField(label=_("Export data"), required=False)
    can_manage_settings = forms.BooleanField(label=_("Manage settings"), required=False)

    PERMISSION_FIELDS = ("can_create", "can_edit", "can_delete", "can_export", "can_manage_settings")

    @classmethod
    def initial_for(cls, role: Role) -> dict[str, Any]:
        data: dict[str, Any] = {"label": role.label, "data_scope": role.data_scope}
        data.update({name: getattr(role, name) for name in cls.PERMISSION_FIELDS})
        return data


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, required=False,
        help_text=_("What the token is for, e.g. the system that will use it."),
    )
    # Only rendered for users who manage settings; the service refuses anyone else.
    user = forms.ModelChoiceField(label=_("For user"), queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, users: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]
