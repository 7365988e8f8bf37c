"""Settings pages for customer data: tags, choice lists, custom-field definitions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pearl.customers.models import ChoiceOption, CustomFieldDefinition, Tag
from pearl.customers.services import custom_field_create, tag_create
from pearl.customers.tests.factories import make_customer


@pytest.fixture
def things(org):
    tag = tag_create(actor=org.admin, data={"name": "大客户", "color": "#d03030"})
    option = ChoiceOption.objects.filter(list_name="customer_type").order_by("order").first()
    assert option is not None, "the default choices migration seeds customer types"
    field = custom_field_create(actor=org.admin, data={
        "object_type": "customer", "key": "volume", "label": "年采购量", "field_type": "number",
    })
    return {"tag": tag, "option": option, "field": field}


def _urls(things) -> list[str]:
    tag, option, field = things["tag"], things["option"], things["field"]
    return [
        reverse("settings:tag_list"),
        reverse("settings:tag_edit", args=[tag.pk]),
        reverse("settings:tag_delete", args=[tag.pk]),
        reverse("settings:choice_index"),
        reverse("settings:choice_list", args=["customer_type"]),
        reverse("settings:choice_edit", args=["customer_type", option.pk]),
        reverse("settings:choice_toggle", args=["customer_type", option.pk]),
        reverse("settings:field_index"),
        reverse("settings:field_list", args=["customer"]),
        reverse("settings:field_create", args=["customer"]),
        reverse("settings:field_edit", args=["customer", field.pk]),
        reverse("settings:field_delete", args=["customer", field.pk]),
    ]


def _snapshot() -> tuple:
    return (
        list(Tag.objects.values_list("name", "color")),
        list(ChoiceOption.objects.values_list("label", "order", "is_active")),
        list(CustomFieldDefinition.objects.values_list("key", "label", "order")),
    )


# --- who may open them --------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, org, things):
    for url in _urls(things):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url
        assert client.post(url, {"name": "x"}).status_code == 302, url


@pytest.mark.parametrize("persona", ["owner", "outsider", "manager", "finance"])
def test_users_without_settings_right_get_403_and_change_nothing(en, org, things, persona):
    en.force_login(getattr(org, persona))
    before = _snapshot()
    for url in _urls(things):
        assert en.get(url).status_code in (403, 405), url  # toggle is POST-only; the right is checked first
        response = en.post(url, {
            "name": "x", "color": "#000000", "label": "x", "order": "1", "key": "hack", "field_type": "text",
            "is_active": "",
        })
        assert response.status_code == 403, url
    assert _snapshot() == before


def test_toggle_get_is_403_for_sales_and_405_for_admin(en, org, things):
    url = reverse("settings:choice_toggle", args=["customer_type", things["option"].pk])
    en.force_login(org.owner)
    assert en.get(url).status_code == 403
    en.force_login(org.admin)
    assert en.get(url).status_code == 405


# --- tags --------------------------------------------------------------------------------------------


def test_tag_list_shows_swatches(admin, things):
    response = admin.get(reverse("settings:tag_list"))
    assert response.status_code == 200
    assert 'class="swatch" style="background:#d03030"' in response.text
    assert 'type="color"' in response.text


def test_admin_creates_a_tag(admin, org):
    response = admin.post(reverse("settings:tag_list"), {"name": " 冻品 ", "color": "#12AB34"})
    assert response.status_code == 302
    assert Tag.objects.get(name="冻品").color == "#12ab34"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "冻品", "color": "red"}, "color", "Enter a colour like #2f6fde."),
        ({"name": "", "color": "#123456"}, "name", "The tag name is required."),
        ({"name": "大客户", "color": "#123456"}, "name", "A tag named 大客户 already exists."),
        ({"name": "x" * 40, "color": "#123456"}, "name", "At most 32 characters."),
    ],
)
def test_bad_tag_input_is_shown_and_nothing_stored(admin, things, data, field, message):
    before = _snapshot()
    response = admin.post(reverse("settings:tag_list"), data)
    assert response.status_code == 200
    assert message in response.text
    assert response.context["form"].errors[field]
    assert _snapshot() == before


def test_admin_edits_a_tag(admin, things):
    tag = things["tag"]
    response = admin.post(reverse("settings:tag_edit", args=[tag.pk]), {"name": "重点客户", "color": "#00aa00"})
    assert response.status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("重点客户", "#00aa00")


def test_tag_edit_with_bad_colour_changes_nothing(admin, things):
    tag = things["tag"]
    response = admin.post(reverse("settings:tag_edit", args=[tag.pk]), {"name": "重点客户", "color": "#zzz"})
    assert response.status_code == 200
    assert "Enter a colour like #2f6fde." in response.text
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("大客户", "#d03030")


def test_admin_deletes_a_tag_after_confirming(admin, org, things):
    tag = things["tag"]
    customer = make_customer(org.admin, tags=[tag.pk])
    confirm = admin.get(reverse("settings:tag_delete", args=[tag.pk]))
    assert confirm.status_code == 200
    assert Tag.objects.filter(pk=tag.pk).exists()
    response = admin.post(reverse("settings:tag_delete", args=[tag.pk]))
    assert response.status_code == 302
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert customer.tags.count() == 0


def test_unknown_tag_is_404(admin, things):
    assert admin.get(reverse("settings:tag_edit", args=[999999])).status_code == 404
    assert admin.post(reverse("settings:tag_delete", args=[999999])).status_code == 404


# --- choice lists ---------------------------------------------------------------------------------------


def test_choice_index_opens_the_first_list(admin, things):
    response = admin.get(reverse("settings:choice_index"))
    assert response["Location"] == reverse("settings:choice_list", args=["customer_type"])


@pytest.mark.parametrize("list_name", ["customer_type", "industry", "source", "position"])
def test_each_choice_list_opens(admin, list_name):
    response = admin.get(reverse("settings:choice_list", args=[list_name]))
    assert response.status_code == 200
    labels = ChoiceOption.objects.filter(list_name=list_name).values_list("label", flat=True)
    for label in labels:
        assert label in response.text


def test_unknown_choice_list_is_404(admin, things):
    assert admin.get(reverse("settings:choice_list", args=["colour"])).status_code == 404
    option = things["option"]
    # An option exists only under its own list.
    assert admin.get(reverse("settings:choice_edit", args=["industry", option.pk])).status_code == 404


def test_admin_adds_an_option(admin):
    response = admin.post(reverse("settings:choice_list", args=["position"]), {"label": "采购总监", "order": "7"})
    assert response.status_code == 302
    option = ChoiceOption.objects.get(list_name="position", label="采购总监")
    assert (option.order, option.is_active) == (7, True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"label": "采购总监", "order": "abc"}, "order", "Order is a whole number of 0 or more."),
        ({"label": "采购总监", "order": "-2"}, "order", "Order is a whole number of 0 or more."),
        ({"label": "", "order": "1"}, "label", "The label is required."),
        ({"label": "y" * 70, "order": "1"}, "label", "At most 64 characters."),
    ],
)
def test_bad_option_input_is_shown_and_nothing_stored(admin, data, field, message):
    before = _snapshot()
    response = admin.post(reverse("settings:choice_list", args=["position"]), data)
    assert response.status_code == 200
    assert message in response.text
    assert response.context["form"].errors[field]
    assert _snapshot() == before


def test_duplicate_option_is_refused(admin, things):
    option = things["option"]
    before = _snapshot()
    response = admin.post(
        reverse("settings:choice_list", args=["customer_type"]), {"label": option.label, "order": "1"}
    )
    assert f"{option.label} is already in this list." in response.text
    assert _snapshot() == before


def test_admin_renames_reorders_and_retires_an_option(admin, things):
    option = things["option"]
    response = admin.post(
        reverse("settings:choice_edit", args=["customer_type", option.pk]), {"label": "批发商", "order": "42"}
    )
    assert response.status_code == 302
    option.refresh_from_db()
    assert (option.label, option.order, option.is_active) == ("批发商", 42, False)


def test_option_edit_with_bad_order_changes_nothing(admin, things):
    option = things["option"]
    before = (option.label, option.order, option.is_active)
    response = admin.post(
        reverse("settings:choice_edit", args=["customer_type", option.pk]),
        {"label": "批发商", "order": "1.5", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Order is a whole number of 0 or more." in response.text
    option.refresh_from_db()
    assert (option.label, option.order, option.is_active) == before


def test_toggle_retires_and_brings_back(admin, things):
    option = things["option"]
    url = reverse("settings:choice_toggle", args=["customer_type", option.pk])
    assert admin.post(url).status_code == 302
    option.refresh_from_db()
    assert option.is_active is False
    page = admin.get(reverse("settings:choice_list", args=["customer_type"]))
    assert "Retired" in page.text
    assert "Use again" in page.text
    admin.post(url)
    option.refresh_from_db()
    assert option.is_active is True


# --- custom fields -------------------------------------------------------------------------------------


def test_field_index_opens_customer_fields(admin, things):
    assert admin.get(reverse("settings:field_index"))["Location"] == reverse("settings:field_list", args=["customer"])


def test_field_lists_are_per_object_type(admin, things):
    customer_page = admin.get(reverse("settings:field_list", args=["customer"]))
    contact_page = admin.get(reverse("settings:field_list", args=["contact"]))
    assert "年采购量" in customer_page.text
    assert "年采购量" not in contact_page.text
    assert admin.get(reverse("settings:field_list", args=["order"])).status_code == 404


def test_admin_creates_a_choice_field_with_one_choice_per_line(admin):
    response = admin.post(reverse("settings:field_create", args=["contact"]), {
        "key": "dialect", "label": "方言", "field_type": "multi_choice", "required": "on",
        "help_text": "沟通用语", "order": "3", "choices": "粤语\n潮汕话, 客家话\n\n粤语\n",
    })
    assert response.status_code == 302
    field = CustomFieldDefinition.objects.get(object_type="contact", key="dialect")
    assert field.choices == ["粤语", "潮汕话, 客家话"]  # one per line, blank lines and repeats dropped
    assert (field.field_type, field.required, field.order, field.help_text) == ("multi_choice", True, 3, "沟通用语")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"key": "volume", "field_type": "text"}, "key", "The key volume is already used."),
        ({"key": "Bad Key", "field_type": "text"}, "key", "The key starts with a letter"),
        ({"key": "grade2", "field_type": "choice", "choices": "\n \n"}, "choices", "A choice field needs at least"),
        ({"key": "grade2", "field_type": "text", "order": "x"}, "order", "Order is a whole number of 0 or more."),
        ({"key": "grade2", "field_type": "colour"}, "field_type", "Select a valid choice"),
        ({"key": "grade2", "field_type": "text", "label": ""}, "label", "The label is required."),
    ],
)
def test_bad_field_input_is_shown_and_nothing_stored(admin, things, data, field, message):
    before = _snapshot()
    post = {"label": "等级", "order": "0", **data}
    response = admin.post(reverse("settings:field_create", args=["customer"]), post)
    assert response.status_code == 200
    assert message in response.text
    assert response.context["form"].errors[field]
    assert _snapshot() == before


def test_same_key_on_the_other_object_type_is_fine(admin, things):
    response = admin.post(
        reverse("settings:field_create", args=["contact"]), {"key": "volume", "label": "量", "field_type": "text"}
    )
    assert response.status_code == 302
    assert CustomFieldDefinition.objects.filter(key="volume").count() == 2


def test_edit_keeps_key_type_and_object(admin, things):
    field = things["field"]
    response = admin.post(reverse("settings:field_edit", args=["customer", field.pk]), {
        "label": "年采购量(吨)", "order": "5", "key": "hacked", "field_type": "text", "object_type": "contact",
        "help_text": "按吨计",
    })
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.key, field.field_type, field.object_type) == ("volume", "number", "customer")
    assert (field.label, field.order, field.help_text) == ("年采购量(吨)", 5, "按吨计")


def test_edit_page_shows_fixed_properties(admin, things):
    field = things["field"]
    response = admin.get(reverse("settings:field_edit", args=["customer", field.pk]))
    assert "<code>volume</code>" in response.text
    assert 'name="key"' not in response.text


def test_edit_with_bad_input_changes_nothing(admin, things):
    field = things["field"]
    response = admin.post(reverse("settings:field_edit", args=["customer", field.pk]), {"label": "", "order": "1"})
    assert response.status_code == 200
    assert "The label is required." in response.text
    field.refresh_from_db()
    assert field.label == "年采购量"


def test_field_is_only_reachable_under_its_object_type(admin, things):
    assert admin.get(reverse("settings:field_edit", args=["contact", things["field"].pk])).status_code == 404


def test_admin_deletes_an_unused_field(admin, things):
    field = things["field"]
    assert admin.get(reverse("settings:field_delete", args=["customer", field.pk])).status_code == 200
    response = admin.post(reverse("settings:field_delete", args=["customer", field.pk]))
    assert response.status_code == 302
    assert not CustomFieldDefinition.objects.filter(pk=field.pk).exists()


def test_deleting_a_field_with_values_is_refused_with_the_reason(admin, org, things):
    field = things["field"]
    make_customer(org.admin, custom_fields={"volume": 120})
    response = admin.post(reverse("settings:field_delete", args=["customer", field.pk]))
    assert response.status_code == 409
    assert "Records still hold values for 年采购量" in response.text
    assert CustomFieldDefinition.objects.filter(pk=field.pk).exists()
