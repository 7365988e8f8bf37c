"""Automatic column mapping: aliases, tolerant matching, custom fields, duplicates, presets, validation."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.utils import translation

from pearl.dataquality.mapping import (
    _ALIASES,
    _CONTAINS,
    FIELD_LABELS,
    MappingInvalid,
    apply_preset,
    auto_map,
    field_choices,
    mapping_to_preset,
    match_header,
    normalize_header,
    validate_mapping,
)

CUSTOM = [("card_no", "会员卡号"), ("birthday", "生日")]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are checked in their English source; the zh-hans catalogue may translate them."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("客户名称", "name"),
        ("公司名称", "name"),
        ("单位名称", "name"),
        ("客户全称", "name"),
        ("企业名称", "name"),
        ("Customer", "name"),
        ("Company", "name"),
        ("Name", "name"),
        ("简称", "short_name"),
        ("客户性质", "kind"),
        ("类别", "kind"),
        ("客户类型", "customer_type"),
        ("类型", "customer_type"),
        ("行业", "industry"),
        ("来源", "source"),
        ("客户来源", "source"),
        ("渠道", "source"),
        ("等级", "grade"),
        ("级别", "grade"),
        ("客户等级", "grade"),
        ("状态", "status"),
        ("省", "province"),
        ("省份", "province"),
        ("市", "city"),
        ("城市", "city"),
        ("区", "district"),
        ("区县", "district"),
        ("县区", "district"),
        ("地址", "address"),
        ("详细地址", "address"),
        ("收货地址", "address"),
        ("联系地址", "address"),
        ("负责人", "owner"),
        ("业务员", "owner"),
        ("销售", "owner"),
        ("跟进人", "owner"),
        ("标签", "tags"),
        ("备注", "note"),
        ("说明", "note"),
        ("联系人", "contact_name"),
        ("联系人姓名", "contact_name"),
        ("姓名", "contact_name"),
        ("手机", "mobile"),
        ("手机号", "mobile"),
        ("电话", "mobile"),
        ("联系电话", "mobile"),
        ("联系方式", "mobile"),
        ("Mobile", "mobile"),
        ("Phone", "mobile"),
        ("Tel", "mobile"),
        ("邮箱", "email"),
        ("电子邮件", "email"),
        ("Email", "email"),
        ("微信", "wechat"),
        ("微信号", "wechat"),
        ("WeChat", "wechat"),
        ("职位", "position"),
        ("职务", "position"),
        ("编号", "external_id"),
        ("客户编号", "external_id"),
        ("ID", "external_id"),
        ("外部编号", "external_id"),
    ],
)
def test_aliases(header: str, field: str) -> None:
    assert match_header(header) == field


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("客户名称（必填）", "name"),
        ("客户名称(必填)*", "name"),
        ("*手机", "mobile"),
        ("手机 *", "mobile"),
        (" 联系 电话 ", "mobile"),
        ("ＥＭＡＩＬ", "email"),
        ("E-mail", "email"),
        ("e_mail", "email"),
        ("手机号码(11位)", "mobile"),
        ("【客户名称】", "name"),
        ("Contact Name", "contact_name"),
        ("ContactPhone", "mobile"),
        ("客户手机", "mobile"),
        ("联系人电话", "mobile"),
        ("客户标签", "tags"),
        ("公司详细地址", "address"),
        ("所在省份", "province"),
        ("客户所属行业", "industry"),
        ("Company Name", "name"),
    ],
)
def test_tolerant_matching(header: str, field: str) -> None:
    assert match_header(header) == field


@pytest.mark.parametrize("header", ["序号", "金额", "Hotel", "paid", "", "   ", "合同期限"])
def test_unmapped(header: str) -> None:
    assert match_header(header) is None


def test_normalize_header() -> None:
    assert normalize_header("＊ 客户 名称（必填）") == "客户名称"
    assert normalize_header("E-Mail") == "email"


def test_custom_fields_by_label_or_key_and_built_in_names_first() -> None:
    assert match_header("会员卡号", CUSTOM) == "custom:card_no"
    assert match_header("card_no", CUSTOM) == "custom:card_no"
    assert match_header("生日（选填）", CUSTOM) == "custom:birthday"
    assert match_header("会员卡号") is None
    # A custom field cannot take a built-in field's exact name away.
    assert match_header("手机", [("phone2", "手机")]) == "mobile"


def test_auto_map_reports_unmapped_and_duplicates() -> None:
    headers = ["序号", "客户名称", "手机", "联系电话", "地址", "会员卡号", ""]
    result = auto_map(headers, custom_fields=CUSTOM)
    assert result.mapping == {1: "name", 2: "mobile", 4: "address", 5: "custom:card_no"}
    assert result.unmapped == [(0, "序号"), (3, "联系电话")]
    (duplicate,) = result.duplicates
    assert (duplicate.column, duplicate.header, duplicate.field, duplicate.kept_column) == (3, "联系电话", "mobile", 2)
    assert "联系电话" in duplicate.message and "3" in duplicate.message


def test_presets_apply_by_header_text_in_any_column_order() -> None:
    headers = ["付款方", "经办人", "经办人手机", "金额"]
    result = auto_map(headers)
    assert result.mapping == {2: "mobile"}  # 付款方 and 经办人 are not known words
    preset = {"付款方": "name", "经办人": "contact_name", "经办人手机": "mobile", "金额": ""}
    assert json.loads(json.dumps(preset)) == preset
    reordered = ["金额", "经办人手机", "付款方", "经办人", "备注"]
    with_preset = auto_map(reordered, preset=preset)
    assert with_preset.mapping == {1: "mobile", 2: "name", 3: "contact_name", 4: "note"}
    assert (0, "金额") in with_preset.unmapped  # "" in the preset: deliberately not imported
    only_preset = apply_preset(reordered, preset)
    assert only_preset.mapping == {1: "mobile", 2: "name", 3: "contact_name"}
    assert mapping_to_preset(reordered, with_preset.mapping) == {
        "经办人手机": "mobile",
        "付款方": "name",
        "经办人": "contact_name",
        "备注": "note",
    }
    assert with_preset.to_preset(reordered) == mapping_to_preset(reordered, with_preset.mapping)


def test_preset_headers_match_tolerantly() -> None:
    assert apply_preset(["付款方（必填）"], {"付款方": "name"}).mapping == {0: "name"}


def test_validate_mapping_accepts_a_name_or_a_contact_with_a_mobile() -> None:
    validate_mapping({0: "name"})
    validate_mapping({0: "contact_name", 1: "mobile"})
    validate_mapping({0: "name", 1: "custom:card_no"}, custom_fields=CUSTOM, column_count=2)


def test_validate_mapping_without_a_name() -> None:
    with pytest.raises(MappingInvalid) as caught:
        validate_mapping({0: "mobile", 1: "address"})
    message = str(caught.value.message)
    assert message.startswith("No column is mapped to the customer name")
    assert "Customer name" in message and "Contact name" in message
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("mapping", "fragment"),
    [
        ({0: "name", 1: "fax"}, "Unknown target field(s): fax"),
        ({0: "name", 1: "custom:nope"}, "custom:nope"),
        ({0: "name", 3: "mobile"}, "Column(s) 4 are not in the sheet"),
        ({0: "name", 1: "mobile", 2: "mobile"}, "Columns 2 and 3 are both mapped to Mobile / phone"),
    ],
)
def test_validate_mapping_errors(mapping: dict[int, str], fragment: str) -> None:
    with pytest.raises(MappingInvalid) as caught:
        validate_mapping(mapping, custom_fields=CUSTOM, column_count=3)
    assert any(fragment in str(problem) for problem in caught.value.field_errors["mapping"])


def test_labels_cover_every_field_the_rules_can_return() -> None:
    assert set(_ALIASES) == set(FIELD_LABELS)
    assert {key for key, _fragments in _CONTAINS} <= set(FIELD_LABELS)
    choices = dict(field_choices(CUSTOM))
    assert choices["name"] == "Customer name" and choices["custom:card_no"] == "会员卡号"
    assert len(choices) == len(FIELD_LABELS) + len(CUSTOM)
