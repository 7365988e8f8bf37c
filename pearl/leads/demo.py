"""The demo company's leads: two assignment rules and ~5 % of the customer count as leads of the last 60 days.

The rules are made through ``assignment_rule_create`` and every lead goes through ``leads_create_many``, so
each owner and ``assignment_reason`` is what the rules really decided (华南 provinces in turn between the two
salespeople, the rest to whoever had the fewest open leads). What happened to the leads afterwards (their
arrival time, a first follow-up, conversion, disqualification) is then written in bulk in this app's own
tables: one executemany UPDATE and one insert of follow-ups, so a million-customer demo (50,000 leads) costs
a few seconds. Those later steps carry no change-log rows of their own (the services would write one per
step). Converted leads are drawn from existing customers (name, company, mobile) and point at them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from pearl.accounts.models import User
from pearl.core.rows import insert_rows
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption, Contact
from pearl.leads.choices import AssignMethod, FollowUpKind, LeadStatus
from pearl.leads.models import Lead, LeadFollowUp
from pearl.leads.services import assignment_rule_create, leads_create_many

SOUTH = ("广东省", "广西壮族自治区", "海南省")
MIN_LEADS = 50
SHARE = 0.05
DAYS = 60
CHUNK = 10_000
# (source label, weight): the default source channels (customers' data migration).
SOURCES = [("线上询盘", 30), ("展会", 20), ("微信", 22), ("电话开发", 14), ("老客户介绍", 8), ("地推", 6)]
# (status, weight) of the leads that are not fresh.
OUTCOMES = [(LeadStatus.CONVERTED, 15), (LeadStatus.DISQUALIFIED, 12), (LeadStatus.CONTACTED, 33), (LeadStatus.NEW, 40)]
DISQUALIFY_REASONS = [
    "空号，联系不上",
    "同行询价，不是真实需求",
    "需求太小，不在批发范围",
    "重复线索，已是老客户",
    "不在配送范围",
    "只要一次性样品",
]
NOTES = [
    "询价基围虾、濑尿虾，每周约 50 斤",
    "想了解冻品报价和账期",
    "酒楼开业，需要长期海鲜供应",
    "展会上留的名片，对龙虾感兴趣",
    "要求送货上门，问起送量",
    "微信咨询贝类价格",
    "",
]
FOLLOW_UPS = [
    (FollowUpKind.CALL, "电话沟通了需求，发了报价单"),
    (FollowUpKind.WECHAT, "加了微信，发了产品图和价格"),
    (FollowUpKind.VISIT, "上门拜访，看了档口"),
    (FollowUpKind.NOTE, "约了下周再联系"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁郑谢宋唐许邓冯韩曹彭萧蔡潘田董袁"
GIVEN = (
    "伟",
    "芳",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "杰",
    "娟",
    "涛",
    "明",
    "建华",
    "志明",
    "丽华",
    "海燕",
    "嘉欣",
    "家豪",
    "锦辉",
    "晓东",
)
BRANDS = "鑫海金湾福祥顺丰盛隆兴旺达利源泰宏昌德华富贵荣鸿嘉润"
ENDINGS = ("海鲜酒楼", "水产批发部", "海鲜店", "食府", "生鲜超市", "冻品行", "餐饮管理有限公司")
# (province, city, weight): where leads come from, mostly 华南 as the customers.
PLACES = [
    ("广东省", "广州市", 40),
    ("广东省", "佛山市", 10),
    ("广东省", "深圳市", 10),
    ("广东省", "东莞市", 6),
    ("广西壮族自治区", "南宁市", 4),
    ("海南省", "海口市", 4),
    ("福建省", "厦门市", 5),
    ("湖南省", "长沙市", 5),
    ("浙江省", "杭州市", 4),
    ("上海市", "上海市", 4),
    ("四川省", "成都市", 4),
    ("湖北省", "武汉市", 4),
]
MOBILE_PREFIXES = (135, 136, 137, 138, 139, 150, 158, 159, 186, 188, 189, 199)


@dataclass
class LeadsResult:
    rules: int = 0
    leads: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def lead_count(customers: int) -> int:
    return max(MIN_LEADS, round(customers * SHARE))


def _db(value: dt.datetime | None) -> Any:
    """A datetime as the database driver takes it (what the DateTimeFields' get_db_prep_save gives)."""
    return connection.ops.adapt_datetimefield_value(value)


def _column(model: Any, attname: str) -> str:
    return str(next(f.column for f in model._meta.concrete_fields if f.attname == attname))


def _rules(admin: User, sales: list[User]) -> int:
    members = [u.pk for u in sales]
    assignment_rule_create(
        actor=admin,
        data={
            "name": "华南客户轮流分配",
            "conditions": {"provinces": list(SOUTH)},
            "method": AssignMethod.ROUND_ROBIN,
            "members": members,
            "order": 10,
        },
    )
    assignment_rule_create(
        actor=admin,
        data={
            "name": "其他地区给线索最少的人",
            "conditions": {},
            "method": AssignMethod.LEAST_LOADED,
            "members": members,
            "order": 20,
        },
    )
    return 2


def _converted_people(rng: random.Random, count: int) -> list[tuple[int, str, str, str, str, str]]:
    """(customer id, person, company, mobile, province, city) of ``count`` customers' primary contacts."""
    rows = list(
        Contact.objects.filter(is_primary=True)
        .order_by("-customer_id")
        .values_list(
            "customer_id", "name", "customer__name", "mobile", "customer__province", "customer__city", "customer__kind"
        )[: count * 4]
    )  # the newest customers: leads of the last 60 days became them
    picked = rng.sample(rows, min(count, len(rows)))
    return [
        (cid, person, "" if kind == "individual" else company, mobile, province, city)
        for cid, person, company, mobile, province, city, kind in picked
    ]


def build_leads(*, customers: int, seed: int, now: dt.datetime) -> LeadsResult:
    """The rules and the leads (none when there are leads already: running it again adds nothing)."""
    result = LeadsResult()
    if Lead.objects.exists():
        return result
    users = {u.username: u for u in User.objects.filter(username__in=["admin", "sales1", "sales2"])}
    admin, sales = users["admin"], [users["sales1"], users["sales2"]]
    rng = random.Random(f"{seed}/leads")
    sources = dict(ChoiceOption.objects.filter(list_name=ChoiceList.SOURCE).values_list("label", "id"))
    source_ids = [sources[label] for label, _w in SOURCES if label in sources]
    source_weights = [w for label, w in SOURCES if label in sources]
    total = lead_count(customers)
    # What becomes of each lead, oldest first: the last day's arrivals are still fresh (new).
    ages = sorted((rng.uniform(0, DAYS * 86400) for _ in range(total)), reverse=True)
    outcomes = [
        LeadStatus.NEW if age < 86400 else rng.choices(OUTCOMES, weights=[w for _s, w in OUTCOMES])[0][0]
        for age in ages
    ]
    converted = iter(_converted_people(rng, sum(1 for s in outcomes if s == LeadStatus.CONVERTED)))
    rows: list[dict[str, Any]] = []
    plans: list[tuple[float, str, int | None]] = []
    for n, (age, status) in enumerate(zip(ages, outcomes, strict=True)):
        source = rng.choices(source_ids, weights=source_weights)[0] if source_ids else None
        person = next(converted, None) if status == LeadStatus.CONVERTED else None
        if person is not None:
            cid, name, company, mobile, province, city = person
        else:
            if status == LeadStatus.CONVERTED:
                status = LeadStatus.CONTACTED  # fewer customers than converted leads
            cid = None
            province, city, _w = rng.choices(PLACES, weights=[p[2] for p in PLACES])[0]
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            company = ""
            if rng.random() < 0.7:
                company = f"{city.removesuffix('市')}{rng.choice(BRANDS)}{rng.choice(BRANDS)}{rng.choice(ENDINGS)}"
            mobile = f"{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{(n * 3_517_837 + 4_000_000) % 10**8:08d}"
        rows.append(
            {
                "name": name,
                "company": company,
                "mobile": mobile,
                "source": source,
                "province": province,
                "city": city,
                "note": rng.choice(NOTES),
            }
        )
        plans.append((age, status, cid))
    with transaction.atomic():
        result.rules = _rules(admin, sales)
        created: list[Lead] = []
        for start in range(0, total, CHUNK):
            # A history written after the fact: its owners are not told of leads that arrived weeks ago.
            done = leads_create_many(actor=admin, rows=rows[start : start + CHUNK], notify=False)
            if done.errors:
                raise RuntimeError(f"demo leads refused: {next(iter(done.errors.values()))}")
            created.extend(done.created)
        _afterwards(rng, now, created, plans, result)
    result.leads = len(created)
    return result


def _afterwards(
    rng: random.Random,
    now: dt.datetime,
    leads: Sequence[Lead],
    plans: Sequence[tuple[float, str, int | None]],
    result: LeadsResult,
) -> None:
    """Arrival times, follow-ups, conversions and disqualifications, in two bulk writes."""
    updates: list[tuple[Any, ...]] = []
    follow_ups: list[tuple[Any, ...]] = []
    for lead, (age, status, customer_id) in zip(leads, plans, strict=True):
        arrived = now - dt.timedelta(seconds=age)
        followed = None
        if status != LeadStatus.NEW:
            followed = min(arrived + dt.timedelta(minutes=rng.randint(10, 20 * 60)), now)
            kind, summary = rng.choice(FOLLOW_UPS)
            follow_ups.append((lead.pk, lead.owner_id, _db(followed), str(kind), summary, "", ""))
        converted_at = None
        if status == LeadStatus.CONVERTED and followed is not None:
            converted_at = min(followed + dt.timedelta(hours=rng.randint(2, 24 * 10)), now)
        reason = rng.choice(DISQUALIFY_REASONS) if status == LeadStatus.DISQUALIFIED else ""
        last = converted_at or followed or arrived
        updates.append(
            (
                _db(arrived),
                _db(last),
                _db(arrived),
                str(status),
                reason,
                _db(followed),
                customer_id,
                _db(converted_at),
                1 if status == LeadStatus.NEW else 2,
                lead.pk,
            )
        )
        result.by_status[str(status)] = result.by_status.get(str(status), 0) + 1
    quote = connection.ops.quote_name
    columns = (
        "created_at",
        "updated_at",
        "assigned_at",
        "status",
        "disqualify_reason",
        "first_follow_up_at",
        "converted_customer_id",
        "converted_at",
        "version",
    )
    sets = ", ".join(f"{quote(_column(Lead, c))} = %s" for c in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {quote(Lead._meta.db_table)} SET {sets} WHERE id = %s", updates)
    names = ("lead_id", "actor_id", "at", "kind", "summary", "source", "external_id")
    insert_rows(LeadFollowUp._meta.db_table, [_column(LeadFollowUp, n) for n in names], follow_ups)
