from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pearl.accounts.models import Team, User
from pearl.pools.models import Pool


class PoolForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    teams = forms.ModelMultipleChoiceField(
        label=_("Visible to teams"),
        queryset=Team.objects.all(),
        required=False,
        help_text=_("None chosen: everyone sees the pool."),
    )
    provinces = forms.CharField(
        label=_("Provinces"),
        required=False,
        help_text=_("Customers of these provinces are reclaimed into this pool; separate with commas."),
    )
    reclaim_after_days_without_follow_up = forms.IntegerField(
        label=_("Reclaim after days without follow-up"), min_value=1
    )
    reclaim_after_days_without_deal = forms.IntegerField(
        label=_("Reclaim after days without a deal"), min_value=1, required=False
    )
    warn_days_before = forms.IntegerField(label=_("Warn the owner days before"), min_value=0)
    max_customers_per_person = forms.IntegerField(
        label=_("Most customers one person may hold"), min_value=0, required=False
    )
    daily_claim_quota = forms.IntegerField(label=_("Claims per person per day"), min_value=0, required=False)
    cooldown_days = forms.IntegerField(label=_("Days before the previous owner may claim again"), min_value=0)
    mask_contacts = forms.BooleanField(label=_("Mask contact details until claimed"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False)
    is_default = forms.BooleanField(label=_("Default pool"), required=False)

    @staticmethod
    def initial_for(pool: Pool | None) -> dict[str, Any]:
        if pool is None:
            return {
                "reclaim_after_days_without_follow_up": 30,
                "warn_days_before": 3,
                "cooldown_days": 0,
                "mask_contacts": True,
                "active": True,
            }
        data = {name: getattr(pool, name) for name in PoolForm.base_fields if name not in ("teams", "provinces")}
        data["teams"] = list(pool.teams.all())
        data["provinces"] = ", ".join(pool.provinces)
        return data

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class HandoverForm(forms.Form):
    from_user = forms.ModelChoiceField(label=_("Leaving user"), queryset=User.objects.all())
    to_users = forms.ModelMultipleChoiceField(
        label=_("Taken over by"),
        queryset=User.objects.filter(is_active=True),
        help_text=_("Customers are dealt out in turn."),
    )
    deactivate = forms.BooleanField(label=_("Deactivate the account afterwards"), required=False)
