"""Accounts services (teams, roles, users, API tokens) and the data scopes in core.permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from pearl.accounts.models import ApiToken, Role, Team, User
from pearl.accounts.services import (
    role_update,
    team_create,
    team_update,
    token_authenticate,
    token_create,
    token_revoke,
    user_create,
    user_update,
)
from pearl.core.errors import PermissionDenied, ValidationFailed
from pearl.core.permissions import scope_q
from pearl.core.testing.personas import PASSWORD
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer

# --- teams -----------------------------------------------------------------------------------------


def test_team_paths_follow_the_tree(org):
    assert org.company.path == f"/{org.company.pk}/"
    assert org.region.path == f"/{org.company.pk}/{org.region.pk}/"
    assert org.team_a.path == f"{org.region.path}{org.team_a.pk}/"
    assert [org.company.depth, org.region.depth, org.team_a.depth] == [0, 1, 2]


def test_a_team_has_an_active_manager_kept_or_changed_on_update(org):
    team = team_create(actor=org.admin, name="三组", parent=org.region, manager=org.manager)
    assert Team.objects.get(pk=team.pk).manager_id == org.manager.pk
    team_update(actor=org.admin, team=team, name="三组(广州)", parent=org.region, keep_manager=True)
    assert Team.objects.get(pk=team.pk).manager_id == org.manager.pk
    org.teammate.is_active = False
    org.teammate.save()
    with pytest.raises(ValidationFailed) as refused:
        team_update(actor=org.admin, team=team, name="三组", parent=org.region, manager=org.teammate)
    assert "manager" in refused.value.field_errors
    team_update(actor=org.admin, team=team, name="三组", parent=org.region, manager=None)
    assert Team.objects.get(pk=team.pk).manager_id is None


def test_a_user_on_leave_stays_active(org):
    user_update(actor=org.admin, user=org.owner, data={"on_leave": True})
    fresh = User.objects.get(pk=org.owner.pk)
    assert fresh.on_leave is True and fresh.is_active is True and fresh.may("edit")


def test_team_create_requires_a_name_and_the_right(org):
    with pytest.raises(ValidationFailed) as exc:
        team_create(actor=org.admin, name="  ", parent=org.region)
    assert "name" in exc.value.field_errors
    with pytest.raises(PermissionDenied):
        team_create(actor=org.owner, name="三组", parent=org.region)
    assert not Team.objects.filter(name="三组").exists()


def test_moving_a_team_moves_its_subtree(org):
    sub = team_create(actor=org.admin, name="一组甲", parent=org.team_a)
    team_update(actor=org.admin, team=org.team_a, name="一组", parent=org.team_b)
    org.team_a.refresh_from_db()
    sub.refresh_from_db()
    assert org.team_a.path == f"{org.team_b.path}{org.team_a.pk}/"
    assert sub.path == f"{org.team_a.path}{sub.pk}/"
    assert sub.depth == 4


def test_renaming_keeps_the_path(org):
    before = org.team_a.path
    team_update(actor=org.admin, team=org.team_a, name="  一组(广州)  ", parent=org.region)
    org.team_a.refresh_from_db()
    assert (org.team_a.name, org.team_a.path) == ("一组(广州)", before)


@pytest.mark.parametrize("new_parent", ["self", "child", "grandchild"])
def test_a_team_cannot_move_under_its_own_subtree(org, new_parent):
    grandchild = team_create(actor=org.admin, name="一组甲", parent=org.team_a)
    parent = {"self": org.region, "child": org.team_a, "grandchild": grandchild}[new_parent]
    with pytest.raises(ValidationFailed) as exc:
        team_update(actor=org.admin, team=org.region, name="华南大区", parent=parent)
    assert "parent" in exc.value.field_errors
    assert Team.objects.get(pk=org.region.pk).path == f"/{org.company.pk}/{org.region.pk}/"
    assert Team.objects.get(pk=org.region.pk).parent_id == org.company.pk


def test_team_update_is_denied_without_settings_right(org):
    with pytest.raises(PermissionDenied):
        team_update(actor=org.manager, team=org.team_a, name="x", parent=org.region)
    assert Team.objects.get(pk=org.team_a.pk).name == "一组"


# --- roles -----------------------------------------------------------------------------------------


def test_role_update_changes_scope_and_actions(org):
    sales = Role.objects.get(name="sales")
    role_update(actor=org.admin, role=sales, data={"data_scope": "team", "can_export": True, "name": "hack"})
    sales.refresh_from_db()
    assert (sales.data_scope, sales.can_export, sales.name) == ("team", True, "sales")  # code is not editable
    org.owner.refresh_from_db()
    assert org.owner.data_scope == "team"
    assert org.owner.may("export")


def test_admin_role_keeps_manage_settings(org):
    admin_role = Role.objects.get(name="admin")
    with pytest.raises(ValidationFailed):
        role_update(actor=org.admin, role=admin_role, data={"can_manage_settings": False})
    assert Role.objects.get(name="admin").can_manage_settings is True


def test_role_update_is_denied_to_sales(org):
    with pytest.raises(PermissionDenied):
        role_update(actor=org.owner, role=Role.objects.get(name="sales"), data={"data_scope": "all"})
    assert Role.objects.get(name="sales").data_scope == "own"


# --- users -----------------------------------------------------------------------------------------


def test_user_create_stores_a_hashed_password(org):
    user = user_create(
        actor=org.admin, username="sales3", password="Haixian-2026!", role=Role.objects.get(name="sales"),
        team=org.team_b, display_name=" 王五 ", email="wang@example.cn",
    )
    user.refresh_from_db()
    assert user.check_password("Haixian-2026!")
    assert user.password != "Haixian-2026!"
    assert (user.display_name, user.team_id, user.role_id) == ("王五", org.team_b.pk, Role.objects.get(name="sales").pk)


def test_user_create_refuses_a_duplicate_username_case_insensitively(org):
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=org.admin, username="OWNER", password="Haixian-2026!", role=None)
    assert "username" in exc.value.field_errors
    assert User.objects.filter(username__iexact="owner").count() == 1


@pytest.mark.parametrize("password", ["short", "password123", "12345678"])
def test_user_create_refuses_a_weak_password(org, password):
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=org.admin, username="weak", password=password, role=None)
    assert exc.value.field_errors["password"]
    assert not User.objects.filter(username="weak").exists()


def test_user_create_is_denied_to_sales(org):
    with pytest.raises(PermissionDenied):
        user_create(actor=org.owner, username="sneaky", password="Haixian-2026!", role=None)
    assert not User.objects.filter(username="sneaky").exists()


def test_user_update_cannot_deactivate_yourself(org):
    with pytest.raises(ValidationFailed):
        user_update(actor=org.admin, user=User.objects.get(pk=org.admin.pk), data={"is_active": False})
    assert User.objects.get(pk=org.admin.pk).is_active


def test_user_update_sets_a_new_password_and_refuses_a_weak_one(org):
    user_update(actor=org.admin, user=org.owner, data={"password": "New-Haixian-2026"})
    assert User.objects.get(pk=org.owner.pk).check_password("New-Haixian-2026")
    with pytest.raises(ValidationFailed):
        user_update(actor=org.admin, user=org.owner, data={"password": "123"})
    assert User.objects.get(pk=org.owner.pk).check_password("New-Haixian-2026")


# --- API tokens ------------------------------------------------------------------------------------


def test_token_is_stored_hashed_and_authenticates(org):
    token, secret = token_create(actor=org.owner, user=org.owner, name="ERP")
    assert secret.startswith("pearl_")
    assert secret[:12] == token.prefix
    assert secret not in token.key_hash
    assert token_authenticate(secret) == org.owner
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_unknown_or_malformed_secrets_authenticate_nobody(org):
    token_create(actor=org.owner, user=org.owner)
    assert token_authenticate("pearl_nonsense") is None
    assert token_authenticate("") is None
    assert token_authenticate("Bearer x") is None


def test_revoked_token_no_longer_authenticates(org):
    token, secret = token_create(actor=org.owner, user=org.owner)
    token_revoke(actor=org.owner, token=token)
    assert token_authenticate(secret) is None
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_inactive_users_token_authenticates_nobody(org):
    _, secret = token_create(actor=org.owner, user=org.owner)
    user_update(actor=org.admin, user=org.owner, data={"is_active": False})
    assert token_authenticate(secret) is None


def test_tokens_for_others_need_the_settings_right(org):
    with pytest.raises(PermissionDenied):
        token_create(actor=org.outsider, user=org.owner)
    assert not ApiToken.objects.filter(user=org.owner).exists()
    token, secret = token_create(actor=org.admin, user=org.owner)  # an admin may
    assert token_authenticate(secret) == org.owner
    with pytest.raises(PermissionDenied):
        token_revoke(actor=org.outsider, token=token)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    token_revoke(actor=org.admin, token=token)
    assert token_authenticate(secret) is None


def test_persona_password_is_the_shared_one(org):
    assert User.objects.get(username="owner").check_password(PASSWORD)


# --- data scopes (core.permissions.scope_q) ---------------------------------------------------------


@pytest.fixture
def spread(org):
    """One customer per corner of the tree, each owned by a different persona."""
    return {
        "owner": make_customer(org.owner),
        "teammate": make_customer(org.teammate),
        "outsider": make_customer(org.outsider),
        "company": make_customer(org.admin),
    }


def _visible(actor, spread) -> set[str]:
    ids = set(Customer.objects.filter(scope_q(actor)).values_list("pk", flat=True))
    return {name for name, customer in spread.items() if customer.pk in ids}


def test_scope_own_sees_only_own_records(org, spread):
    assert _visible(org.owner, spread) == {"owner"}
    assert _visible(org.outsider, spread) == {"outsider"}


def test_scope_team_sees_the_team(org, spread):
    assert org.service.data_scope == "team"
    assert _visible(org.service, spread) == {"owner", "teammate"}


def test_scope_subtree_sees_the_region_but_not_above(org, spread):
    assert org.manager.data_scope == "subtree"
    assert _visible(org.manager, spread) == {"owner", "teammate", "outsider"}


def test_scope_all_sees_everything(org, spread):
    assert _visible(org.admin, spread) == set(spread)
    assert _visible(org.finance, spread) == set(spread)


def test_scope_without_a_team_falls_back_to_own(org, spread):
    user_update(actor=org.admin, user=org.service, data={"team": None})
    service = User.objects.get(pk=org.service.pk)
    assert _visible(service, spread) == set()


def test_nobody_and_inactive_users_see_nothing(org, spread):
    assert _visible(None, spread) == set()
    assert _visible(AnonymousUser(), spread) == set()
    user_update(actor=org.admin, user=org.manager, data={"is_active": False})
    assert _visible(User.objects.get(pk=org.manager.pk), spread) == set()


def test_scope_follows_a_team_move(org, spread):
    """Moving 二组 out of the region takes its customers out of the manager's subtree at once."""
    team_update(actor=org.admin, team=org.team_b, name="二组", parent=org.company)
    manager = User.objects.get(pk=org.manager.pk)
    assert _visible(manager, spread) == {"owner", "teammate"}


def test_nobody_can_lock_everyone_out_of_settings(org) -> None:
    from pearl.accounts.models import Role
    from pearl.accounts.services import user_update

    sales = Role.objects.get(name="sales")
    with pytest.raises(ValidationFailed):
        user_update(actor=org.admin, user=org.admin, data={"role": sales})
    org.admin.refresh_from_db()
    assert org.admin.role.name == "admin"


def test_role_update_validates_scope_and_label(org) -> None:
    from pearl.accounts.models import Role

    role = Role.objects.get(name="sales")
    with pytest.raises(ValidationFailed) as info:
        role_update(actor=org.admin, role=role, data={"data_scope": "galaxy", "label": ""})
    assert set(info.value.field_errors) == {"data_scope", "label"}
    assert Role.objects.get(name="sales").data_scope == "own"
