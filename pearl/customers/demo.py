"""The demo company: 鑫海水产, a seafood wholesaler in 广州, with believable customers at any scale.

Users, teams, tags and custom fields go through the services. Customers, contacts, identities,
search tokens and change-log rows are written in bulk (COPY on PostgreSQL, executemany on SQLite)
because a million customers through the per-row services would take hours; every row carries
exactly what the services would have written (normalised name, identities, search document,
primary contact, change log). The same seed always gives the same company.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import django
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max, Model
from django.utils import timezone

from pearl.accounts.models import Role, Team, User
from pearl.accounts.services import team_create, user_create
from pearl.core import context
from pearl.core.models import ChangeAction, ChangeLog
from pearl.core.rows import insert_rows
from pearl.core.text import normalize_company_name
from pearl.customers.choices import (
    ChoiceList,
    CustomerKind,
    CustomerStatus,
    CustomFieldObject,
    CustomFieldType,
    IdentityKind,
)
from pearl.customers.models import ChoiceOption, Contact, Customer, CustomerSearchToken, Identity
from pearl.customers.search import cached_name_terms, document
from pearl.customers.services import custom_field_create, tag_create

COMPANY = "鑫海水产"
PASSWORD = "xinhai-demo-2026"
BATCH = 10_000
# Batches committed together: each commit writes every index page the batches touched, and the
# search tokens touch pages all over their key, so fewer, larger commits write far less.
COMMIT_EVERY = 100_000
# Up to this many customers the whole load is one transaction (all or nothing); bigger loads
# commit every COMMIT_EVERY customers so the SQLite WAL and PostgreSQL memory stay bounded.
ATOMIC_LIMIT = 100_000
HISTORY_LIMIT = 100_000
WORKER_THRESHOLD = 50_000
STAGE_TOKENS_ABOVE = WORKER_THRESHOLD  # SQLite: bigger loads insert the search tokens sorted, at the end

# (username, role, team key, display name)
USERS = [
    ("admin", "admin", "company", "系统管理员"),
    ("manager", "manager", "region", "刘建华"),
    ("sales1", "sales", "team1", "陈志强"),
    ("sales2", "sales", "team2", "黄丽娟"),
]

# (province, city, short city, districts, weight): real divisions, mostly 广东.
REGIONS: list[tuple[str, str, str, tuple[str, ...], int]] = [
    ("广东省", "广州市", "广州", ("天河区", "越秀区", "海珠区", "荔湾区", "白云区", "番禺区", "黄埔区",
                              "花都区", "南沙区", "增城区", "从化区"), 46),
    ("广东省", "佛山市", "佛山", ("禅城区", "南海区", "顺德区", "三水区", "高明区"), 10),
    ("广东省", "深圳市", "深圳", ("福田区", "罗湖区", "南山区", "宝安区", "龙岗区", "盐田区", "龙华区"), 8),
    ("广东省", "东莞市", "东莞", ("虎门镇", "长安镇", "厚街镇", "常平镇", "南城街道", "东城街道"), 6),
    ("广东省", "珠海市", "珠海", ("香洲区", "斗门区", "金湾区"), 3),
    ("广东省", "中山市", "中山", ("石岐街道", "东区街道", "小榄镇"), 2),
    ("广东省", "江门市", "江门", ("蓬江区", "江海区", "新会区"), 2),
    ("广东省", "湛江市", "湛江", ("赤坎区", "霞山区", "麻章区"), 2),
    ("广东省", "汕头市", "汕头", ("金平区", "龙湖区", "濠江区"), 2),
    ("广东省", "惠州市", "惠州", ("惠城区", "惠阳区"), 2),
    ("广西壮族自治区", "南宁市", "南宁", ("青秀区", "兴宁区", "江南区"), 2),
    ("广西壮族自治区", "北海市", "北海", ("海城区", "银海区"), 1),
    ("海南省", "海口市", "海口", ("龙华区", "美兰区", "秀英区"), 2),
    ("海南省", "三亚市", "三亚", ("吉阳区", "天涯区"), 1),
    ("福建省", "厦门市", "厦门", ("思明区", "湖里区", "集美区"), 2),
    ("福建省", "福州市", "福州", ("鼓楼区", "台江区", "仓山区"), 1),
    ("湖南省", "长沙市", "长沙", ("岳麓区", "芙蓉区", "天心区", "开福区"), 2),
    ("浙江省", "杭州市", "杭州", ("西湖区", "上城区", "拱墅区"), 1),
    ("浙江省", "宁波市", "宁波", ("鄞州区", "海曙区", "北仑区"), 1),
    ("上海市", "上海市", "上海", ("浦东新区", "徐汇区", "闵行区"), 1),
    ("北京市", "北京市", "北京", ("朝阳区", "海淀区", "丰台区"), 1),
    ("四川省", "成都市", "成都", ("锦江区", "武侯区", "成华区"), 1),
    ("湖北省", "武汉市", "武汉", ("江汉区", "武昌区", "洪山区"), 1),
    ("江西省", "南昌市", "南昌", ("东湖区", "西湖区", "青山湖区"), 1),
    ("云南省", "昆明市", "昆明", ("五华区", "盘龙区", "官渡区"), 1),
]


def _words(text: str) -> list[str]:
    return text.split()


ROADS = _words("人民路 中山路 解放路 建设路 滨江路 环市路 工业大道 沿江路 新华路 东风路 海滨路 港口路 市场路 "
               "金沙路 华南路 南华路 文明路 民生路 和平路 江南大道 黄沙大道 新港西路 迎宾大道 渔港路")
MARKETS = _words("水产批发市场 海鲜市场 农贸市场 冻品市场 水产交易中心")
# Shop names are two of these.
BRAND_CHARS = "鑫海金湾福祥顺丰盛隆兴旺达利源泰宏昌德华富贵荣鸿嘉润鼎恒升发美佳安康宝洋港渔鲜蓝江" \
              "湖粤珠南东新永满聚诚信益众汇通联合星月阳光明天成家和瑞龙凤麒麟锦绣"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁郑谢宋唐许邓冯韩曹彭萧蔡潘田董袁于余叶蒋杜苏魏程" \
           "吕丁沈任姚卢钟姜崔谭陆范汪廖石金韦贾夏方邹熊白孟秦邱侯江尹薛段雷黎史龙陶贺顾毛郝龚邵万覃" \
           "武钱戴严欧莫孔向常汤康易乔赖文"
GIVEN = _words("伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 华 平 刚 桂英 建华 志强 国强 丽娟 海燕 "
         "小红 晓明 文杰 俊杰 嘉欣 子轩 浩然 思远 秋菊 美玲 金凤 德明 永强 建国 宏伟 振华 少华 伟东 "
         "国华 冬梅 春梅 婷婷 丽华 晓东 志明 锦辉 炳坤 耀华 家豪 嘉怡 惠玲")

# customer type → (weight, [(full-name ending, short-name ending)], contact positions, industry)
TYPES: dict[str, tuple[int, list[tuple[str, str]], list[str], str]] = {
    "批发": (20, [("水产批发部", "水产"), ("水产有限公司", "水产"), ("海产品贸易有限公司", "海产"),
                 ("冻品批发部", "冻品"), ("水产商行", "水产"), ("渔业有限公司", "渔业")],
             ["采购经理", "采购", "财务", "销售总监"], "水产海鲜"),
    "零售": (14, [("海鲜店", "海鲜"), ("鲜鱼档", "鱼档"), ("水产店", "水产"), ("海鲜档口", "海鲜"),
                 ("生鲜店", "生鲜")], ["店长", "采购"], "水产海鲜"),
    "餐饮": (30, [("海鲜酒楼有限公司", "酒楼"), ("酒家", "酒家"), ("海鲜大排档", "排档"),
                 ("餐饮管理有限公司", "餐饮"), ("海鲜餐厅", "海鲜"), ("酒楼", "酒楼"), ("食府", "食府"),
                 ("海鲜火锅店", "火锅")], ["厨师长", "采购经理", "采购", "财务", "店长"], "餐饮酒楼"),
    "加工": (8, [("食品加工厂", "食品"), ("水产品加工有限公司", "水产"), ("冷冻食品有限公司", "冷冻"),
                ("食品有限公司", "食品")], ["采购经理", "采购", "财务"], "食品加工"),
    "商超": (8, [("超市有限公司", "超市"), ("生鲜超市", "超市"), ("购物广场", "广场"),
                ("连锁超市有限公司", "超市")], ["采购经理", "采购", "店长", "财务"], "商超零售"),
    "电商": (6, [("电子商务有限公司", "电商"), ("网络科技有限公司", "优选"), ("生鲜电商", "生鲜")],
             ["采购经理", "采购"], "其他"),
    "个人": (14, [], [], ""),
}
MOBILE_PREFIXES = (130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158, 159,
                   166, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199)
TAGS = [("重点客户", "#d9383a"), ("账期客户", "#e8912d"), ("新客户", "#2f9e44"), ("大客户", "#7048e8"),
        ("流失预警", "#868e96")]
CATEGORIES = ["活鲜", "冻品", "鱼类", "虾蟹", "贝类", "干货"]
CUSTOM_FIELDS = [
    {"object_type": CustomFieldObject.CUSTOMER, "key": "monthly_kg", "label": "月采购量(kg)",
     "field_type": CustomFieldType.DECIMAL, "help_text": "近三个月平均", "order": 1},
    {"object_type": CustomFieldObject.CUSTOMER, "key": "categories", "label": "主营品类",
     "field_type": CustomFieldType.MULTI_CHOICE, "choices": CATEGORIES, "order": 2},
    {"object_type": CustomFieldObject.CUSTOMER, "key": "invoice", "label": "是否开票",
     "field_type": CustomFieldType.BOOLEAN, "order": 3},
]
STATUSES = [(CustomerStatus.ACTIVE, 55), (CustomerStatus.PROSPECT, 20), (CustomerStatus.DORMANT, 18),
            (CustomerStatus.CLOSED, 7)]
GRADES = [("A", 15), ("B", 35), ("C", 40), ("", 10)]


class DemoExists(Exception):
    """The database already holds data the demo would collide with."""


@dataclass
class DemoResult:
    users: list[tuple[str, str]]  # (username, role)
    password: str
    customers: int = 0
    contacts: int = 0
    tokens: int = 0
    seconds: float = 0.0
    loaded: bool = True
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step of a big load, for measuring
    trade: TradeResult | None = None


@dataclass
class TradeResult:
    """What ``build_trade`` wrote: rows per table, and its time."""

    customers: int = 0
    products: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    loaded: bool = True
    phases: dict[str, float] = field(default_factory=dict)


def demo_present() -> bool:
    return Team.objects.filter(name=COMPANY, parent__isnull=True).exists()


# --- generation -----------------------------------------------------------------------------
# The main process draws what must be unique or sequential (names, contact counts); batches of
# everything else are drawn from their own seeded generator, so they can be built in worker
# processes and the same seed still gives the same company.


@dataclass(frozen=True)
class _Plan:
    """Plain ids and settings a batch needs (picklable, for worker processes)."""

    seed: int
    count: int
    history: bool
    sqlite: bool
    staged_tokens: bool  # tokens as one JSON array per customer, inserted sorted at the end (_TokenStage)
    now: dt.datetime
    phone_offset: int
    admin: tuple[int, str]
    sales: tuple[tuple[int, int], ...]  # (user id, team id)
    types: dict[str, int]
    industries: dict[str, int]
    sources: tuple[int, ...]
    positions: dict[str, int]
    tags: dict[str, int]
    channel: str
    request_id: str


@dataclass(frozen=True)
class _Spec:
    """What the main process decided for one customer."""

    ctype: str
    region: int
    district: str
    name: str
    short: str
    key: str
    contacts: int


@dataclass
class _Batch:
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    tag_links: list[tuple[int, int]] = field(default_factory=list)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    identities: list[tuple[Any, ...]] = field(default_factory=list)
    tokens: list[tuple[str, int]] = field(default_factory=list)
    token_docs: list[tuple[int, str]] = field(default_factory=list)  # (customer id, JSON array of tokens)
    token_count: int = 0
    history: list[tuple[Any, ...]] = field(default_factory=list)


def _cumulative(weights: Iterable[int]) -> list[int]:
    out, total = [], 0
    for w in weights:
        total += w
        out.append(total)
    return out


_TYPE_NAMES = list(TYPES)
_TYPE_CUM = _cumulative(v[0] for v in TYPES.values())
_REGION_CUM = _cumulative(r[4] for r in REGIONS)
_STATUS_CUM = _cumulative(w for _s, w in STATUSES)
_GRADE_CUM = _cumulative(w for _g, w in GRADES)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


class _Namer:
    """Customer names, unique among companies as the services require, in a fixed order."""

    def __init__(self, seed: int, taken: set[str]) -> None:
        self.rng = random.Random(seed)
        self.taken = taken

    def specs(self, size: int) -> list[_Spec]:
        rng, out = self.rng, []
        for _i in range(size):
            ctype = rng.choices(_TYPE_NAMES, cum_weights=_TYPE_CUM)[0]
            region = rng.choices(range(len(REGIONS)), cum_weights=_REGION_CUM)[0]
            district = rng.choice(REGIONS[region][3])
            if ctype == "个人":
                name = _person(rng)
                spec = _Spec(ctype, region, district, name, "", normalize_company_name(name), 1)
            else:
                name, short, key = self._company(ctype, REGIONS[region][2], district)
                spec = _Spec(ctype, region, district, name, short, key, rng.choices((1, 2, 3), (40, 40, 20))[0])
            out.append(spec)
        return out

    def _company(self, ctype: str, city: str, district: str) -> tuple[str, str, str]:
        endings, rng = TYPES[ctype][1], self.rng
        for attempt in range(12):
            ending, short_ending = rng.choice(endings)
            form = rng.random()
            if form < 0.15 and ctype in ("批发", "零售", "餐饮"):
                surname = rng.choice(SURNAMES)
                place = district.removesuffix("街道").removesuffix("区").removesuffix("镇")
                name, short = f"{place}{surname}记{ending}", f"{surname}记{short_ending}"
            else:
                brand = rng.choice(BRAND_CHARS) + rng.choice(BRAND_CHARS)
                short = brand + short_ending
                if form < 0.45 and "有限" not in ending:
                    name = f"{city}市{district}{brand}{ending}"  # 个体户 style
                else:
                    name = f"{city}{brand}{ending}"
            if attempt == 11:  # crowded: a numbered branch keeps it unique
                name = f"{name}（{district}{len(self.taken)}分店）"
            key = normalize_company_name(name)
            if key not in self.taken:
                self.taken.add(key)
                return name, short, key
        raise AssertionError("unreachable")  # pragma: no cover


def _mobile(plan: _Plan, n: int) -> str:
    """Unique per n: n picks a prefix and n -> n * A mod 10^8 (A coprime with 10) the body."""
    prefix = MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]
    return f"{prefix}{(n * 7_654_321 + plan.phone_offset) % 10**8:08d}"


def _address(rng: random.Random, ctype: str) -> str:
    street = f"{rng.choice(ROADS)}{rng.randint(1, 388)}号"
    if ctype in ("批发", "零售"):
        return f"{street}{rng.choice(MARKETS)}{rng.choice('ABCDEF')}区{rng.randint(1, 120)}档"
    if ctype == "个人":
        return f"{street}{rng.randint(1, 30)}栋{rng.randint(1, 32)}0{rng.randint(1, 6)}房"
    return f"{street}{rng.choice(['首层', '二楼', '三楼', '1号铺', '2号铺'])}"


def _custom_fields(rng: random.Random, ctype: str) -> dict[str, Any]:
    """Values in the form clean_custom_fields stores them."""
    values: dict[str, Any] = {}
    if ctype != "个人" and rng.random() < 0.8:
        kg = rng.randint(2, 400) * 25
        values["monthly_kg"] = str(kg) if rng.random() < 0.7 else f"{kg}.5"
    if rng.random() < 0.7:
        picked = set(rng.sample(CATEGORIES, rng.randint(1, 3)))
        values["categories"] = [c for c in CATEGORIES if c in picked]
    if rng.random() < 0.6:
        values["invoice"] = rng.random() < 0.6
    return values


def _tags(rng: random.Random, plan: _Plan, grade: str, status: str, age_days: int) -> list[str]:
    picked = []
    if grade == "A" and rng.random() < 0.5:
        picked.append("重点客户")
    if grade == "A" and rng.random() < 0.2:
        picked.append("大客户")
    if rng.random() < 0.15:
        picked.append("账期客户")
    if age_days < 90:
        picked.append("新客户")
    if status == CustomerStatus.DORMANT and rng.random() < 0.4:
        picked.append("流失预警")
    return picked


def _db_time(plan: _Plan, value: dt.datetime) -> Any:
    """What Django stores: naive UTC text on SQLite, the aware value on PostgreSQL."""
    return str(value.astimezone(dt.UTC).replace(tzinfo=None)) if plan.sqlite else value


def _log(plan: _Plan, when: Any, object_type: str, object_id: int, label: str, root_id: int,
         snap: dict[str, Any]) -> tuple[Any, ...]:
    """A change-log "create" row as record_change(created(snapshot)) writes it."""
    changes = {k: [None, v] for k, v in sorted(snap.items()) if v not in (None, "", [], {})}
    return (when, plan.admin[0], plan.admin[1], plan.channel, plan.request_id, ChangeAction.CREATE.value,
            object_type, object_id, label[:255], "customers.customer", root_id, json.dumps(changes))


def make_batch(plan: _Plan, number: int, index_from: int, first_customer: int, first_contact: int,
               specs: list[_Spec]) -> _Batch:
    """Rows for customers index_from… (ids from first_customer, contact ids from first_contact)."""
    rng = random.Random(f"{plan.seed}/{number}")
    out = _Batch()
    span = dt.timedelta(days=3 * 365).total_seconds()
    contact_id = first_contact
    for offset, spec in enumerate(specs):
        cid = first_customer + offset
        info = TYPES[spec.ctype]
        province, city = REGIONS[spec.region][0], REGIONS[spec.region][1]
        kind = CustomerKind.INDIVIDUAL.value if spec.ctype == "个人" else CustomerKind.COMPANY.value
        owner, team = rng.choice(plan.sales)
        grade = rng.choices(GRADES, cum_weights=_GRADE_CUM)[0][0]
        status = rng.choices(STATUSES, cum_weights=_STATUS_CUM)[0][0].value
        # Oldest first, so ids grow with the creation time as they would in real use.
        age = (1 - (index_from + offset) / max(plan.count, 1)) * span + rng.randint(0, 3600)
        created = plan.now - dt.timedelta(seconds=age)
        updated = min(created + dt.timedelta(days=rng.randint(0, 200)), plan.now)
        created_db, updated_db = _db_time(plan, created), _db_time(plan, updated)
        custom = _custom_fields(rng, spec.ctype)
        tags = _tags(rng, plan, grade, status, int(age // 86400))
        names, phones = [spec.name, spec.short], []
        for n in range(spec.contacts):
            if kind == CustomerKind.INDIVIDUAL:
                person, position = spec.name, None
            elif n == 0:
                person, position = _person(rng), plan.positions["老板" if rng.random() < 0.6 else "总经理"]
            else:
                person, position = _person(rng), plan.positions[rng.choice(info[2])]
            mobile = _mobile(plan, contact_id)
            email = f"{10_000_000 + contact_id * 7}@qq.com" if rng.random() < 0.12 else ""
            wechat = f"wx{contact_id:08d}{rng.choice('abcdefghjkmnpqrstuvwxyz')}" if rng.random() < 0.25 else ""
            # The first contact is the primary one, as the services settle it.
            out.contacts.append((contact_id, created_db, updated_db, 1, cid, person, mobile, email, wechat,
                                 position, n == 0, "{}"))
            out.identities.append((IdentityKind.MOBILE.value, mobile, cid, contact_id, created_db))
            if email:
                out.identities.append((IdentityKind.EMAIL.value, email, cid, contact_id, created_db))
            if wechat:
                out.identities.append((IdentityKind.WECHAT.value, wechat, cid, contact_id, created_db))
            if plan.history:
                snap: dict[str, Any] = {"name": person, "mobile": mobile, "email": email, "wechat": wechat,
                        "position": position, "is_primary": n == 0, "custom_fields": {}}
                out.history.append(_log(plan, created_db, "customers.contact", contact_id, person, cid, snap))
            names.append(person)
            phones.append(mobile)
            contact_id += 1
        tokens, blob, pinyin = document(names, phones, terms=cached_name_terms)
        out.token_count += len(tokens)
        if plan.staged_tokens:
            out.token_docs.append((cid, json.dumps(list(tokens), ensure_ascii=False)))
        else:
            out.tokens.extend([(t, cid) for t in tokens])
        type_id = plan.types[spec.ctype]
        industry_id = plan.industries.get(info[3]) if info[3] else None
        source_id = rng.choice(plan.sources)
        address = _address(rng, spec.ctype)
        out.customers.append((
            cid, created_db, updated_db, 1, kind, spec.name, spec.short, spec.key, pinyin, type_id, industry_id,
            source_id, province, city, spec.district, address, grade, status, owner, team, json.dumps(custom),
            blob,
        ))
        out.tag_links.extend((cid, plan.tags[t]) for t in tags)
        if plan.history:
            snap = {"kind": kind, "name": spec.name, "short_name": spec.short, "customer_type": type_id,
                    "industry": industry_id, "source": source_id, "province": province, "city": city,
                    "district": spec.district, "address": address, "grade": grade, "status": status,
                    "owner": owner, "team": team, "custom_fields": custom, "tags": sorted(tags)}
            out.history.append(_log(plan, created_db, "customers.customer", cid, spec.short or spec.name, cid, snap))
    return out


def _make_batch_job(job: tuple[Any, ...]) -> _Batch:
    return make_batch(*job)


# --- bulk writing ---------------------------------------------------------------------------


def _columns(model: type[Model], attnames: Sequence[str]) -> list[str]:
    """Column names for ``attnames``; refuses when the model gained a column the loader does not fill."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    auto = model._meta.pk.attname if model._meta.pk is not None else None
    missing = sorted(set(fields) - set(attnames) - {auto})
    if missing:
        raise RuntimeError(f"pearl.customers.demo does not fill {model.__name__}.{', '.join(missing)}")
    return [str(fields[a].column) for a in attnames]


CUSTOMER_COLUMNS = ("id", "created_at", "updated_at", "version", "kind", "name", "short_name",
                    "name_normalized", "name_pinyin", "customer_type_id", "industry_id", "source_id",
                    "province", "city", "district", "address", "grade", "status", "owner_id", "team_id",
                    "custom_fields", "search_blob")
CONTACT_COLUMNS = ("id", "created_at", "updated_at", "version", "customer_id", "name", "mobile", "email",
                   "wechat", "position_id", "is_primary", "custom_fields")
IDENTITY_COLUMNS = ("kind", "value", "customer_id", "contact_id", "created_at")
TOKEN_COLUMNS = ("token", "customer_id")
HISTORY_COLUMNS = ("occurred_at", "actor_id", "actor_label", "channel", "request_id", "action", "object_type",
                   "object_id", "object_repr", "root_type", "root_id", "changes")


class _TokenStage:
    """SQLite, big loads: the search tokens go through a temporary table, one row per customer with
    its tokens as a JSON array, and reach the token table in one INSERT … SELECT sorted by its key.

    The token table's key (token, customer) is in no particular order when customers arrive in id
    order: 40M rows inserted where they fall cost ~3× the one sorted pass (measured at 1M: 227 s
    against 79 s, of which 16 s are spent while the batches are written), and a sorted pass is what
    SQLite's index builder does anyway.
    """

    TABLE = "pearl_demo_tokens"

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE {self.TABLE} (customer_id integer NOT NULL, tokens text NOT NULL)")

    def write(self, docs: list[tuple[int, str]]) -> None:
        insert_rows(self.TABLE, ("customer_id", "tokens"), docs)

    def finish(self) -> None:
        quote = connection.ops.quote_name
        table = quote(CustomerSearchToken._meta.db_table)
        token, customer = (quote(c) for c in _columns(CustomerSearchToken, TOKEN_COLUMNS))
        # The foreign key is checked here once per customer, not by SQLite once per token: 40M
        # look-ups of the customer were 40 of the ~100 s of the insert (measured at 1M).
        # constraint_checks_disabled() only switches checks off outside a transaction, as here
        # for big loads; inside one (smaller loads) SQLite keeps checking every row.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {self.TABLE} s WHERE NOT EXISTS "
                f"(SELECT 1 FROM {quote(Customer._meta.db_table)} c WHERE c.id = s.customer_id)"
            )
            (orphans,) = cursor.fetchone()
        if orphans:
            raise RuntimeError(f"{orphans} staged search documents name no customer")
        with connection.constraint_checks_disabled(), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({token}, {customer}) SELECT j.value, s.customer_id "
                f"FROM {self.TABLE} s, json_each(s.tokens) j ORDER BY 1, 2"
            )
            cursor.execute(f"DROP TABLE {self.TABLE}")


class _Writer:
    """Appends each batch's rows with ``pearl.core.rows.insert_rows`` (COPY or executemany)."""

    def __init__(self, staged_tokens: bool = False) -> None:
        self.stage = _TokenStage() if staged_tokens else None
        self.tables: list[tuple[type[Model], list[str]]] = [
            (Customer, _columns(Customer, CUSTOMER_COLUMNS)),
            (Customer.tags.through, _columns(Customer.tags.through, ("customer_id", "tag_id"))),
            (Contact, _columns(Contact, CONTACT_COLUMNS)),
            (Identity, _columns(Identity, IDENTITY_COLUMNS)),
            (CustomerSearchToken, _columns(CustomerSearchToken, TOKEN_COLUMNS)),
            (ChangeLog, _columns(ChangeLog, HISTORY_COLUMNS)),
        ]

    def write(self, batch: _Batch) -> None:
        rows = [batch.customers, batch.tag_links, batch.contacts, batch.identities, batch.tokens, batch.history]
        for (model, columns), data in zip(self.tables, rows, strict=True):
            insert_rows(model._meta.db_table, columns, data)
        if self.stage is not None:
            self.stage.write(batch.token_docs)

    @contextmanager
    def without_secondary_indexes(self) -> Iterator[None]:
        """Drop the plain (non-unique) indexes of the loaded tables and build them again at the end.

        Building an index once from sorted data is several times cheaper than keeping it up to
        date row by row; only used for big loads. Unique indexes and keys stay, so every row is
        still checked. On PostgreSQL the token table's key and foreign key go too: row by row (the
        foreign key as a trigger per row at commit) they are most of a load's time; added back at
        the end they are built and checked in one pass over the table, so nothing goes unchecked.
        """
        tables = [model._meta.db_table for model, _columns in self.tables]
        with without_secondary_indexes(tables, {CustomerSearchToken._meta.db_table: ("p", "f")}):
            yield

    @staticmethod
    def reset_sequences() -> None:
        """PostgreSQL sequences must move past the ids given explicitly (SQLite follows by itself)."""
        statements = connection.ops.sequence_reset_sql(no_style(), [Customer, Contact])
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


@contextmanager
def without_secondary_indexes(tables: Sequence[str], constraints: dict[str, tuple[str, ...]]) -> Iterator[None]:
    """Drop the plain indexes of ``tables`` (and on PostgreSQL the ``constraints`` of the given types,
    "p" key / "f" foreign keys, per table) while the block runs; build them again after it."""
    saved: list[str] = []
    added: list[str] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
                "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.tablename = ANY(%s) "
                "AND i.schemaname = current_schema() AND NOT x.indisunique",
                [list(tables)],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN (" + ", ".join(["%s"] * len(tables)) + ")",
                list(tables),
            )
        for name, sql in cursor.fetchall():
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
            saved.append(sql)
        if connection.vendor == "postgresql":
            for table_name, kinds in constraints.items():
                table = connection.ops.quote_name(table_name)
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = ANY(%s) ORDER BY contype DESC",
                    [table_name, list(kinds)],
                )
                for name, definition, kind in cursor.fetchall():
                    quoted = connection.ops.quote_name(name)
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quoted}")
                    statement = f"ALTER TABLE {table} ADD CONSTRAINT {quoted} {definition}"
                    # Keys first (before the indexes), foreign keys last.
                    (saved.insert(0, statement) if kind == "p" else added.append(statement))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET maintenance_work_mem = '1GB'")
                if connection.in_atomic_block:
                    # Loads up to ATOMIC_LIMIT run in one transaction, where the rows' deferred
                    # foreign-key checks are still pending; PostgreSQL refuses CREATE INDEX on a
                    # table with pending trigger events, so run those checks now.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for sql in saved + added:
                cursor.execute(sql)
            if connection.vendor == "postgresql" and connection.in_atomic_block:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# --- set-up through the services -------------------------------------------------------------


def _setup(seed: int, count: int, history: bool) -> _Plan:
    roles = {r.name: r for r in Role.objects.all()}
    company = team_create(actor=None, name=COMPANY)
    region = team_create(actor=None, name="华南大区", parent=company)
    teams = {
        "company": company, "region": region,
        "team1": team_create(actor=None, name="销售一组", parent=region),
        "team2": team_create(actor=None, name="销售二组", parent=region),
    }
    users = {
        username: user_create(actor=None, username=username, password=PASSWORD, role=roles[role],
                              team=teams[team], display_name=display, email=f"{username}@xinhai.example")
        for username, role, team, display in USERS
    }
    admin = users["admin"]
    # 刘建华 manages the region and both sales teams: he hears of leads left without follow-up.
    Team.objects.filter(pk__in=[region.pk, teams["team1"].pk, teams["team2"].pk]).update(manager=users["manager"])
    # The demo company uses its public pool (installed switched off): untouched customers go back to it.
    from pearl.pools import selectors as pool_selectors
    from pearl.pools import services as pool_services

    default_pool = pool_selectors.pool_settings_list(actor=admin).filter(is_default=True).first()
    if default_pool is not None and not default_pool.active:
        pool_services.pool_update(actor=admin, pool_id=default_pool.pk, data={"active": True})
    tags = {name: tag_create(actor=admin, data={"name": name, "color": color}).pk for name, color in TAGS}
    for definition in CUSTOM_FIELDS:
        custom_field_create(actor=admin, data=dict(definition))

    def options(list_name: str) -> dict[str, int]:
        return dict(ChoiceOption.objects.filter(list_name=list_name).values_list("label", "id"))

    ctx = context.current()
    return _Plan(
        seed=seed, count=count, history=history, sqlite=connection.vendor == "sqlite",
        staged_tokens=connection.vendor == "sqlite" and count > STAGE_TOKENS_ABOVE,
        now=timezone.now().replace(microsecond=0), phone_offset=random.Random(seed).randrange(10**8),
        admin=(admin.pk, admin.username),
        sales=tuple((u.pk, u.team_id) for u in users.values() if u.role_id == roles["sales"].pk and u.team_id),
        types=options(ChoiceList.CUSTOMER_TYPE), industries=options(ChoiceList.INDUSTRY),
        sources=tuple(sorted(options(ChoiceList.SOURCE).values())), positions=options(ChoiceList.POSITION),
        tags=tags, channel=ctx.channel, request_id=ctx.request_id,
    )


def _check_empty() -> None:
    usernames = [u[0] for u in USERS]
    taken = sorted(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise DemoExists(", ".join(taken))
    missing = set(TYPES) - set(
        ChoiceOption.objects.filter(list_name=ChoiceList.CUSTOMER_TYPE).values_list("label", flat=True)
    )
    if missing:
        raise DemoExists("customer types " + "、".join(sorted(missing)))


def _jobs(plan: _Plan, first_customer: int, first_contact: int) -> Iterator[tuple[Any, ...]]:
    taken = set(Customer.objects.filter(kind=CustomerKind.COMPANY).values_list("name_normalized", flat=True))
    namer = _Namer(plan.seed, taken)
    done, number, contact = 0, 0, first_contact
    while done < plan.count:
        specs = namer.specs(min(BATCH, plan.count - done))
        yield (plan, number, done, first_customer + done, contact, specs)
        done += len(specs)
        contact += sum(s.contacts for s in specs)
        number += 1


def _batches(plan: _Plan, jobs: Iterator[tuple[Any, ...]]) -> Iterator[_Batch]:
    """Batches in order; for big loads built by worker processes while the caller writes."""
    workers = min(os.cpu_count() or 1, 2)
    if plan.count <= WORKER_THRESHOLD or workers < 2:
        yield from (make_batch(*job) for job in jobs)
        return
    # Building rows (pinyin, tokens) is the slow part. "spawn": workers share no database
    # connection; they set Django up themselves and never touch the database.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=django.setup) as pool:
        pending: deque[Future[_Batch]] = deque()
        for job in jobs:
            pending.append(pool.submit(_make_batch_job, job))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _load(plan: _Plan, result: DemoResult, progress: Callable[[int, int], None] | None) -> None:
    first_customer = (Customer.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    first_contact = (Contact.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    jobs = _jobs(plan, first_customer, first_contact)
    if connection.vendor == "sqlite" and plan.count > BATCH:
        with connection.cursor() as cursor:
            # A big page cache for this connection keeps the index B-trees in memory while loading.
            cursor.execute("PRAGMA cache_size = -2000000")
            # Sorting (index builds, the sorted token insert) spills to temporary files, not memory:
            # with the settings' temp_store=MEMORY, building the token index of 1M customers took
            # twice as long (42 s against 22 s). Set before the token stage's temporary table exists
            # (changing temp_store drops temporary tables). SQLite refuses the change inside a
            # transaction, where loads up to ATOMIC_LIMIT run: they are small enough either way.
            if not connection.in_atomic_block:
                cursor.execute("PRAGMA temp_store = FILE")
    writer = _Writer(plan.staged_tokens)
    bulk = writer.without_secondary_indexes() if plan.count > WORKER_THRESHOLD else nullcontext()
    batches = _batches(plan, jobs)
    started = time.monotonic()
    with bulk:
        while True:
            with transaction.atomic():
                written = 0
                for batch in islice(batches, max(COMMIT_EVERY // BATCH, 1)):
                    writer.write(batch)
                    written += 1
                    result.customers += len(batch.customers)
                    result.contacts += len(batch.contacts)
                    result.tokens += batch.token_count
            if not written:
                break
            if progress is not None:
                progress(result.customers, plan.count)
        result.phases["rows"] = time.monotonic() - started
        if writer.stage is not None:
            writer.stage.finish()
            result.phases["tokens"] = time.monotonic() - started - result.phases["rows"]
        indexed = time.monotonic()
    result.phases["indexes"] = time.monotonic() - indexed
    if connection.vendor == "sqlite" and plan.count > BATCH and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA temp_store = MEMORY")  # back to the settings' value
    writer.reset_sequences()


def build_demo(
    *, customers: int = 2000, seed: int = 1, history: bool | None = None,
    progress: Callable[[int, int], None] | None = None, trade: bool = True,
    trade_progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Create the demo company; raises DemoExists when its users are already taken.

    ``history`` writes the change-log "create" rows the services would write (one per customer
    and per contact); by default only up to HISTORY_LIMIT customers, since at a million they
    would double the load time. ``trade`` adds the catalogue and three years of orders, payments,
    communications and complaints (``build_trade``). Wrap the call in
    ``acting_through(Channel.COMMAND)`` so the change log and the timeline name the channel.
    """
    started = time.monotonic()
    if history is None:
        history = customers <= HISTORY_LIMIT
    result = DemoResult(users=[(u[0], u[1]) for u in USERS], password=PASSWORD)
    if customers <= ATOMIC_LIMIT:
        with transaction.atomic():
            _check_empty()
            _load(_setup(seed, customers, history), result, progress)
            if trade:
                result.trade = build_trade(seed=seed, progress=trade_progress)
    else:
        with transaction.atomic():
            _check_empty()
            plan = _setup(seed, customers, history)
        _load(plan, result, progress)
        if trade:
            result.trade = build_trade(seed=seed, progress=trade_progress)
    with connection.cursor() as cursor:
        # Fresh planner statistics for the new volume. SQLite: complete ones; sampled ones
        # (analysis_limit) saw 1,001 rows per status and per owner, and the list filtered by status
        # and sorted by name took 190 ms instead of 50 (measured at 1M). PostgreSQL: autovacuum gets
        # there only later, and until then its planner guesses (scans of whole tables).
        analyzed = time.monotonic()
        cursor.execute("ANALYZE")
        result.phases["statistics"] = time.monotonic() - analyzed
    result.seconds = time.monotonic() - started
    return result


# --- trade history: orders, payments, communications, complaints -------------------------------------
# Read back the customers a chunk at a time (what the history depends on: type, status, grade,
# owner, creation time, primary contact), draw each chunk's history column-wise in worker
# processes (pearl.sales.demo, pearl.activities.demo), and write it here in id order: the main
# process numbers the orders and receipts per day and makes the chunk's ids global.

TRADE_BATCH = 10_000  # customers per chunk
TRADE_COMMIT_EVERY = 50_000


def _trade_models() -> dict[str, type[Model]]:
    from pearl.activities.models import Communication, Complaint, TimelineEvent
    from pearl.sales.models import Order, OrderLine, Payment, PaymentAllocation

    models: list[type[Model]] = [Order, OrderLine, Payment, PaymentAllocation, Communication, Complaint,
                                 TimelineEvent]
    return {m._meta.db_table: m for m in models}


def trade_present() -> bool:
    from pearl.sales.models import Order

    return Order.objects.exists()


def _epoch_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _frames(batch: int) -> Iterator[Any]:
    """The customers in id order, ``batch`` at a time, as ``pearl.sales.demo.CustomerFrame``."""
    import numpy as np

    from pearl.sales import demo as sales_demo

    quote = connection.ops.quote_name
    customers, contacts = quote(Customer._meta.db_table), quote(Contact._meta.db_table)
    options = quote(ChoiceOption._meta.db_table)
    sql = (
        f"SELECT c.id, {_epoch_sql('c.created_at')}, t.label, c.status, c.grade, c.owner_id, p.id, p.name, "
        f"p.mobile, c.city, c.district, c.address FROM {customers} c "
        f"LEFT JOIN {options} t ON t.id = c.customer_type_id "
        f"LEFT JOIN {contacts} p ON p.customer_id = c.id AND p.is_primary "
        f"WHERE c.id > %s ORDER BY c.id LIMIT {int(batch)}"
    )
    types = {name: i for i, name in enumerate(sales_demo.TYPE_ORDER)}
    statuses = {name: i for i, name in enumerate(sales_demo.STATUS_ORDER)}
    grades = {name: i for i, name in enumerate(sales_demo.GRADE_ORDER)}
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last])
            rows = cursor.fetchall()
        if not rows:
            return
        unique = list({r[0]: r for r in reversed(rows)}.values())[::-1]  # one primary contact each
        last = rows[-1][0]
        yield sales_demo.CustomerFrame(
            ids=np.array([r[0] for r in unique], dtype=np.int64),
            created=np.array([r[1] for r in unique], dtype=np.int64),
            ctype=np.array([types.get(r[2], sales_demo.FALLBACK_TYPE) for r in unique], dtype=np.int64),
            status=np.array([statuses.get(r[3], 0) for r in unique], dtype=np.int64),
            grade=np.array([grades.get(r[4], len(grades) - 1) for r in unique], dtype=np.int64),
            owner=np.array([r[5] or 0 for r in unique], dtype=np.int64),
            contact=np.array([r[6] or 0 for r in unique], dtype=np.int64),
            contact_names=[r[7] or "" for r in unique],
            mobiles=[r[8] or "" for r in unique],
            addresses=[f"{r[9]}{r[10]}{r[11]}"[:200] for r in unique],
        )


def make_trade_chunk(ctx: Any, frame: Any, number: int) -> tuple[Any, Any]:
    """One chunk's history (picklable, for a worker process)."""
    from pearl.activities.demo import activities_for
    from pearl.sales.demo import orders_for

    sales = orders_for(ctx, frame, number)
    return sales, activities_for(ctx, frame, sales, number)


def _make_trade_job(job: tuple[Any, Any, int]) -> tuple[Any, Any]:
    return make_trade_chunk(*job)


def _in_order(fn: Callable[[Any], Any], jobs: Iterator[Any], parallel: bool) -> Iterator[Any]:
    """fn(job) for each job, in order; in two worker processes when ``parallel`` (see _batches)."""
    workers = min(os.cpu_count() or 1, 2)
    if not parallel or workers < 2:
        yield from (fn(job) for job in jobs)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=django.setup) as pool:
        pending: deque[Future[Any]] = deque()
        for job in jobs:
            pending.append(pool.submit(fn, job))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def build_trade(
    *, seed: int = 1, progress: Callable[[int, int], None] | None = None, now: dt.datetime | None = None,
) -> TradeResult:
    """The catalogue, then three years of orders, payments, communications and complaints for every
    customer, with their timeline events. The catalogue is only completed when it exists; the
    history is only written when there are no orders yet (so running it again adds nothing).

    Loads of more than WORKER_THRESHOLD customers run in worker processes, without the plain
    indexes of the tables written, and commit every TRADE_COMMIT_EVERY customers; smaller ones run
    in the caller's transaction if there is one.
    """
    from pearl.sales import demo as sales_demo

    started = time.monotonic()
    result = TradeResult()
    result.products = sales_demo.catalogue_ensure()
    if trade_present():
        result.loaded = False
        result.seconds = time.monotonic() - started
        return result
    total = Customer.objects.count()
    users = {u.pk: str(u) for u in User.objects.all()}
    manager = User.objects.filter(username="manager").values_list("pk", flat=True).first()
    ctx = sales_demo.make_context(
        seed=seed, now=(now or timezone.now()).replace(microsecond=0), sqlite=connection.vendor == "sqlite",
        catalogue=sales_demo.catalogue_load(), owners=users, manager=manager, channel=context.current().channel,
    )
    models = _trade_models()
    columns: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    next_ids: dict[str, int] = {}
    for table, model in models.items():
        next_ids[table] = (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1
    counters: dict[str, Any] = {}
    big = total > WORKER_THRESHOLD
    jobs = ((ctx, frame, number) for number, frame in enumerate(_frames(TRADE_BATCH)))
    chunks = _in_order(_make_trade_job, jobs, parallel=big)
    bulk = without_secondary_indexes(list(models), dict.fromkeys(models, ("f",))) if big else nullcontext()
    file_sorts = big and connection.vendor == "sqlite" and not connection.in_atomic_block
    if file_sorts:
        with connection.cursor() as cursor:
            # As for the customers (see _load): a big page cache, index builds sorting in files.
            cursor.execute("PRAGMA cache_size = -2000000")
            cursor.execute("PRAGMA temp_store = FILE")
    with bulk:
        while True:
            with transaction.atomic():
                written = 0
                for sales, activities in islice(chunks, max(TRADE_COMMIT_EVERY // TRADE_BATCH, 1)):
                    written += 1
                    sales_demo.finish(sales, ctx, counters, next_ids)
                    for rows in (sales.orders, sales.lines, sales.payments, sales.allocations,
                                 activities.communications, activities.complaints, sales.order_events,
                                 sales.payment_events, activities.communication_events, activities.complaint_events):
                        model = models[rows.table]
                        key = (rows.table, rows.columns)
                        if key not in columns:
                            columns[key] = _columns(model, rows.columns)
                        insert_rows(rows.table, columns[key], rows.tuples(next_ids))
                        result.rows[model._meta.label] = result.rows.get(model._meta.label, 0) + len(rows)
                    for rows in (sales.orders, sales.payments, activities.communications, activities.complaints):
                        next_ids[rows.table] += len(rows)
                    result.customers += len(sales.last_order)
            if not written:
                break
            if progress is not None:
                progress(result.customers, total)
        result.phases["trade rows"] = time.monotonic() - started
        indexed = time.monotonic()
    if big:
        result.phases["trade indexes"] = time.monotonic() - indexed
    if file_sorts:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA temp_store = MEMORY")  # back to the settings' value
    statements = connection.ops.sequence_reset_sql(no_style(), list(models.values()))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
    result.seconds = time.monotonic() - started
    return result
