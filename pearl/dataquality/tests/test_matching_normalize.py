"""The Chinese-aware normalisation the matcher compares on: one test per rule."""

from __future__ import annotations

import cpca
import pytest

from pearl.dataquality.matching.normalize import (
    clean,
    parse_address,
    parse_company_name,
    person_name,
    phone,
    pinyin,
    surname,
)


@pytest.mark.parametrize(
    "name",
    [
        "鑫海水产有限公司",
        "鑫海水产有限责任公司",
        "鑫海水产股份有限公司",
        "鑫海水产股份",
        "鑫海水产集团",
        "鑫海水产集团广州分公司",
    ],
)
def test_legal_forms_are_removed(name: str) -> None:
    parsed = parse_company_name(name)
    assert parsed.core == "鑫海"
    assert parsed.full == "鑫海水产"


def test_legal_form_spellings_give_one_registered_name() -> None:
    assert parse_company_name("鑫海水产有限责任公司").legal_name == parse_company_name("鑫海水产有限公司").legal_name
    assert parse_company_name("鑫海水产").legal_name == ""  # no legal form: not a registered name


@pytest.mark.parametrize(
    "name", ["广州市鑫海水产", "广州鑫海水产", "鑫海水产（广州）有限公司", "广东省广州市鑫海水产", "鑫海水产(广州)"]
)
def test_region_prefixes_are_taken_off_and_kept_as_region(name: str) -> None:
    parsed = parse_company_name(name)
    assert parsed.core == "鑫海"
    assert (parsed.region.province, parsed.region.city) == ("广东省", "广州市")


def test_district_prefix_and_province_alone() -> None:
    assert parse_company_name("天河区鑫海水产").region.city == "广州市"
    assert parse_company_name("广东鑫海水产").region == ("广东省", "", "")


def test_trade_words_are_taken_off_the_core() -> None:
    long, short = parse_company_name("广州鑫海海鲜酒楼有限公司"), parse_company_name("鑫海酒楼")
    assert long.core == short.core == "鑫海"
    assert "food" in long.trades and "food" in short.trades
    assert parse_company_name("鑫海超市").trades == ("retail",)


def test_core_keeps_two_characters_at_least() -> None:
    assert parse_company_name("海鲜酒楼").core == "海鲜"


def test_traditional_characters_become_simplified() -> None:
    assert parse_company_name("廣州鑫海海鮮酒樓") == parse_company_name("广州鑫海海鲜酒楼")
    assert person_name("董小紅") == "董小红"


def test_full_width_forms_fold() -> None:
    assert clean("ＡＢＣ电子 （广州）") == "abc电子(广州)"
    assert parse_company_name("ＡＢＣ电子科技有限公司").core == "abc"


@pytest.mark.parametrize(
    ("name", "branch"),
    [("永辉超市（五一店）", "五一"), ("永辉超市(五一分店)", "五一"), ("永辉超市五一店", "五一"),
     ("钱大妈生鲜店（西门店）", "西门"), ("钱大妈生鲜店五一店", "五一"), ("美宜佳便利店", ""), ("鑫海水产店", "")],
)  # fmt: skip
def test_branch_qualifiers(name: str, branch: str) -> None:
    assert parse_company_name(name).branch == branch


def test_homophones_share_pinyin() -> None:
    assert pinyin("鑫海") == pinyin("新海") == "xinhai"
    assert pinyin("鑫海") != pinyin("鑫梅")


def test_person_names_and_surnames() -> None:
    assert surname("张伟") == "张"
    assert surname("欧阳娜娜") == "欧阳"
    assert pinyin(person_name(" 张 伟 ")) == "zhangwei"


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "+86 138-0013-8000", "138 0013 8000", "1.38001380000E10", "13800138000.0", "１３８００１３８０００",
     "86-13800138000", "（+86）13800138000"],
)  # fmt: skip
def test_mobiles_in_any_format(raw: str) -> None:
    assert phone(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["", "abc", "12345", "1380013800"])
def test_bad_phones_count_as_missing(raw: str) -> None:
    assert phone(raw) == ""


def test_landline_goes_through_the_stored_rule() -> None:
    assert phone("020-87654321") == "02087654321"


def test_address_parsed_into_region_road_and_number() -> None:
    address = parse_address("广东省广州市海珠区江南大道中100号")
    assert address.region == ("广东省", "广州市", "海珠区")
    assert (address.road, address.number) == ("江南大道", "100")
    assert parse_address("南城街道鸿福路88号").road == "鸿福路"
    assert parse_address("莞城区友谊路325号国际广场").road == "友谊路"  # a district the table lacks


def test_a_region_name_that_starts_a_road_is_the_road() -> None:
    assert parse_address("广州大道958号").road == "广州大道"
    assert parse_address("中山路5号").region == ("", "", "")
    assert parse_address("青秀区北京路132号").road == "北京路"


def test_district_shared_by_several_cities_is_kept_once_the_city_is_known() -> None:
    assert parse_address("深圳市南山区科技园").region == ("广东省", "深圳市", "南山区")


@pytest.mark.parametrize(
    "text",
    ["广东省广州市天河区天河路385号", "深圳市福田区华强北路1号", "浙江省杭州市西湖区文三路90号",
     "北京市朝阳区建国路5号", "福建省厦门市思明区中山路8号", "湖南省长沙市岳麓区麓山南路2号",
     "佛山市顺德区大良街道1号"],
)  # fmt: skip
def test_region_parse_agrees_with_cpca(text: str) -> None:
    row = cpca.transform([text]).iloc[0]
    region = parse_address(text).region
    assert region.province == row["省"]
    assert region.district == row["区"]
    assert region.city == (row["市"] if row["市"] != "市辖区" else row["省"])
