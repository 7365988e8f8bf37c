"""Search behaviour: every kind of query finds the right customer and not the others."""

from __future__ import annotations

import pytest

from pearl.core.testing.personas import Org
from pearl.customers import search as search_module
from pearl.customers.models import Customer, CustomerSearchToken
from pearl.customers.search import (
    capped_count,
    customer_document,
    document,
    name_terms,
    query_token_sets,
    search_filter,
    split_pinyin,
)
from pearl.customers.selectors import customer_list
from pearl.customers.services import contact_update, customer_update
from pearl.customers.tests.factories import make_customer


@pytest.fixture
def shops(org: Org) -> dict[str, Customer]:
    """Three customers whose names share characters, so a search must tell them apart."""
    return {
        "xinhai": make_customer(
            org.owner, name="广州鑫海海鲜酒楼有限公司", short_name="鑫海酒楼",
            contacts=[{"name": "张伟", "mobile": "13800138000"}, {"name": "李秀英", "mobile": "020-87654321"}],
        ),
        "jinwan": make_customer(
            org.owner, name="佛山金湾水产批发部", short_name="金湾水产",
            contacts=[{"name": "陈志强", "mobile": "13912345678"}],
        ),
        "zhangji": make_customer(
            org.outsider, name="番禺张记鲜海干货店", short_name="张记干货",
            contacts=[{"name": "王芳", "mobile": "13700001111"}],
        ),
    }


def found(org: Org, q: str) -> set[str]:
    return {c.short_name for c in Customer.objects.filter(search_filter(q))}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("鑫海", {"鑫海酒楼"}),  # two characters of the short and the full name
        ("海鲜", {"鑫海酒楼"}),  # 鲜海 in 张记 is the other order
        ("鲜海", {"张记干货"}),
        ("海鲜酒楼", {"鑫海酒楼"}),  # longer parts of the legal name
        ("金湾水产批发", {"金湾水产"}),
        ("水产", {"金湾水产"}),
        ("有限公司", {"鑫海酒楼"}),
        ("广州 鑫海", {"鑫海酒楼"}),  # spaces and punctuation are ignored
        ("（金湾）", {"金湾水产"}),
    ],
)
def test_any_part_of_a_name_of_two_or_more_characters(org: Org, shops: dict[str, Customer], q: str,
                                                      expected: set[str]) -> None:
    assert found(org, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("hxjl", {"鑫海酒楼"}),  # 海鲜酒楼 inside the legal name
        ("xhjl", {"鑫海酒楼"}),  # the short name
        ("HXJL", {"鑫海酒楼"}),
        ("jw", {"金湾水产"}),
        ("jwsc", {"金湾水产"}),
        ("zjgh", {"张记干货"}),
        ("zw", {"鑫海酒楼"}),  # a contact's initials: 张伟
        ("hxjlyxgs", {"鑫海酒楼"}),
        ("jwjl", set()),
    ],
)
def test_pinyin_initials(org: Org, shops: dict[str, Customer], q: str, expected: set[str]) -> None:
    assert found(org, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("xinhai", {"鑫海酒楼"}),
        ("haixianjiulou", {"鑫海酒楼"}),
        ("haixianjiu", {"鑫海酒楼"}),
        ("haixianj", {"鑫海酒楼"}),  # an unfinished last syllable
        ("jinwan", {"金湾水产"}),
        ("ganhuo", {"张记干货"}),
        ("chenzhiqiang", {"金湾水产"}),  # a contact's full pinyin
        ("jiulou", {"鑫海酒楼"}),
        ("shuichan", {"金湾水产"}),
        ("zhang", {"鑫海酒楼", "张记干货"}),  # one syllable: 张伟 and 张记
        ("xianhai", {"张记干货"}),
        ("jinhai", set()),
    ],
)
def test_full_pinyin(org: Org, shops: dict[str, Customer], q: str, expected: set[str]) -> None:
    assert found(org, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("8000", {"鑫海酒楼"}),
        ("5678", {"金湾水产"}),
        ("4321", {"鑫海酒楼"}),  # a landline's last four digits
        ("13800138000", {"鑫海酒楼"}),
        ("138 0013 8000", {"鑫海酒楼"}),
        ("+86 139-1234-5678", {"金湾水产"}),
        ("02087654321", {"鑫海酒楼"}),
        ("13800138001", set()),
        ("1111", {"张记干货"}),
        ("0000", set()),
    ],
)
def test_phone_numbers_and_their_last_four_digits(org: Org, shops: dict[str, Customer], q: str,
                                                  expected: set[str]) -> None:
    assert found(org, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [("张伟", {"鑫海酒楼"}), ("秀英", {"鑫海酒楼"}), ("李秀英", {"鑫海酒楼"}), ("王芳", {"张记干货"}),
     ("陈志强", {"金湾水产"}), ("王伟", set())],
)
def test_a_contacts_name(org: Org, shops: dict[str, Customer], q: str, expected: set[str]) -> None:
    assert found(org, q) == expected


def test_one_character_matches_name_prefixes_only(org: Org, shops: dict[str, Customer]) -> None:
    assert found(org, "佛") == {"金湾水产"}
    assert found(org, "海") == set()  # not at the start of any name
    assert found(org, "") == {"鑫海酒楼", "金湾水产", "张记干货"}


def test_search_respects_the_data_scope(org: Org, shops: dict[str, Customer]) -> None:
    assert [c.short_name for c in customer_list(actor=org.owner, filters={"q": "海"})] == []
    assert {c.short_name for c in customer_list(actor=org.owner, filters={"q": "xh"})} == {"鑫海酒楼"}
    assert list(customer_list(actor=org.outsider, filters={"q": "鑫海"})) == []
    assert [c.short_name for c in customer_list(actor=org.outsider, filters={"q": "gh"})] == ["张记干货"]
    assert list(customer_list(actor=org.manager, filters={"q": "8000"})) == [shops["xinhai"]]


def test_renamed_customer_and_changed_phone_are_found_by_the_new_values_only(
    org: Org, shops: dict[str, Customer]
) -> None:
    customer = shops["jinwan"]
    customer_update(actor=org.owner, customer_id=customer.pk, data={"name": "佛山蓝湾水产批发部",
                                                                   "short_name": "蓝湾水产"})
    assert found(org, "蓝湾") == {"蓝湾水产"}
    assert found(org, "金湾") == set()
    assert found(org, "lwsc") == {"蓝湾水产"}
    contact = customer.contacts.get()
    contact_update(actor=org.owner, contact_id=contact.pk, data={"mobile": "13911112222"})
    assert found(org, "2222") == {"蓝湾水产"}
    assert found(org, "5678") == set()


def test_stored_index_matches_the_document(org: Org, shops: dict[str, Customer]) -> None:
    customer = Customer.objects.get(pk=shops["xinhai"].pk)
    tokens, blob, pinyin = customer_document(customer)
    assert set(CustomerSearchToken.objects.filter(customer=customer).values_list("token", flat=True)) == tokens
    assert customer.search_blob == blob
    assert customer.name_pinyin == pinyin == "guangzhouxinhaihaixianjiulouyouxiangongsi"
    assert {"n鑫海", "khxj", "kgs_", "jhaixian", "jsi_", "t8000", "m13800138000"} <= tokens
    # Single syllables and two-letter initials are key ranges over these, not tokens of their own.
    assert not {t for t in tokens if t[0] in "pi"}


def test_document_takes_a_faster_name_reader() -> None:
    calls: list[str] = []

    def reader(text: str) -> list[str]:
        calls.append(text)
        return ["hai", "xian"]

    tokens, blob, pinyin = document(["海鲜"], [], terms=lambda raw: name_terms(raw, reader))
    assert calls == ["海鲜"]
    assert pinyin == "haixian"
    assert blob == "|海鲜|haixian|hx|"
    assert tokens == {"n海鲜", "jhaixian", "jxian_", "khx_"}


def test_query_token_sets() -> None:
    assert query_token_sets("1234") == [["t1234"]]
    assert query_token_sets("138-0013-8000") == [["m13800138000"]]
    assert query_token_sets("海鲜酒楼") == [["n海鲜", "n酒楼", "n鲜酒"]]
    assert query_token_sets("hx") == [["nhx"], ["khx*"]]
    assert query_token_sets("hxjl") == [["nhx", "njl", "nxj"], ["khxj", "kxjl"]]
    assert query_token_sets("haixian") == [
        ["nai", "nan", "nha", "nia", "nix", "nxi"], ["kaix", "khai", "kian", "kixi", "kxia"], ["jhaixian"]
    ]
    assert query_token_sets("zhang")[-1] == ["jzhang*"]
    assert query_token_sets("海") == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("hx", {"鑫海酒楼"}),  # two initials in the middle of a name (张记鲜海 is xh)
        ("gs", {"鑫海酒楼"}),  # …and at its very end (the padded window kgs_)
        ("xian", {"鑫海酒楼", "张记干货"}),  # one syllable in the middle (海鲜, 鲜海)
        ("dian", {"张记干货"}),  # one syllable at the end (the pair jdian_)
    ],
)
def test_key_range_readings(org: Org, shops: dict[str, Customer], q: str, expected: set[str]) -> None:
    assert {c.short_name for c in customer_list(actor=org.admin, filters={"q": q})} == expected
    assert found(org, q) == expected


def test_split_pinyin() -> None:
    assert split_pinyin("haixian") == ["hai", "xian"]
    assert split_pinyin("haixianj") == ["hai", "xian"]
    assert split_pinyin("xian") == ["xian"]
    assert split_pinyin("hxjl") is None


def test_capped_count(org: Org, shops: dict[str, Customer]) -> None:
    qs = Customer.objects.all()
    assert capped_count(qs, cap=2) == (2, True)
    assert capped_count(qs, cap=3) == (3, False)
    assert capped_count(qs.filter(search_filter("鑫海"))) == (1, False)


@pytest.mark.parametrize("q", ["海鲜", "海鲜酒楼", "hxjl", "xinhai", "zhang", "8000", "张伟", "jw"])
def test_common_word_plan_finds_and_counts_the_same(org: Org, shops: dict[str, Customer],
                                                     monkeypatch: pytest.MonkeyPatch, q: str) -> None:
    """Tokens above FREQUENCY_CAP walk the customers and count along the postings: same answers."""
    rare = {actor.username: (list(customer_list(actor=actor, filters={"q": q})),
                             capped_count(customer_list(actor=actor, filters={"q": q})))
            for actor in (org.admin, org.owner, org.outsider)}
    monkeypatch.setattr("pearl.customers.search.FREQUENCY_CAP", 1)
    search_module._common.clear()
    for actor in (org.admin, org.owner, org.outsider):
        qs = customer_list(actor=actor, filters={"q": q})
        assert "EXISTS" in str(qs.query)
        assert (list(qs), capped_count(qs)) == rare[actor.username]
    assert rare["admin"][0]  # every query above finds something for the admin


def test_two_common_tokens_rare_together_collect_their_shared_customers(
    org: Org, shops: dict[str, Customer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """海鲜, 鲜酒 and 酒楼 are each "common" here, but only 鑫海酒楼 has two of them: the customers
    carrying both are collected (no walk of the list), with the same answer as the other plans."""
    make_customer(org.owner, name="东海鲜酒坊")
    make_customer(org.outsider, name="南城酒楼")
    expected = {actor.username: (list(customer_list(actor=actor, filters={"q": "海鲜酒楼"})),
                                 capped_count(customer_list(actor=actor, filters={"q": "海鲜酒楼"})))
                for actor in (org.admin, org.owner, org.outsider)}
    assert [c.short_name for c in expected["admin"][0]] == ["鑫海酒楼"]
    monkeypatch.setattr("pearl.customers.search.FREQUENCY_CAP", 2)
    monkeypatch.setattr("pearl.customers.search.PAIR_BELOW", 2)
    monkeypatch.setattr("pearl.customers.search._span", (1_000, float("inf")))  # as if among 1,000 customers
    search_module._common.clear()
    for actor in (org.admin, org.owner, org.outsider):
        qs = customer_list(actor=actor, filters={"q": "海鲜酒楼"})
        sql = str(qs.query)
        assert "EXISTS" in sql and sql.count(CustomerSearchToken._meta.db_table) >= 2  # the pair
        assert (list(qs), capped_count(qs)) == expected[actor.username]


def test_counting_a_common_word_stops_at_the_cap(org: Org, shops: dict[str, Customer],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    make_customer(org.owner, name="广州鑫海冻品批发部", short_name="鑫海冻品")
    monkeypatch.setattr("pearl.customers.search.FREQUENCY_CAP", 1)
    qs = customer_list(actor=org.admin, filters={"q": "鑫海"})
    assert capped_count(qs, cap=1) == (1, True)
    assert capped_count(qs, cap=2) == (2, False)
    assert capped_count(customer_list(actor=org.outsider, filters={"q": "鑫海"})) == (0, False)


@pytest.mark.parametrize("common", [False, True])
def test_search_works_inside_a_subquery(org: Org, shops: dict[str, Customer], monkeypatch: pytest.MonkeyPatch,
                                        common: bool) -> None:
    """Another query may use the search as a sub-select (its tables are then renamed)."""
    from pearl.customers.models import Contact

    if common:
        monkeypatch.setattr("pearl.customers.search.FREQUENCY_CAP", 1)
    inner = Customer.objects.filter(search_filter("鑫海"))
    names = set(Contact.objects.filter(customer__in=inner).values_list("name", flat=True))
    assert names == {"张伟", "李秀英"}


@pytest.mark.django_db
def test_sqlite_token_table_is_without_rowid() -> None:
    """Migration 0005 makes it so; a later table remake by Django would silently undo it."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("a SQLite storage detail")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [CustomerSearchToken._meta.db_table])
        (sql,) = cursor.fetchone()
    assert "WITHOUT ROWID" in sql.upper()
