"""The demo company's trade: its catalogue and three years of orders, lines and payments (回款).

``catalogue_ensure`` writes the catalogue (six categories, ~60 products, a 酒楼 and a 批发 price list)
and can be run any number of times. ``orders_for`` draws one chunk of customers' history column-wise
with NumPy, for the bulk loader in ``pearl.customers.demo`` (which reads the customers, runs this in
worker processes and writes the rows with COPY / executemany):

- each customer type has its purchase cycle (酒楼 about weekly, 商超 fortnightly, 零售 monthly…) and
  basket; the number of orders is heavy-tailed (a few regulars order every week for years, most
  customers a handful of times), about 10 order lines per customer on average;
- orders follow the seasons: a customer's orders are evenly spaced in "busy time", a clock that runs
  faster in the four weeks before 春节 and the three before 中秋, stops over the festival and slows
  down in summer, so the same regular customer orders more often when everyone does;
- prospects have not bought; dormant and closed customers stopped at some point; a few active
  ones have gone quiet lately;
- money is integer fen throughout: a line is ``quantity × unit price`` rounded half up to the fen,
  less its discount; an order's subtotal, discount, amount and cost are the sums of its lines;
- payments settle one order or a month of orders (月结), mostly within the term (30 days, 60 for
  monthly accounts); some customers pay late, a few stopped paying and owe overdue money; an order
  is ``paid_at`` when its allocations reach its amount.

Every order and payment also gets its timeline event, as the sales services write them. The
same seed and customers always give the same history.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import transaction

from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption
from pearl.sales.choices import OrderStatus, PaymentMethod
from pearl.sales.models import PriceList, PriceListItem, Product, ProductCategory

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Column = npt.NDArray[Any] | list[Any]

CATEGORIES = ("虾", "蟹", "贝类", "鱼类", "冻品", "调料")
UNITS = ("斤", "kg", "箱", "件")
_S, _KG, _BOX, _PIECE = range(4)

# (SKU, name, category, unit, specification, list price, unit cost): 广州 wholesale prices, late 2026.
PRODUCTS: list[tuple[str, str, int, int, str, str, str]] = [
    ("SH-001", "活基围虾", 0, _S, "鲜活 40-50只/斤", "68.00", "55.00"),
    ("SH-002", "九节虾", 0, _S, "鲜活 20-25只/斤", "128.00", "104.00"),
    ("SH-003", "濑尿虾", 0, _S, "鲜活 8-10只/斤 公", "88.00", "70.00"),
    ("SH-004", "斑节虾", 0, _S, "鲜活 15-20只/斤", "98.00", "80.00"),
    ("SH-005", "澳洲龙虾", 0, _S, "鲜活 2-3斤/只", "398.00", "328.00"),
    ("SH-006", "波士顿龙虾", 0, _S, "鲜活 1-1.5斤/只", "168.00", "135.00"),
    ("SH-007", "冻南美白虾", 0, _BOX, "1.8kg/盒×6盒 40-50只", "420.00", "348.00"),
    ("SH-008", "阿根廷红虾", 0, _BOX, "2kg/盒×6盒 L1", "780.00", "652.00"),
    ("SH-009", "冻虾仁", 0, _KG, "去壳 200-300粒/kg", "58.00", "46.00"),
    ("SH-010", "竹节虾", 0, _S, "冰鲜 30-40只/斤", "88.00", "71.00"),
    ("SH-011", "北极甜虾", 0, _BOX, "熟冻 5kg/箱", "360.00", "290.00"),
    ("CR-001", "膏蟹", 1, _S, "鲜活 6-8两/只", "168.00", "135.00"),
    ("CR-002", "肉蟹", 1, _S, "鲜活 5-7两/只", "98.00", "78.00"),
    ("CR-003", "花蟹", 1, _S, "鲜活 4-6两/只", "78.00", "62.00"),
    ("CR-004", "大闸蟹礼盒", 1, _PIECE, "公4.0两 母3.0两 8只装", "388.00", "300.00"),
    ("CR-005", "面包蟹", 1, _S, "鲜活 1.5斤以上", "68.00", "52.00"),
    ("CR-006", "帝王蟹", 1, _S, "鲜活 4-6斤/只", "398.00", "320.00"),
    ("CR-007", "珍宝蟹", 1, _S, "鲜活 2-3斤/只", "158.00", "128.00"),
    ("CR-008", "冻蟹钳", 1, _KG, "熟冻 15-20只/kg", "88.00", "70.00"),
    ("CR-009", "梭子蟹", 1, _S, "冰鲜 3-4两/只", "58.00", "45.00"),
    ("CR-010", "熟冻蟹肉", 1, _KG, "整块蟹肉 500g×2包", "168.00", "135.00"),
    ("SF-001", "花甲", 2, _S, "鲜活 已吐沙", "12.00", "8.50"),
    ("SF-002", "乳山生蚝", 2, _BOX, "鲜活 10斤/箱 中号", "138.00", "108.00"),
    ("SF-003", "扇贝", 2, _S, "鲜活 带壳", "18.00", "13.00"),
    ("SF-004", "鲍鱼", 2, _S, "鲜活 10头", "118.00", "95.00"),
    ("SF-005", "象拔蚌", 2, _S, "鲜活 1.5-2斤/只", "268.00", "215.00"),
    ("SF-006", "圣子皇", 2, _S, "鲜活", "58.00", "45.00"),
    ("SF-007", "青口贝", 2, _KG, "冻 半壳", "36.00", "27.00"),
    ("SF-008", "带子", 2, _KG, "冻 刺身级 L", "198.00", "160.00"),
    ("SF-009", "沙白", 2, _S, "鲜活", "22.00", "16.00"),
    ("SF-010", "花螺", 2, _S, "鲜活 中号", "78.00", "60.00"),
    ("FI-001", "东星斑", 3, _S, "鲜活 1.2-1.5斤/条", "268.00", "218.00"),
    ("FI-002", "老虎斑", 3, _S, "鲜活 1.5-2斤/条", "88.00", "70.00"),
    ("FI-003", "多宝鱼", 3, _S, "鲜活 1-1.5斤/条", "48.00", "37.00"),
    ("FI-004", "桂花鱼", 3, _S, "鲜活 1-1.5斤/条", "52.00", "41.00"),
    ("FI-005", "鲈鱼", 3, _S, "鲜活 1-1.5斤/条", "22.00", "16.50"),
    ("FI-006", "鲩鱼", 3, _S, "鲜活 4-6斤/条", "9.80", "7.20"),
    ("FI-007", "罗非鱼", 3, _S, "鲜活", "7.50", "5.50"),
    ("FI-008", "黄花鱼", 3, _S, "冰鲜 6-8两/条", "38.00", "29.00"),
    ("FI-009", "鲳鱼", 3, _S, "冰鲜 4-5两/条", "45.00", "35.00"),
    ("FI-010", "三文鱼", 3, _KG, "冰鲜 挪威 整条 5-6kg", "138.00", "112.00"),
    ("FI-011", "冻石斑鱼片", 3, _KG, "去骨 真空包装", "98.00", "78.00"),
    ("FZ-001", "冻鱿鱼", 4, _BOX, "10kg/箱", "320.00", "260.00"),
    ("FZ-002", "冻带鱼段", 4, _BOX, "10kg/箱", "280.00", "225.00"),
    ("FZ-003", "冻巴沙鱼柳", 4, _BOX, "10kg/箱", "210.00", "170.00"),
    ("FZ-004", "冻墨鱼仔", 4, _KG, "20-30只/kg", "42.00", "33.00"),
    ("FZ-005", "冻银鳕鱼块", 4, _KG, "切块 真空包装", "188.00", "150.00"),
    ("FZ-006", "冻鲍鱼", 4, _PIECE, "10只/盒", "88.00", "68.00"),
    ("FZ-007", "冻八爪鱼", 4, _KG, "", "56.00", "44.00"),
    ("FZ-008", "潮汕鱼丸", 4, _BOX, "2.5kg×4包", "160.00", "125.00"),
    ("FZ-009", "冻龙利鱼柳", 4, _BOX, "10kg/箱", "260.00", "210.00"),
    ("FZ-010", "蟹柳", 4, _BOX, "500g×20包", "150.00", "118.00"),
    ("SE-001", "生抽", 5, _BOX, "1.9L×6瓶", "78.00", "62.00"),
    ("SE-002", "蚝油", 5, _BOX, "2.27kg×6瓶", "120.00", "96.00"),
    ("SE-003", "鱼露", 5, _BOX, "700ml×12瓶", "132.00", "105.00"),
    ("SE-004", "海鲜酱", 5, _BOX, "2.1kg×6罐", "138.00", "110.00"),
    ("SE-005", "芥末", 5, _PIECE, "43g×10支", "75.00", "58.00"),
    ("SE-006", "蒸鱼豉油", 5, _BOX, "1.8L×6瓶", "96.00", "76.00"),
    ("SE-007", "XO酱", 5, _PIECE, "220g×6瓶", "288.00", "228.00"),
    ("SE-008", "沙茶酱", 5, _BOX, "350g×12瓶", "156.00", "122.00"),
]
# (name, customer type, factor on the list price): 酒楼 and 批发 buy below list.
PRICE_LISTS = [("酒楼价", "餐饮", Decimal("0.93")), ("批发价", "批发", Decimal("0.88"))]

# The customer types of the demo (pearl.customers.demo.TYPES), in this order; others buy like 零售.
TYPE_ORDER = ("批发", "零售", "餐饮", "加工", "商超", "电商", "个人")
FALLBACK_TYPE = 1
# Per type: purchase cycle of a regular (days), share of 月结 accounts, chance of each extra line
# (1 + Binomial(5, p) lines), category weights (虾 蟹 贝类 鱼类 冻品 调料), typical quantity per unit
# (斤 kg 箱 件), payment-method weights (bank wechat alipay cash cheque other).
TYPE_CYCLE = np.array([10.0, 30.0, 7.0, 14.0, 14.0, 10.0, 60.0])
TYPE_MONTHLY = np.array([0.4, 0.0, 0.5, 0.6, 0.8, 0.3, 0.0])
TYPE_LINE_P = np.array([0.5, 0.35, 0.5, 0.4, 0.55, 0.45, 0.25])
TYPE_CATEGORY = np.array(
    [
        [3, 2, 2, 3, 4, 1],
        [3, 2, 3, 4, 1, 0],
        [4, 3, 3, 4, 1, 1],
        [2, 1, 0, 3, 5, 1],
        [3, 2, 2, 3, 4, 2],
        [3, 3, 1, 1, 4, 1],
        [3, 4, 2, 2, 1, 0],
    ],
    dtype=np.float64,
)
TYPE_QUANTITY = np.array(
    [
        [60, 30, 10, 8],
        [20, 10, 3, 3],
        [15, 8, 2, 3],
        [100, 50, 15, 10],
        [40, 20, 6, 6],
        [30, 15, 8, 8],
        [3, 2, 1, 1],
    ],
    dtype=np.float64,
)
METHODS = (
    PaymentMethod.BANK,
    PaymentMethod.WECHAT,
    PaymentMethod.ALIPAY,
    PaymentMethod.CASH,
    PaymentMethod.CHEQUE,
    PaymentMethod.OTHER,
)
TYPE_METHODS = np.array(
    [
        [6, 2, 0, 1, 1, 0],
        [2, 5, 2, 1, 0, 0],
        [6, 3, 0, 1, 0, 0],
        [8, 1, 0, 0, 1, 0],
        [9, 0, 0, 0, 1, 0],
        [7, 1, 2, 0, 0, 0],
        [0, 6, 3, 1, 0, 0],
    ],
    dtype=np.float64,
)
GRADE_ORDER = ("A", "B", "C", "")
GRADE_CYCLE = np.array([0.35, 0.8, 1.6, 1.6])
CYCLE_MU, CYCLE_SIGMA = 3.45, 1.3  # the customer's cycle: its type's × lognormal(μ, σ) × its grade's
MAX_ORDERS = 1500
# Customer statuses as the loader passes them (pearl.customers.choices.CustomerStatus values).
STATUS_ORDER = ("active", "prospect", "dormant", "closed")
ACTIVE, PROSPECT, DORMANT, CLOSED = range(4)
FAVOURITES = 8  # products a customer usually buys
TERM_DAYS, MONTHLY_TERM_DAYS = 30, 60
ORDER_PREFIX, RECEIPT_PREFIX = "SO", "SK"  # as pearl.sales.services number them: SO20261123-0001

# 春节 and 中秋 (the actual dates); the busy-time clock runs faster before them.
SPRING_FESTIVAL = (
    "2020-01-25",
    "2021-02-12",
    "2022-02-01",
    "2023-01-22",
    "2024-02-10",
    "2025-01-29",
    "2026-02-17",
    "2027-02-06",
    "2028-01-26",
    "2029-02-13",
    "2030-02-03",
)
MID_AUTUMN = (
    "2020-10-01",
    "2021-09-21",
    "2022-09-10",
    "2023-09-29",
    "2024-09-17",
    "2025-10-06",
    "2026-09-25",
    "2027-09-15",
    "2028-10-03",
    "2029-09-22",
    "2030-09-12",
)
YEARS = 3  # of history
DAY = 86_400
LOCAL = 8 * 3600  # Asia/Shanghai has no daylight saving: local = UTC + 8 h

NOTES = (
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "早上7点前送到后门",
    "随货带发票",
    "放冰库，找仓管签收",
    "下午三点后再送",
    "老板电话确认后再发货",
    "泡沫箱多加冰",
)


# --- the catalogue ------------------------------------------------------------------------------


def _price_step(value: Decimal) -> Decimal:
    step = Decimal("0.5") if value >= 20 else Decimal("0.1")
    return ((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).quantize(Decimal("0.01"))


@transaction.atomic
def catalogue_ensure() -> int:
    """The demo catalogue and price lists; what exists already (by name or SKU) is kept as it is.

    Returns how many products were created."""
    categories = {}
    for order, name in enumerate(CATEGORIES, 1):
        categories[name], _created = ProductCategory.objects.get_or_create(name=name, defaults={"order": order})
    taken = set(Product.objects.filter(sku__in=[p[0] for p in PRODUCTS]).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [
            Product(
                sku=sku,
                name=name,
                category=categories[CATEGORIES[cat]],
                unit=UNITS[unit],
                spec=spec,
                price=Decimal(price),
                cost=Decimal(cost),
            )
            for sku, name, cat, unit, spec, price, cost in PRODUCTS
            if sku not in taken
        ]
    )
    products = Product.objects.filter(sku__in=[p[0] for p in PRODUCTS])
    for name, ctype, factor in PRICE_LISTS:
        option = ChoiceOption.objects.filter(list_name=ChoiceList.CUSTOMER_TYPE, label=ctype).first()
        price_list, _created = PriceList.objects.get_or_create(name=name, defaults={"customer_type": option})
        priced = set(PriceListItem.objects.filter(price_list=price_list).values_list("product_id", flat=True))
        PriceListItem.objects.bulk_create(
            [
                PriceListItem(price_list=price_list, product=p, price=_price_step(p.price * factor))
                for p in products
                if p.pk not in priced
            ]
        )
    return len(PRODUCTS) - len(taken)


@dataclass(frozen=True)
class Catalogue:
    """The demo products as arrays (index = position in PRODUCTS); prices in fen per customer type."""

    ids: I64
    names: tuple[str, ...]
    category: I64
    unit: I64
    price: I64  # [type, product]
    cost: I64
    category_ids: tuple[int, ...]


def _fen(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * 100)


def catalogue_load() -> Catalogue:
    """The catalogue as it is in the database (prices people changed included)."""
    by_sku = {p.sku: p for p in Product.objects.filter(sku__in=[p[0] for p in PRODUCTS])}
    products = [by_sku[sku] for sku, *_rest in PRODUCTS if sku in by_sku]
    if not products:
        raise RuntimeError("the demo catalogue is missing: run catalogue_ensure() first")
    index = {p.pk: i for i, p in enumerate(products)}
    skus = {p[0]: p for p in PRODUCTS}
    price = np.array([[_fen(p.price) for p in products]] * len(TYPE_ORDER), dtype=np.int64)
    for price_list in PriceList.objects.filter(is_active=True).select_related("customer_type"):
        label = price_list.customer_type.label if price_list.customer_type else None
        if label not in TYPE_ORDER:
            continue
        row = TYPE_ORDER.index(label)
        for product_id, value in PriceListItem.objects.filter(price_list=price_list).values_list("product_id", "price"):
            if product_id in index:
                price[row, index[product_id]] = _fen(value)
    category_ids = dict(ProductCategory.objects.filter(name__in=CATEGORIES).values_list("name", "id"))
    return Catalogue(
        ids=np.array([p.pk for p in products], dtype=np.int64),
        names=tuple(p.name for p in products),
        category=np.array([skus[p.sku][2] for p in products], dtype=np.int64),
        unit=np.array([skus[p.sku][3] for p in products], dtype=np.int64),
        price=price,
        cost=np.array(
            [_fen(p.cost) if p.cost is not None else _fen(p.price) * 4 // 5 for p in products], dtype=np.int64
        ),
        category_ids=tuple(category_ids.get(c, 0) for c in CATEGORIES),
    )


# --- what a chunk of history needs and gives -------------------------------------------------------


@dataclass(frozen=True)
class HistoryContext:
    """Settings of one load (picklable, for worker processes)."""

    seed: int
    now: int  # epoch seconds
    sqlite: bool
    catalogue: Catalogue
    day0: int  # local day number (days since 1970-01-01 in Asia/Shanghai) of the busy-time grid's start
    busy: F64  # busy time at the start of each local day from day0, one more than the days
    owners: dict[int, str]  # user id → label (display name)
    manager: int | None
    channel: str
    order_titles: dict[tuple[int, bool], str]  # (lines, cancelled) → str.format template of {number} {amount}
    payment_titles: dict[str, str]  # method → template of {number} {amount}

    def ts(self, seconds: I64) -> list[str | None]:
        """Epoch seconds as stored: naive UTC text on SQLite, with its zone on PostgreSQL; < 0 is NULL."""
        first, zone = self.day0 - 2, "" if self.sqlite else "+00"
        day_texts, clock_texts = _clock(first, len(self.busy) + 60, zone)
        days, clock = np.divmod(np.where(seconds < 0, self.now, seconds), DAY)
        days -= first
        if len(days) and (days.min() < 0 or days.max() >= len(day_texts)):  # customers older than the calendar
            text = np.datetime_as_string(((days + first) * DAY + clock).astype("datetime64[s]"), unit="s")
            out: list[str | None] = [f"{t[:10]} {t[11:]}{zone}" for t in text.tolist()]
        else:
            out = [day_texts[d] + clock_texts[c] for d, c in zip(days.tolist(), clock.tolist(), strict=True)]
        for i in np.flatnonzero(seconds < 0).tolist():
            out[i] = None
        return out

    def dates(self, days: I64) -> list[str]:
        """Local day numbers as ISO dates."""
        return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()

    def owner_label(self, owner: int) -> str:
        return self.owners.get(owner, "")


@dataclass
class CustomerFrame:
    """One chunk of customers, column-wise (what the loader read back from the database)."""

    ids: I64
    created: I64  # epoch seconds
    ctype: I64  # index into TYPE_ORDER
    status: I64  # index into STATUS_ORDER
    grade: I64  # index into GRADE_ORDER
    owner: I64  # 0: none
    contact: I64  # primary contact id, 0: none
    contact_names: list[str]
    mobiles: list[str]
    addresses: list[str]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Rows:
    """Rows of one table, column-wise. Ids local to the chunk (0, 1, …) are made global when written:
    ``refs`` names, per column, the table whose first id of this chunk is added (-1 stays NULL)."""

    table: str
    columns: tuple[str, ...]
    values: list[Column]
    refs: dict[str, str] = field(default_factory=dict)
    nullable_refs: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.values[0]) if self.values else 0

    def tuples(self, first_ids: dict[str, int]) -> list[tuple[Any, ...]]:
        columns: list[Sequence[Any]] = []
        for name, value in zip(self.columns, self.values, strict=True):
            target = self.refs.get(name)
            if target is not None:
                assert isinstance(value, np.ndarray)
                shifted = (value + first_ids[target]).tolist()
                if name in self.nullable_refs:
                    shifted = [None if v < 0 else s for v, s in zip(value.tolist(), shifted, strict=True)]
                columns.append(shifted)
            else:
                columns.append(value.tolist() if isinstance(value, np.ndarray) else value)
        return list(zip(*columns, strict=True))


@dataclass
class SalesChunk:
    """What ``orders_for`` gives the loader (and the activities generator, which refers to orders)."""

    orders: Rows
    lines: Rows
    payments: Rows
    allocations: Rows
    order_events: Rows
    payment_events: Rows
    order_days: I64  # local day of each order, for its number
    payment_days: I64
    order_titles: list[str]  # with {number} to fill in
    payment_titles: list[str]
    payment_heads: list[str]  # the payload after the number, up to the orders paid
    allocation_texts: list[str]
    # Per order, for the activities: customer position in the frame, time, status, overdue.
    order_customer: I64
    order_time: I64
    order_delivered: I64
    order_cancelled: npt.NDArray[np.bool_]
    order_first_product: I64
    overdue_customers: npt.NDArray[np.bool_]  # per customer of the frame
    last_order: I64  # per customer, epoch seconds, -1: none


ORDER_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "version",
    "number",
    "customer_id",
    "status",
    "ordered_at",
    "salesperson_id",
    "currency",
    "subtotal",
    "discount",
    "amount",
    "cost",
    "paid_amount",
    "due_date",
    "paid_at",
    "delivery_contact",
    "delivery_phone",
    "delivery_address",
    "delivered_at",
    "note",
)
LINE_COLUMNS = ("order_id", "product_id", "quantity", "unit_price", "discount", "amount")
PAYMENT_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "version",
    "number",
    "customer_id",
    "amount",
    "currency",
    "received_at",
    "method",
    "reference",
    "note",
    "recorded_by_id",
)
ALLOCATION_COLUMNS = ("payment_id", "order_id", "amount")
EVENT_COLUMNS = (
    "customer_id",
    "kind",
    "occurred_at",
    "actor_id",
    "actor_label",
    "channel",
    "source",
    "external_id",
    "subject_type",
    "subject_id",
    "title",
    "payload",
    "created_at",
)


@functools.lru_cache(maxsize=4)
def _clock(first_day: int, days: int, zone: str) -> tuple[list[str], list[str]]:
    """ "YYYY-MM-DD " for each UTC day from first_day, and "HH:MM:SS" + zone for each second of a day."""
    dates = np.datetime_as_string(np.arange(first_day, first_day + days).astype("datetime64[D]"), unit="D")
    return [f"{d} " for d in dates.tolist()], [
        f"{h:02d}:{m:02d}:{x:02d}{zone}" for h in range(24) for m in range(60) for x in range(60)
    ]


# --- the calendar ----------------------------------------------------------------------------------


def _day(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - dt.date(1970, 1, 1)).days


def busy_clock(first_day: int, last_day: int) -> F64:
    """Busy time at the start of each local day first_day … last_day + 1 (cumulative intensity)."""
    days = np.arange(first_day, last_day + 1)
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    month_start = dates.astype("datetime64[M]").astype("datetime64[D]")
    mday = (dates - month_start).astype(np.int64) + 1
    rate = np.ones(len(days))
    rate[(months == 7) | (months == 8) | ((months == 6) & (mday >= 15))] = 0.7  # 夏天淡季
    rate[(dates.astype(np.int64) + 4) % 7 == 6] *= 0.75  # Sundays (1970-01-01 was a Thursday)
    for iso in SPRING_FESTIVAL:
        cny = _day(iso)
        before = (days >= cny - 28) & (days < cny)
        rate[before] = 1.4 + 1.3 * (1 - (cny - days[before]) / 28)  # rising to 2.7× on 除夕
        rate[(days >= cny) & (days < cny + 6)] = 0.15  # closed for the holiday
        rate[(days >= cny + 6) & (days < cny + 15)] = 0.6
    for iso in MID_AUTUMN:
        festival = _day(iso)
        rate[(days >= festival - 21) & (days < festival)] = 1.7
        rate[(days >= festival) & (days < festival + 3)] = 0.5
    return np.concatenate([[0.0], np.cumsum(rate)])


def festival_boost(ctx: HistoryContext, days: I64) -> F64:
    """How much bigger baskets are on these days (1 outside the weeks before the festivals)."""
    boost = np.ones(len(days))
    for iso in SPRING_FESTIVAL:
        cny = _day(iso)
        boost[(days >= cny - 28) & (days < cny)] = 1.35
    for iso in MID_AUTUMN:
        festival = _day(iso)
        boost[(days >= festival - 21) & (days < festival)] = 1.2
    return boost


_NUMBER, _AMOUNT = "\x01NUMBER\x01", Decimal("987654321.98")


def _template(title: str) -> str:
    """A title the services wrote for the sentinel number and amount, with {number} and {amount} in them."""
    return title.replace(_NUMBER, "{number}").replace(f"{_AMOUNT:,.2f}", "{amount}")


def event_templates() -> tuple[dict[tuple[int, bool], str], dict[str, str]]:
    """The order and payment titles exactly as ``pearl.sales.services.events`` writes them."""
    from pearl.sales.models import Order, OrderLine
    from pearl.sales.services.events import order_event, payment_title

    category = ProductCategory(name=CATEGORIES[0])
    orders = {}
    for lines in range(1, 7):
        for cancelled in (False, True):
            order = Order(
                pk=1,
                number=_NUMBER,
                amount=_AMOUNT,
                customer_id=1,
                ordered_at=dt.datetime.now(dt.UTC),
                status=OrderStatus.CANCELLED if cancelled else OrderStatus.DELIVERED,
            )
            sample = [OrderLine(product=Product(category=category)) for _i in range(lines)]
            orders[lines, cancelled] = _template(order_event(order, sample).title)
    payments = {m.value: _template(payment_title(_NUMBER, _AMOUNT, m.value)) for m in METHODS}
    return orders, payments


def make_context(
    *,
    seed: int,
    now: dt.datetime,
    sqlite: bool,
    catalogue: Catalogue,
    owners: dict[int, str],
    manager: int | None,
    channel: str,
) -> HistoryContext:
    now_s = int(now.timestamp())
    today = (now_s + LOCAL) // DAY
    day0 = today - YEARS * 366 - 400  # room before the oldest customer's first order
    order_titles, payment_titles = event_templates()
    return HistoryContext(
        seed=seed,
        now=now_s,
        sqlite=sqlite,
        catalogue=catalogue,
        day0=day0,
        busy=busy_clock(day0, today + 1),
        owners=owners,
        manager=manager,
        channel=channel,
        order_titles=order_titles,
        payment_titles=payment_titles,
    )


def _to_busy(ctx: HistoryContext, seconds: I64 | F64) -> F64:
    local_days = (np.asarray(seconds, dtype=np.float64) + LOCAL) / DAY - ctx.day0
    return np.interp(local_days, np.arange(len(ctx.busy)), ctx.busy)


def _from_busy(ctx: HistoryContext, busy: F64) -> F64:
    """Local day numbers (fractional) of busy times."""
    return np.interp(busy, ctx.busy, np.arange(len(ctx.busy))) + ctx.day0


# --- generation ----------------------------------------------------------------------------------


def group_starts(sizes: I64) -> I64:
    """Where each run of ``sizes`` consecutive items starts."""
    return (np.cumsum(sizes) - sizes).astype(np.int64)


def rank_in_groups(sizes: I64) -> I64:
    """0, 1, … within each run of ``sizes`` consecutive items."""
    total = int(sizes.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(group_starts(sizes), sizes)


def choice_rows(rng: np.random.Generator, weights: F64) -> I64:
    """One index per row of ``weights`` (rows need not be normalised)."""
    cum = np.cumsum(weights, axis=1)
    pick = rng.random(len(weights)) * cum[:, -1]
    return (cum < pick[:, None]).sum(axis=1).astype(np.int64)


def money(cents: I64) -> list[float]:
    """Fen as the database stores two-place decimals (exactly the value of the two-place text)."""
    return (cents / 100).tolist()


def yuan(cents: I64) -> list[str]:
    """As ``str(Decimal)`` of two-place amounts (the nearest double of n/100 prints as n/100)."""
    return [f"{x:.2f}" for x in (cents / 100).tolist()]


def money_texts(cents: I64) -> list[str]:
    """As ``pearl.sales.services.events.money_text``: 1,234.50."""
    return [f"{x:,.2f}" for x in (cents / 100).tolist()]


def _order_times(ctx: HistoryContext, frame: CustomerFrame, rng: np.random.Generator) -> tuple[I64, I64]:
    """(customer position, epoch seconds) of every order, by customer then time."""
    n = len(frame)
    ctype, status = frame.ctype, frame.status
    # Regulars order at their type's cycle, most customers far less often (heavy-tailed).
    cycle = TYPE_CYCLE[ctype] * rng.lognormal(CYCLE_MU, CYCLE_SIGMA, n) * GRADE_CYCLE[frame.grade]
    now_busy = float(_to_busy(ctx, np.array([ctx.now]))[0])
    created_busy = _to_busy(ctx, frame.created)
    # The last order: within a cycle for active customers, long ago for those who stopped.
    quiet = rng.random(n) < 0.08  # active customers gone quiet lately (2-6 cycles)
    lag = rng.random(n) * cycle
    lag[quiet] = cycle[quiet] * rng.uniform(2, 6, int(quiet.sum()))
    dormant, closed = status == DORMANT, status == CLOSED
    lag[dormant] = rng.uniform(100, 400, int(dormant.sum()))
    lag[closed] = rng.uniform(200, 900, int(closed.sum()))
    last = np.maximum(now_busy - lag, created_busy + rng.random(n) * np.minimum(cycle, now_busy - created_busy))
    span = np.maximum(last - created_busy, 0)
    count = 1 + rng.poisson(np.minimum(span / cycle, MAX_ORDERS)).astype(np.int64)
    count[status == PROSPECT] = 0
    who = np.repeat(np.arange(n, dtype=np.int64), count)
    gaps = cycle[who] * rng.gamma(5.0, 0.2, len(who))
    gaps[group_starts(count)[count > 0]] = 0
    back = np.cumsum(gaps)
    if len(back):
        back -= np.repeat(back[np.minimum(group_starts(count), len(back) - 1)], count)
    busy = last[who] - back
    keep = busy >= created_busy[who]
    who, busy = who[keep], busy[keep]
    local_day = np.floor(_from_busy(ctx, busy)).astype(np.int64)
    # Time of day: restaurants order early morning or in the afternoon for the next morning.
    hour = rng.uniform(8, 18, len(who))
    eating = ctype[who] == 2
    evening = eating & (rng.random(len(who)) < 0.5)
    hour[eating] = rng.uniform(6, 10.5, int(eating.sum()))
    hour[evening] = rng.uniform(14, 22, int(evening.sum()))
    seconds = (local_day * DAY - LOCAL + hour * 3600).astype(np.int64)
    created = frame.created[who]
    late = seconds > ctx.now - 60
    seconds[late] = ctx.now - rng.integers(60, 6 * 3600, int(late.sum()))
    seconds = np.maximum(seconds, created + 60)
    seconds = np.minimum(seconds, ctx.now - 1)
    order = np.lexsort((seconds, who))
    return who[order], seconds[order]


def orders_for(ctx: HistoryContext, frame: CustomerFrame, chunk: int) -> SalesChunk:
    """Orders, lines, payments and allocations of one chunk of customers, with their timeline events."""
    rng = np.random.default_rng([ctx.seed, 7_001, chunk])
    cat = ctx.catalogue
    n = len(frame)
    who, when = _order_times(ctx, frame, rng)
    orders = len(who)
    ctype = frame.ctype[who]
    day = (when + LOCAL) // DAY

    # Favourite products per customer (weighted by the type's categories), then baskets.
    product_weight = TYPE_CATEGORY[:, cat.category] + 0.0  # [type, product]
    keys = np.log(product_weight[frame.ctype] + 1e-12) + rng.gumbel(size=(n, len(cat.ids)))
    favourites = np.argsort(-keys, axis=1)[:, :FAVOURITES]
    festival = festival_boost(ctx, day)
    line_count = 1 + rng.binomial(5, np.minimum(TYPE_LINE_P[ctype] * np.where(festival > 1, 1.25, 1.0), 0.95))
    # Lines pick distinct favourites, the first ones more often (Gumbel top-k on falling weights).
    pref = np.log(1.0 / np.arange(1, FAVOURITES + 1)) + rng.gumbel(size=(orders, FAVOURITES))
    picks = np.argsort(-pref, axis=1)
    line_order = np.repeat(np.arange(orders, dtype=np.int64), line_count)
    slot = rank_in_groups(line_count)
    product = favourites[who[line_order], picks[line_order, slot]]
    lines = len(product)

    # Quantity: typical for the type and unit, less of dear things, more before the festivals.
    unit = cat.unit[product]
    list_price = cat.price[ctype[line_order], product]
    base = TYPE_QUANTITY[ctype[line_order], unit] * np.clip((60_00 / np.maximum(list_price, 1)) ** 0.4, 0.2, 2.5)
    raw = base * rng.lognormal(0, 0.5, lines) * festival[line_order]
    milli = np.where(
        unit == _S,
        np.maximum(np.round(raw * 2), 1) * 500,  # half 斤
        np.where(
            unit == _KG,
            np.maximum(np.round(raw * 10), 1) * 100,  # 0.1 kg
            np.maximum(np.round(raw), 1) * 1000,
        ),  # whole boxes and pieces
    ).astype(np.int64)
    # Price: the customer type's list, a little lower in the past, dearer before 春节, sometimes haggled.
    years_ago = (ctx.now - when[line_order]) / (365.0 * DAY)
    factor = (1 - 0.035 * np.maximum(years_ago - 60 / 365, 0)) * np.where(festival[line_order] > 1.3, 1.06, 1.0)
    factor *= np.where(rng.random(lines) < 0.1, rng.uniform(0.95, 1.0, lines), 1.0)
    price = np.where(factor == 1.0, list_price, np.round(list_price * factor / 10) * 10).astype(np.int64)
    gross = (milli * price + 500) // 1000
    discounted = (rng.random(lines) < 0.12) & (gross >= 100_00)
    discount = np.where(discounted, (gross * rng.uniform(0.02, 0.08, lines) / 100).astype(np.int64) * 100, 0)
    amount = gross - discount
    cost = (milli * cat.cost[product] + 500) // 1000

    starts = group_starts(line_count)
    subtotal = np.add.reduceat(gross, starts) if lines else np.zeros(0, np.int64)
    order_discount = np.add.reduceat(discount, starts) if lines else np.zeros(0, np.int64)
    order_amount = subtotal - order_discount
    order_cost = np.add.reduceat(cost, starts) if lines else np.zeros(0, np.int64)

    # Status: delivered within a day, ~2 % cancelled, the last days' orders on their way.
    age = ctx.now - when
    delivered_at = when + rng.integers(3 * 3600, 26 * 3600, orders)
    status = np.full(orders, OrderStatus.DELIVERED.value, dtype=object)
    open_roll = rng.random(orders)
    not_yet = delivered_at > ctx.now
    status[not_yet & (age < 6 * 3600)] = np.where(
        open_roll[not_yet & (age < 6 * 3600)] < 0.6, OrderStatus.PLACED.value, OrderStatus.PICKING.value
    )
    status[not_yet & (age >= 6 * 3600)] = np.where(
        open_roll[not_yet & (age >= 6 * 3600)] < 0.3, OrderStatus.PICKING.value, OrderStatus.SHIPPED.value
    )
    cancelled = rng.random(orders) < 0.02
    status[cancelled] = OrderStatus.CANCELLED.value
    delivered = status == OrderStatus.DELIVERED.value
    delivered_at = np.where(delivered, delivered_at, -1)

    # Terms: 月结 accounts settle a month at a time within 60 days, the others each order within 30.
    monthly = rng.random(n) < TYPE_MONTHLY[frame.ctype]
    term = np.where(monthly, MONTHLY_TERM_DAYS, TERM_DAYS)[who]
    due_day = day + term
    # Payers: 80 % on time, 14 % late, 6 % stopped paying at some point (their debt is overdue).
    payer = choice_rows(rng, np.tile([80.0, 14.0, 6.0], (n, 1)))
    stop = np.full(n, np.iinfo(np.int64).max)
    bad = payer == 2
    first_order = np.full(n, ctx.now)
    last_order = np.full(n, -1)
    if orders:
        np.minimum.at(first_order, who, when)
        np.maximum.at(last_order, who, when)
    stop[bad] = last_order[bad] - (rng.random(int(bad.sum())) * 120 * DAY).astype(np.int64)
    stop[bad] = np.maximum(stop[bad], first_order[bad])

    payments, allocations, paid_amount, paid_at = _settle(
        ctx, rng, frame, who, when, day, delivered_at, order_amount, cancelled, monthly, payer, stop
    )
    overdue = (~cancelled) & (paid_amount < order_amount) & (due_day < (ctx.now + LOCAL) // DAY)
    overdue_customers = np.zeros(n, dtype=bool)
    overdue_customers[who[overdue]] = True

    owner = frame.owner[who]
    salesperson = [o or None for o in owner.tolist()]
    ts_when = ctx.ts(when)
    updated = np.maximum(np.maximum(when, delivered_at), paid_at)
    contact_names, mobiles, addresses = frame.contact_names, frame.mobiles, frame.addresses
    who_list = who.tolist()
    order_rows = Rows(
        "sales_order",
        ORDER_COLUMNS,
        [
            np.arange(orders, dtype=np.int64),
            ts_when,
            ctx.ts(updated),
            np.ones(orders, dtype=np.int64),
            [""] * orders,  # numbered by the loader, per day in id order
            frame.ids[who],
            status.tolist(),
            ts_when,
            salesperson,
            ["CNY"] * orders,
            money(subtotal),
            money(order_discount),
            money(order_amount),
            money(order_cost),
            money(paid_amount),
            ctx.dates(due_day),
            ctx.ts(np.where(paid_at > 0, paid_at, -1)),
            [contact_names[i] for i in who_list],
            [mobiles[i] for i in who_list],
            [addresses[i] for i in who_list],
            ctx.ts(delivered_at),
            [NOTES[i] for i in rng.integers(0, len(NOTES), orders).tolist()],
        ],
        refs={"id": "sales_order"},
    )
    line_rows = Rows(
        "sales_orderline",
        LINE_COLUMNS,
        [
            line_order,
            cat.ids[product],
            (milli / 1000).tolist(),
            money(price),
            money(discount),
            money(amount),
        ],
        refs={"order_id": "sales_order"},
    )

    # Timeline: one event per order and per payment, by the customer's owner (titles and payloads
    # are finished by ``finish`` once the numbers are known).
    labels = [ctx.owner_label(o) for o in owner.tolist()]
    category_names = [json.dumps(c) for c in CATEGORIES]  # as JSONField writes them (ASCII-escaped)
    line_category = cat.category[product].tolist()
    bounds = np.append(starts, lines).tolist()
    seen: dict[tuple[int, ...], str] = {}
    order_payloads = []
    for o, (s, a, k) in enumerate(zip(status.tolist(), yuan(order_amount), line_count.tolist(), strict=True)):
        key = tuple(dict.fromkeys(line_category[bounds[o] : bounds[o + 1]]))
        listed = seen.get(key)
        if listed is None:
            listed = seen[key] = "[" + ", ".join(category_names[c] for c in key) + "]"
        order_payloads.append(f'", "amount": "{a}", "status": "{s}", "lines": {k}, "categories": {listed}}}')
    order_events = Rows(
        "activities_timelineevent",
        EVENT_COLUMNS,
        [
            frame.ids[who],
            ["order"] * orders,
            ts_when,
            salesperson,
            labels,
            [ctx.channel] * orders,
            [""] * orders,
            [""] * orders,
            ["sales.order"] * orders,
            np.arange(orders, dtype=np.int64),
            [""] * orders,
            order_payloads,
            ctx.ts(np.full(orders, ctx.now)),
        ],
        refs={"subject_id": "sales_order"},
    )
    pay_who, pay_time, pay_amount, pay_method = payments
    count = len(pay_who)
    pay_owner = frame.owner[pay_who]
    pay_salesperson = [o or None for o in pay_owner.tolist()]
    ts_paid = ctx.ts(pay_time)
    references = _references(rng, pay_method)
    payment_rows = Rows(
        "sales_payment",
        PAYMENT_COLUMNS,
        [
            np.arange(count, dtype=np.int64),
            ts_paid,
            ts_paid,
            np.ones(count, dtype=np.int64),
            [""] * count,
            frame.ids[pay_who],
            money(pay_amount),
            ["CNY"] * count,
            ts_paid,
            [METHODS[m].value for m in pay_method.tolist()],
            references,
            [""] * count,
            pay_salesperson,
        ],
        refs={"id": "sales_payment"},
    )
    alloc_payment, alloc_order, alloc_amount = allocations
    allocation_rows = Rows(
        "sales_paymentallocation",
        ALLOCATION_COLUMNS,
        [alloc_payment, alloc_order, money(alloc_amount)],
        refs={"payment_id": "sales_payment", "order_id": "sales_order"},
    )
    payment_events = Rows(
        "activities_timelineevent",
        EVENT_COLUMNS,
        [
            frame.ids[pay_who],
            ["payment"] * count,
            ts_paid,
            pay_salesperson,
            [ctx.owner_label(o) for o in pay_owner.tolist()],
            [ctx.channel] * count,
            [""] * count,
            [""] * count,
            ["sales.payment"] * count,
            np.arange(count, dtype=np.int64),
            [""] * count,
            [""] * count,
            ctx.ts(np.full(count, ctx.now)),
        ],
        refs={"subject_id": "sales_payment"},
    )
    return SalesChunk(
        orders=order_rows,
        lines=line_rows,
        payments=payment_rows,
        allocations=allocation_rows,
        order_events=order_events,
        payment_events=payment_events,
        order_days=day,
        payment_days=(pay_time + LOCAL) // DAY,
        order_titles=[
            ctx.order_titles[min(k, 6), c].replace("{amount}", a)
            for k, c, a in zip(line_count.tolist(), cancelled.tolist(), money_texts(order_amount), strict=True)
        ],
        payment_titles=[
            ctx.payment_titles[METHODS[m].value].replace("{amount}", a)
            for m, a in zip(pay_method.tolist(), money_texts(pay_amount), strict=True)
        ],
        payment_heads=[
            f'", "amount": "{a}", "method": "{METHODS[m].value}", "orders": ['
            for m, a in zip(pay_method.tolist(), yuan(pay_amount), strict=True)
        ],
        allocation_texts=yuan(alloc_amount),
        order_customer=who,
        order_time=when,
        order_delivered=delivered_at,
        order_cancelled=cancelled,
        order_first_product=product[starts] if lines else np.zeros(0, np.int64),
        overdue_customers=overdue_customers,
        last_order=last_order,
    )


def _settle(
    ctx: HistoryContext,
    rng: np.random.Generator,
    frame: CustomerFrame,
    who: I64,
    when: I64,
    day: I64,
    delivered_at: I64,
    amount: I64,
    cancelled: npt.NDArray[np.bool_],
    monthly: npt.NDArray[np.bool_],
    payer: I64,
    stop: I64,
) -> tuple[tuple[I64, I64, I64, I64], tuple[I64, I64, I64], I64, I64]:
    """Payments (customer, time, amount, method), allocations (payment, order, amount), and per order
    the amount paid and when it was fully paid (-1: not)."""
    orders = len(who)
    paid_amount = np.zeros(orders, dtype=np.int64)
    paid_at = np.full(orders, -1, dtype=np.int64)
    payable = np.flatnonzero(~cancelled & (amount > 0))
    # A settlement: one order, or one customer's month of orders for 月结 accounts.
    month = ((day[payable]).astype("datetime64[D]").astype("datetime64[M]")).astype(np.int64)
    is_monthly = monthly[who[payable]]
    key = who[payable] * (1 << 32) + np.where(is_monthly, month, (1 << 20) + payable)
    groups, group_of = np.unique(key, return_inverse=True)
    g = len(groups)
    order_by_group = np.argsort(group_of, kind="stable")
    members = payable[order_by_group]
    sizes = np.bincount(group_of, minlength=g).astype(np.int64)
    starts = group_starts(sizes)
    g_who = who[members[starts]] if g else np.zeros(0, np.int64)
    g_monthly = monthly[g_who]
    g_total = np.add.reduceat(amount[members], starts) if g else np.zeros(0, np.int64)
    # Due from: the month's end (月结) or the order's delivery (or its time).
    last_member = members[starts + sizes - 1] if g else np.zeros(0, np.int64)
    g_month_end = (
        (
            (month[order_by_group][starts] + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) * DAY
            - LOCAL
            + 10 * 3600
        )
        if g
        else np.zeros(0, np.int64)
    )
    g_base = np.where(g_monthly, g_month_end, np.maximum(delivered_at[last_member], when[last_member]))
    kind = payer[g_who]
    days = np.where(g_monthly, rng.uniform(3, 28, g), rng.uniform(0, 22, g))
    late = kind == 1
    days[late] = np.where(g_monthly[late], rng.uniform(62, 120, int(late.sum())), rng.uniform(35, 90, int(late.sum())))
    individual = frame.ctype[g_who] == TYPE_ORDER.index("个人")
    days[individual & ~late] = rng.uniform(0, 0.05, int((individual & ~late).sum()))  # pays on the spot
    pay_time = g_base + (days * DAY).astype(np.int64)
    hour_fix = ((pay_time + LOCAL) % DAY) / 3600  # banks credit during the day
    pay_time += np.where((hour_fix < 8) | (hour_fix > 20), (10 - hour_fix + 24 * (hour_fix > 20)) * 3600, 0).astype(
        np.int64
    )
    stopped = g_base > stop[g_who]
    settled = (pay_time < ctx.now) & ~stopped
    # Stopped payers often paid part of the first unpaid order.
    first_unpaid = stopped
    if g:
        previous_stopped = np.concatenate([[False], stopped[:-1] & (g_who[1:] == g_who[:-1])])
        first_unpaid = stopped & ~previous_stopped
    partial = first_unpaid & (rng.random(g) < 0.4)
    partial_time = np.minimum(g_base + rng.uniform(10, 40, g) * DAY, ctx.now - 3600).astype(np.int64)
    partial &= partial_time > g_base
    first_member = members[starts] if g else np.zeros(0, np.int64)
    partial_amount = (amount[first_member] * rng.uniform(0.3, 0.7, g) / 100).astype(np.int64) * 100
    partial &= partial_amount > 0

    full_groups = np.flatnonzero(settled)
    part_groups = np.flatnonzero(partial)
    pay_groups = np.concatenate([full_groups, part_groups])
    pay_times = np.concatenate([pay_time[full_groups], partial_time[part_groups]])
    pay_amounts = np.concatenate([g_total[full_groups], partial_amount[part_groups]])
    # In the customer's order, oldest first, as receipts are numbered.
    order = np.lexsort((pay_times, g_who[pay_groups]))
    pay_groups, pay_times, pay_amounts = pay_groups[order], pay_times[order], pay_amounts[order]
    pay_who = g_who[pay_groups]
    method_weights = TYPE_METHODS[frame.ctype[pay_who]]
    pay_method = choice_rows(rng, method_weights)

    # Allocations: a full payment covers each order of its group; a partial one the group's first.
    is_full = settled[pay_groups]
    full_pay = np.flatnonzero(is_full)
    full_sizes = sizes[pay_groups[full_pay]]
    alloc_payment = np.repeat(full_pay, full_sizes)
    alloc_order = members[np.repeat(starts[pay_groups[full_pay]], full_sizes) + rank_in_groups(full_sizes)]
    alloc_amount = amount[alloc_order]
    part_pay = np.flatnonzero(~is_full)
    part_order = first_member[pay_groups[part_pay]]
    alloc_payment = np.concatenate([alloc_payment, part_pay])
    alloc_order = np.concatenate([alloc_order, part_order])
    alloc_amount = np.concatenate([alloc_amount, pay_amounts[part_pay]])
    np.add.at(paid_amount, alloc_order, alloc_amount)
    fully = alloc_order[: len(alloc_order) - len(part_pay)]
    paid_at[fully] = pay_times[alloc_payment[: len(fully)]]
    sort = np.lexsort((alloc_order, alloc_payment))
    return (
        (pay_who, pay_times, pay_amounts, pay_method),
        (alloc_payment[sort], alloc_order[sort], alloc_amount[sort]),
        paid_amount,
        paid_at,
    )


def _references(rng: np.random.Generator, method: I64) -> list[str]:
    digits = rng.integers(10**15, 10**16, len(method)).tolist()
    out = []
    for m, d in zip(method.tolist(), digits, strict=True):
        if m == 0:
            out.append(f"网银{d}")
        elif m in (1, 2):
            out.append(f"{4200 if m == 1 else 2088}{d}{d % 10**8:08d}")
        elif m == 4:
            out.append(f"票号{d % 10**8:08d}")
        else:
            out.append("")
    return out


def finish(chunk: SalesChunk, ctx: HistoryContext, counters: dict[str, I64], first_ids: dict[str, int]) -> None:
    """Number the chunk's orders and receipts (``SO20261123-0001``: per local day in id order, after
    ``counters``, the last number per day since ctx.day0, which are moved on) and write the numbers
    into their timeline titles and payloads (a payment's payload lists the orders it paid)."""
    numbers = {}
    for rows, days, prefix in (
        (chunk.orders, chunk.order_days, ORDER_PREFIX),
        (chunk.payments, chunk.payment_days, RECEIPT_PREFIX),
    ):
        last = counters.setdefault(prefix, np.zeros(len(ctx.busy) + 2, dtype=np.int64))
        offset = days - ctx.day0
        order = np.argsort(offset, kind="stable")
        sizes = np.bincount(offset, minlength=len(last)).astype(np.int64)
        rank = np.empty(len(days), dtype=np.int64)
        rank[order] = rank_in_groups(sizes[sizes > 0])
        sequence = last[offset] + rank + 1
        last += sizes
        stamps = ctx.dates(days)
        numbers[prefix] = [
            f"{prefix}{d[:4]}{d[5:7]}{d[8:]}-{s:04d}" for d, s in zip(stamps, sequence.tolist(), strict=True)
        ]
        rows.values[rows.columns.index("number")] = numbers[prefix]
    order_numbers, receipt_numbers = numbers[ORDER_PREFIX], numbers[RECEIPT_PREFIX]
    events = chunk.order_events
    title, payload = events.columns.index("title"), events.columns.index("payload")
    events.values[title] = [t.replace("{number}", n) for t, n in zip(chunk.order_titles, order_numbers, strict=True)]
    events.values[payload] = [
        f'{{"number": "{n}{tail}' for n, tail in zip(order_numbers, events.values[payload], strict=True)
    ]
    # Payments: the orders each one paid, in allocation order.
    first_order = first_ids["sales_order"]
    paid: list[list[str]] = [[] for _n in receipt_numbers]
    values = chunk.allocations.values
    payment_of, order_of = (np.asarray(v).tolist() for v in values[:2])
    for p, o, a in zip(payment_of, order_of, chunk.allocation_texts, strict=True):
        paid[p].append(f'{{"id": {o + first_order}, "number": "{order_numbers[o]}", "amount": "{a}"}}')
    events = chunk.payment_events
    events.values[title] = [
        t.replace("{number}", n) for t, n in zip(chunk.payment_titles, receipt_numbers, strict=True)
    ]
    events.values[payload] = [
        f'{{"number": "{n}{head}{", ".join(orders)}]}}'
        for n, head, orders in zip(receipt_numbers, chunk.payment_heads, paid, strict=True)
    ]
