"""Log in/out and the people settings pages: users, teams, roles, API tokens."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pearl.accounts.models import ApiToken, Role, Team, User
from pearl.accounts.services import token_authenticate, token_create
from pearl.core.testing.personas import PASSWORD


def _people_urls(org) -> list[str]:
    return [
        reverse("settings:index"),
        reverse("settings:user_list"),
        reverse("settings:user_create"),
        reverse("settings:user_edit", args=[org.owner.pk]),
        reverse("settings:team_list"),
        reverse("settings:team_edit", args=[org.team_a.pk]),
        reverse("settings:role_list"),
        reverse("settings:role_edit", args=[Role.objects.get(name="sales").pk]),
    ]


# --- log in / out ------------------------------------------------------------------------------------


def test_login_page_has_both_fields(en, db):
    response = en.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text


def test_wrong_password_shows_an_error_and_logs_nobody_in(en, org):
    response = en.post(reverse("accounts:login"), {"username": "owner", "password": "wrong-one"})
    assert response.status_code == 200
    assert "Please enter a correct" in response.text
    assert "_auth_user_id" not in en.session


def test_wrong_password_error_is_in_chinese_by_default(client, org):
    response = client.post(reverse("accounts:login"), {"username": "owner", "password": "wrong-one"})
    assert "请输入一个正确的" in response.text


def test_login_then_logout(en, org):
    response = en.post(reverse("accounts:login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_list")
    assert en.session["_auth_user_id"] == str(org.owner.pk)

    assert en.get(reverse("accounts:logout")).status_code == 405  # GET never logs out
    assert "_auth_user_id" in en.session

    response = en.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in en.session


def test_login_honours_next(en, org):
    response = en.post(
        reverse("accounts:login") + "?next=/settings/tokens/",
        {"username": "owner", "password": PASSWORD, "next": "/settings/tokens/"},
    )
    assert response["Location"] == "/settings/tokens/"


def test_inactive_user_cannot_log_in(en, org):
    User.objects.filter(pk=org.owner.pk).update(is_active=False)
    en.post(reverse("accounts:login"), {"username": "owner", "password": PASSWORD})
    assert "_auth_user_id" not in en.session


# --- who may open the settings --------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, org):
    for url in [*_people_urls(org), reverse("settings:token_list")]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login") + "?next="), url
        assert client.post(url, {"name": "x"}).status_code == 302, url


@pytest.mark.parametrize("persona", ["owner", "outsider", "manager", "service", "finance"])
def test_users_without_settings_right_get_403_and_change_nothing(en, org, persona):
    en.force_login(getattr(org, persona))
    before = (User.objects.count(), Team.objects.count(), list(Role.objects.values_list("data_scope", flat=True)))
    for url in _people_urls(org):
        assert en.get(url).status_code == 403, url
        response = en.post(url, {
            "username": "sneaky", "password": "Haixian-2026!", "role": Role.objects.get(name="admin").pk,
            "name": "三组", "parent": org.region.pk, "label": "x", "data_scope": "all",
            "can_manage_settings": "on", "is_active": "on",
        })
        assert response.status_code == 403, url
        assert "Your role may not change settings." in response.text
    after = (User.objects.count(), Team.objects.count(), list(Role.objects.values_list("data_scope", flat=True)))
    assert after == before


def test_settings_index_links_every_section(admin):
    response = admin.get(reverse("settings:index"))
    assert response.status_code == 200
    for name in ["field_index", "choice_index", "tag_list", "user_list", "team_list", "role_list", "token_list"]:
        assert reverse(f"settings:{name}") in response.text, name
    assert 'aria-current="page">Settings' in response.text


# --- users -------------------------------------------------------------------------------------------


def _user_post(org, **over):
    data = {
        "username": "sales3", "display_name": "王五", "email": "wang@example.cn", "password": "Haixian-2026!",
        "role": Role.objects.get(name="sales").pk, "team": org.team_b.pk,
    }
    data.update(over)
    return data


def test_user_list_shows_everyone(admin, org):
    response = admin.get(reverse("settings:user_list"))
    for username in ["admin", "manager", "owner", "teammate", "outsider"]:
        assert f">{username}<" in response.text
    assert 'data-label="Role"' in response.text


def test_admin_creates_a_user(admin, org):
    response = admin.post(reverse("settings:user_create"), _user_post(org))
    assert response.status_code == 302
    user = User.objects.get(username="sales3")
    assert (user.display_name, user.email, user.role_id, user.team_id) == (
        "王五", "wang@example.cn", Role.objects.get(name="sales").pk, org.team_b.pk,
    )
    assert user.check_password("Haixian-2026!")


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"username": "Owner"}, "username", "Taken."),
        ({"password": "123"}, "password", "This password is too short"),
        ({"password": "password123"}, "password", "This password is too common"),
        ({"team": "999999"}, "team", "Select a valid choice"),
        ({"role": "abc"}, "role", "Select a valid choice"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"username": "bad name!"}, "username", "Enter a valid username"),
        ({"username": ""}, "username", "This field is required"),
    ],
)
def test_bad_user_input_is_shown_and_nothing_stored(admin, org, over, field, message):
    before = User.objects.count()
    response = admin.post(reverse("settings:user_create"), _user_post(org, **over))
    assert response.status_code == 200
    assert message in response.text
    assert response.context["form"].errors[field]
    assert User.objects.count() == before


def test_admin_edits_a_user(admin, org):
    response = admin.post(reverse("settings:user_edit", args=[org.owner.pk]), {
        "display_name": "张三", "email": "", "role": Role.objects.get(name="manager").pk,
        "team": org.region.pk, "password": "Brand-new-2026",
    })
    assert response.status_code == 302
    owner = User.objects.get(pk=org.owner.pk)
    assert (owner.display_name, owner.role_id, owner.team_id, owner.is_active) == (
        "张三", Role.objects.get(name="manager").pk, org.region.pk, False,  # the box was not ticked
    )
    assert owner.check_password("Brand-new-2026")


def test_user_edit_keeps_the_password_when_left_empty(admin, org):
    admin.post(reverse("settings:user_edit", args=[org.owner.pk]), {
        "display_name": "", "role": Role.objects.get(name="sales").pk, "is_active": "on", "password": "",
    })
    assert User.objects.get(pk=org.owner.pk).check_password(PASSWORD)


def test_user_edit_refuses_self_deactivation(admin, org):
    response = admin.post(reverse("settings:user_edit", args=[org.admin.pk]), {
        "role": Role.objects.get(name="admin").pk, "team": org.company.pk, "display_name": "changed",
    })
    assert response.status_code == 200
    assert "You cannot deactivate yourself." in response.text
    admin_user = User.objects.get(pk=org.admin.pk)
    assert admin_user.is_active
    assert admin_user.display_name == ""


def test_user_edit_refuses_a_weak_password(admin, org):
    response = admin.post(reverse("settings:user_edit", args=[org.owner.pk]), {
        "role": Role.objects.get(name="sales").pk, "is_active": "on", "password": "abc",
    })
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert User.objects.get(pk=org.owner.pk).check_password(PASSWORD)


def test_user_edit_of_unknown_user_is_404(admin, org):
    assert admin.get(reverse("settings:user_edit", args=[999999])).status_code == 404


# --- teams -------------------------------------------------------------------------------------------


def test_team_tree_is_indented(admin, org):
    response = admin.get(reverse("settings:team_list"))
    text = response.text
    assert '<span class="depth-0">鑫海水产' in text
    assert '<span class="depth-1">└ 华南大区' in text
    assert '<span class="depth-2">└ 一组' in text
    assert text.index("鑫海水产") < text.index("华南大区") < text.index("一组")


def test_admin_creates_a_team_under_a_parent(admin, org):
    response = admin.post(reverse("settings:team_list"), {"name": "三组", "parent": org.region.pk})
    assert response.status_code == 302
    team = Team.objects.get(name="三组")
    assert team.path == f"{org.region.path}{team.pk}/"


@pytest.mark.parametrize(
    ("data", "message"),
    [({"name": "", "parent": ""}, "This field is required"), ({"name": "三组", "parent": "abc"}, "Select a valid")],
)
def test_bad_team_input_is_shown(admin, org, data, message):
    before = Team.objects.count()
    response = admin.post(reverse("settings:team_list"), data)
    assert response.status_code == 200
    assert message in response.text
    assert Team.objects.count() == before


def test_admin_moves_a_team_with_its_subtree(admin, org):
    response = admin.post(
        reverse("settings:team_edit", args=[org.region.pk]), {"name": "华南区", "parent": ""}
    )
    assert response.status_code == 302
    region = Team.objects.get(pk=org.region.pk)
    assert (region.name, region.parent_id, region.path) == ("华南区", None, f"/{region.pk}/")
    assert Team.objects.get(pk=org.team_a.pk).path == f"/{region.pk}/{org.team_a.pk}/"


def test_moving_a_team_under_its_own_subtree_is_refused(admin, org):
    response = admin.post(
        reverse("settings:team_edit", args=[org.region.pk]), {"name": "改名", "parent": org.team_a.pk}
    )
    assert response.status_code == 200
    assert "A team cannot sit under itself or one of its sub-teams." in response.text
    assert response.context["form"].errors["parent"]
    region = Team.objects.get(pk=org.region.pk)
    assert (region.name, region.parent_id) == ("华南大区", org.company.pk)


# --- roles -------------------------------------------------------------------------------------------


def test_role_list_shows_scopes(admin, org):
    response = admin.get(reverse("settings:role_list"))
    assert "Own records" in response.text
    assert "Team and sub-teams" in response.text


def test_admin_changes_a_roles_scope_and_actions(admin, org):
    sales = Role.objects.get(name="sales")
    response = admin.post(reverse("settings:role_edit", args=[sales.pk]), {
        "label": "销售员", "data_scope": "team", "can_create": "on", "can_export": "on",
    })
    assert response.status_code == 302
    sales.refresh_from_db()
    assert (sales.label, sales.data_scope, sales.can_create, sales.can_edit, sales.can_export) == (
        "销售员", "team", True, False, True,
    )


def test_admin_role_must_keep_manage_settings(admin, org):
    role = Role.objects.get(name="admin")
    response = admin.post(reverse("settings:role_edit", args=[role.pk]), {"label": "管理员", "data_scope": "all"})
    assert response.status_code == 200
    assert "The administrator role must keep the right to manage settings." in response.text
    assert Role.objects.get(name="admin").can_manage_settings is True


def test_bad_scope_is_refused(admin, org):
    sales = Role.objects.get(name="sales")
    response = admin.post(reverse("settings:role_edit", args=[sales.pk]), {"label": "x", "data_scope": "everything"})
    assert response.status_code == 200
    assert response.context["form"].errors["data_scope"]
    assert Role.objects.get(pk=sales.pk).data_scope == "own"


# --- API tokens ---------------------------------------------------------------------------------------


def test_any_user_sees_their_own_token_page(en, org):
    token_create(actor=org.owner, user=org.owner, name="mine")
    token_create(actor=org.teammate, user=org.teammate, name="theirs")
    en.force_login(org.owner)
    response = en.get(reverse("settings:token_list"))
    assert response.status_code == 200
    assert "mine" in response.text
    assert "theirs" not in response.text


def test_creating_a_token_shows_the_secret_once(en, org):
    en.force_login(org.owner)
    response = en.post(reverse("settings:token_list"), {"name": "ERP sync"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.text
    assert "It will not be shown again." in response.text
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=org.owner)
    assert token.name == "ERP sync"
    assert secret not in token.key_hash
    assert token_authenticate(secret) == org.owner
    assert secret not in en.get(reverse("settings:token_list")).text


def test_revoking_own_token(en, org):
    token, secret = token_create(actor=org.owner, user=org.owner)
    en.force_login(org.owner)
    response = en.post(reverse("settings:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert token_authenticate(secret) is None


def test_sales_cannot_revoke_someone_elses_token(en, org):
    token, secret = token_create(actor=org.owner, user=org.owner)
    en.force_login(org.outsider)
    assert en.post(reverse("settings:token_revoke", args=[token.pk])).status_code == 404
    response = en.post(reverse("settings:token_revoke", args=[token.pk]), {"user": org.owner.pk})
    assert response.status_code == 403
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert token_authenticate(secret) == org.owner


def test_sales_cannot_list_or_create_someone_elses_tokens(en, org):
    token_create(actor=org.owner, user=org.owner, name="owner-secret-name")
    en.force_login(org.outsider)
    response = en.get(reverse("settings:token_list") + f"?user={org.owner.pk}")
    assert response.status_code == 403
    assert "owner-secret-name" not in response.text
    response = en.post(reverse("settings:token_list"), {"name": "x", "user": org.owner.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["user"]
    assert ApiToken.objects.filter(user=org.owner).count() == 1
    assert not ApiToken.objects.filter(user=org.outsider).exists()


def test_revoke_only_by_post(en, org):
    token, _ = token_create(actor=org.owner, user=org.owner)
    en.force_login(org.owner)
    assert en.get(reverse("settings:token_revoke", args=[token.pk])).status_code == 405
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_admin_creates_and_revokes_a_token_for_another_user(admin, org):
    response = admin.post(reverse("settings:token_list"), {"name": "for owner", "user": org.owner.pk})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert token_authenticate(secret) == org.owner
    token = ApiToken.objects.get(user=org.owner)
    listing = admin.get(reverse("settings:token_list") + f"?user={org.owner.pk}")
    assert token.prefix in listing.text
    response = admin.post(reverse("settings:token_revoke", args=[token.pk]), {"user": org.owner.pk})
    assert response.status_code == 302
    assert token_authenticate(secret) is None


@pytest.mark.parametrize("raw", ["abc", "999999"])
def test_admin_asking_for_an_unknown_user_gets_404(admin, org, raw):
    assert admin.get(reverse("settings:token_list") + f"?user={raw}").status_code == 404


def test_editing_a_roleless_user_keeps_them_roleless(admin, org):
    User.objects.filter(pk=org.owner.pk).update(role=None)
    page = admin.get(reverse("settings:user_edit", args=[org.owner.pk]))
    assert '<option value="" selected>(no role)</option>' in page.text
    admin.post(reverse("settings:user_edit", args=[org.owner.pk]), {"role": "", "is_active": "on", "display_name": "x"})
    owner = User.objects.get(pk=org.owner.pk)
    assert (owner.role_id, owner.display_name) == (None, "x")
