"""The demo company's contact with its customers: calls, visits, WeChat summaries, notes, meetings,
emails and a few complaints, generated column-wise for the bulk loader in ``pearl.customers.demo``.

Communications cluster around the orders of ``pearl.sales.demo`` (a call or WeChat message to
confirm an order, visits before the festivals), prospects get sales calls and visits, customers
who owe overdue money get collection calls with a follow-up date, and some recent communications
carry the next follow-up. About 4 % of buying customers complained once, a few several times
within a month; old complaints are resolved or closed, recent ones still open or in progress.
Timeline rows are what ``communication_event`` and ``complaint_event`` write.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np

from pearl.activities.services.communications import FOLLOW_UP_HOUR, PAYLOAD_SUMMARY_CHARS
from pearl.core.text import clean_spaces
from pearl.sales.demo import (
    DAY,
    EVENT_COLUMNS,
    I64,
    LOCAL,
    PROSPECT,
    TYPE_ORDER,
    CustomerFrame,
    HistoryContext,
    Rows,
    SalesChunk,
    choice_rows,
    group_starts,
)

COMMUNICATION_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "version",
    "customer_id",
    "contact_id",
    "kind",
    "occurred_at",
    "author_id",
    "purpose",
    "place",
    "outcome",
    "summary",
    "duration_minutes",
    "next_follow_up_at",
)
COMPLAINT_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "version",
    "customer_id",
    "contact_id",
    "kind",
    "category",
    "title",
    "description",
    "status",
    "received_at",
    "resolved_at",
    "resolution",
    "order_id",
    "handler_id",
)

KINDS = ("call", "wechat", "visit", "note", "meeting", "email")
KIND_WEIGHTS = np.array([40.0, 35.0, 17.0, 4.0, 2.0, 2.0])
OUTCOMES = ("reached", "interested", "ordered", "no_answer", "not_now", "issue")
_CALL, _WECHAT, _VISIT, _NOTE, _MEETING, _EMAIL = range(6)

# (kinds it suits, weight, purpose, outcome weights, summaries with {p} for a product name)
TOPICS: list[tuple[tuple[int, ...], float, str, tuple[float, ...], tuple[str, ...]]] = [
    (
        (_CALL, _WECHAT),
        5,
        "订货确认",
        (2, 0, 8, 1, 0, 0),
        (
            "确认明早配送的{p}数量和规格，客户要求7点前到店。",
            "客户微信发来订单，{p}按上次规格，已安排配货。",
            "核对订单：{p}改为大规格，其余不变，下午出车。",
        ),
    ),
    (
        (_CALL, _WECHAT),
        3,
        "报价",
        (3, 4, 2, 1, 2, 0),
        (
            "客户询问{p}本周价格，已按价目表报价，客户考虑后回复。",
            "发了最新价目表，客户对{p}的价格比较关注，嫌贵了一点。",
            "报{p}到店价，客户说比隔壁档口便宜就先订一批试试。",
        ),
    ),
    (
        (_CALL, _WECHAT, _VISIT),
        3,
        "客情回访",
        (6, 2, 1, 2, 2, 1),
        (
            "回访上批{p}的品质，客户反映整体满意，个别规格偏小。",
            "例行回访，老板最近生意一般，采购量会减少一些。",
            "客户对送货速度满意，希望{p}能长期稳定供应。",
        ),
    ),
    (
        (_VISIT, _MEETING),
        2,
        "新品推介",
        (3, 5, 2, 0, 2, 0),
        (
            "带{p}样品上门，厨师长试菜后反馈不错，准备加入菜单。",
            "介绍新到的{p}，客户有兴趣，约下周再谈量和价格。",
            "推介{p}，客户暂时不需要，留了价目表。",
        ),
    ),
    (
        (_VISIT, _CALL, _MEETING),
        2,
        "年货备货洽谈",
        (2, 5, 4, 0, 1, 0),
        (
            "商谈春节前备货计划，客户预计{p}用量比去年多三成。",
            "年货订单初步确定，{p}分三批送，节前一周送完。",
        ),
    ),
    (
        (_CALL, _WECHAT, _VISIT, _EMAIL),
        2,
        "对账",
        (7, 0, 0, 1, 1, 2),
        (
            "核对上月对账单，金额一致，财务本周安排付款。",
            "对账发现一张签收单缺失，已补拍照片发给客户财务。",
            "发送月结对账单，客户确认无误。",
        ),
    ),
    (
        (_WECHAT, _NOTE),
        2,
        "微信沟通",
        (5, 2, 2, 0, 1, 0),
        (
            "客户在微信上问{p}今天有没有到货，已回复并发了实拍视频。",
            "客户发来菜单调整，以后{p}用量会增加。",
            "客户朋友圈在推{p}套餐，可以跟进加大供货。",
        ),
    ),
    (
        (_NOTE,),
        1,
        "备注",
        (5, 0, 0, 0, 0, 0),
        (
            "老客户介绍过来的，注意维护。",
            "客户只收现金，送货时带好收据。",
            "客户后门卸货，早上6点前有人收货。",
        ),
    ),
    (
        (_MEETING, _EMAIL),
        1,
        "年度供货合同",
        (3, 4, 2, 0, 1, 0),
        (
            "讨论明年供货合同，客户希望{p}锁价半年。",
            "发送年度供货框架协议草稿，等待客户法务回复。",
        ),
    ),
]
COLLECTION: tuple[str, tuple[str, ...]] = (
    "催收货款",
    (
        "提醒客户有逾期货款未付，对方答应月底前付清。",
        "财务说老板出差，下周回来再安排付款。",
        "客户资金紧张，申请分两次付款，已报经理。",
        "电话未接通，已发微信提醒付款。",
    ),
)
PROSPECTING: tuple[str, tuple[str, ...]] = (
    "开发新客户",
    (
        "初次拜访，介绍公司主营品类，客户目前在别家拿货，留了联系方式。",
        "电话联系采购，对方对{p}感兴趣，约了下周上门送样。",
        "客户愿意先试一单{p}，看看品质再说。",
    ),
)
MEETING_PLACES = ("鑫海水产 黄沙门店会议室", "客户公司会议室", "茶楼")

# Complaints: (category, kind, title, description with {p}, resolution with {p})
COMPLAINTS: list[tuple[str, str, str, str, str]] = [
    (
        "quality",
        "complaint",
        "到货海鲜有死货",
        "今早到货的{p}约有三成不新鲜，要求退换。",
        "已补发同等数量的{p}，并在当单货款中扣减。",
    ),
    ("quality", "complaint", "规格与订单不符", "订的是大规格{p}，到货明显偏小。", "核实后按小规格价格结算，差价已退。"),
    ("quality", "complaint", "冻品解冻后有异味", "{p}解冻后有异味，不敢给客人上。", "整箱退货，已安排质检追查批次。"),
    (
        "delivery",
        "complaint",
        "送货迟到",
        "约定7点前送到，实际9点半才到，影响午市备货。",
        "已调整配送路线，该客户改为首批配送。",
    ),
    ("delivery", "complaint", "少送了货", "签收时发现{p}少了一箱。", "当天下午补送，司机已批评教育。"),
    (
        "price",
        "complaint",
        "对账金额不符",
        "月结对账单比实际收货多算了一笔{p}的钱。",
        "核对签收单后已更正对账单并重开发票。",
    ),
    ("price", "complaint", "价格比上周贵", "{p}一周内涨价两次，没有提前通知。", "解释了产地涨价原因，本月按原价执行。"),
    (
        "service",
        "complaint",
        "业务员回复慢",
        "下午下单微信一直没人回复，耽误了备货。",
        "已安排同组同事轮值，两小时内必须回复。",
    ),
    ("other", "complaint", "发票迟迟未开", "上月的增值税发票还没收到。", "已加急开具并快递寄出。"),
    ("other", "feedback", "建议增加小包装", "希望{p}有5斤装的小包装，方便门店零售。", "已反馈采购部评估，下季度试行。"),
    ("service", "feedback", "希望提前通知涨价", "涨价最好提前三天在群里通知。", "已建立客户通知群，调价提前公告。"),
    ("delivery", "feedback", "表扬送货师傅", "送货师傅很负责，帮忙把{p}搬进冷库。", "已转达并表扬。"),
]
COMPLAINT_CATEGORY_WEIGHTS = np.array([14.0, 9, 6, 9, 6, 6, 5, 4, 3, 4, 2, 2])


@dataclass
class ActivitiesChunk:
    communications: Rows
    complaints: Rows
    communication_events: Rows
    complaint_events: Rows


def _shorten(text: str, limit: int) -> str:
    """As the communications service shortens a summary for its timeline entry."""
    text = clean_spaces(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _iso(seconds: int) -> str:
    """``isoformat()`` of the aware UTC datetime the database gives back."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def activities_for(ctx: HistoryContext, frame: CustomerFrame, sales: SalesChunk, chunk: int) -> ActivitiesChunk:
    """Communications and complaints of one chunk of customers, with their timeline events."""
    rng = np.random.default_rng([ctx.seed, 7_002, chunk])
    n = len(frame)
    orders = np.bincount(sales.order_customer, minlength=n).astype(np.int64)
    order_start = group_starts(orders)
    prospect = frame.status == PROSPECT
    individual = frame.ctype == TYPE_ORDER.index("个人")

    # How many: prospects are being courted, buyers hear from their salesperson now and then.
    count = rng.poisson(0.8 + 0.3 * np.minimum(orders, 40))
    count[prospect] = 1 + rng.poisson(1.2, int(prospect.sum()))
    who = np.repeat(np.arange(n, dtype=np.int64), count)
    total = len(who)
    # When: around one of the customer's orders, or any time since it was created.
    end = np.where(sales.last_order >= 0, np.minimum(sales.last_order + 60 * DAY, ctx.now), ctx.now)
    end[frame.status <= PROSPECT] = ctx.now  # active and prospects: up to today
    start = frame.created[who]
    when = start + (rng.random(total) * np.maximum(end[who] - start, 3600)).astype(np.int64)
    has_orders = orders[who] > 0
    near = has_orders & (rng.random(total) < 0.45)
    pick = order_start[who] + (rng.random(total) * np.maximum(orders[who], 1)).astype(np.int64)
    pick = np.minimum(pick, max(len(sales.order_time) - 1, 0))
    if len(sales.order_time):
        when = np.where(near, sales.order_time[pick] - rng.integers(1800, 2 * DAY, total), when)
    kind = choice_rows(rng, np.tile(KIND_WEIGHTS, (total, 1)))
    kind[individual[who] & ((kind == _VISIT) | (kind == _MEETING))] = _CALL
    kind[near & (kind != _CALL)] = _WECHAT  # an order is confirmed by phone or WeChat
    topic_weights = np.array([[w if k in kinds else 0.0 for kinds, w, *_rest in TOPICS] for k in range(len(KINDS))])
    topic = choice_rows(rng, topic_weights[kind])
    topic[near] = 0  # 订货确认

    # Collection calls to customers with overdue money, within the last 45 days.
    debtors = np.flatnonzero(sales.overdue_customers)
    chase = 1 + rng.poisson(0.8, len(debtors))
    chase_who = np.repeat(debtors, chase)
    chase_when = ctx.now - rng.integers(3600, 45 * DAY, len(chase_who))
    chase_kind = np.where(
        rng.random(len(chase_who)) < 0.7, _CALL, np.where(rng.random(len(chase_who)) < 0.7, _WECHAT, _VISIT)
    )

    who = np.concatenate([who, chase_who])
    when = np.concatenate([when, chase_when])
    kind = np.concatenate([kind, chase_kind])
    special = np.concatenate([np.where(prospect[who[:total]] & ~has_orders, 2, 0), np.ones(len(chase_who))])
    topic = np.concatenate([topic, np.zeros(len(chase_who), dtype=np.int64)])
    # Working hours, local time.
    when = ((when + LOCAL) // DAY) * DAY - LOCAL + rng.integers(int(8.5 * 3600), int(20.5 * 3600), len(when))
    when = np.clip(when, frame.created[who] + 60, ctx.now - 60)
    # In the customer's order, by time.
    order = np.lexsort((when, who))
    who, when, kind, special, topic = who[order], when[order], kind[order], special[order], topic[order]
    total = len(who)

    # Follow-ups: on some of the last month's communications, due within two weeks (some slipped).
    recent = when > ctx.now - 30 * DAY
    follow = (recent & (rng.random(total) < 0.4)) | ((special == 1) & (rng.random(total) < 0.8))
    follow_day = (ctx.now + LOCAL) // DAY + rng.integers(-5, 15, total)
    follow_at = np.where(follow, follow_day * DAY - LOCAL + FOLLOW_UP_HOUR * 3600, -1)
    follow_at = np.where(follow & (follow_at <= when), when + rng.integers(1, 8, total) * DAY, follow_at)

    products = ctx.catalogue.names
    favourite = sales.order_first_product
    product_of = [
        products[int(favourite[order_start[c] + r % orders[c]])] if orders[c] else products[r % len(products)]
        for c, r in zip(who.tolist(), rng.integers(0, 1 << 30, total).tolist(), strict=True)
    ]
    roll = rng.integers(0, 1 << 30, total).tolist()
    outcome_roll = rng.random(total)
    duration = np.select(
        [kind == _CALL, kind == _VISIT, kind == _MEETING],
        [rng.integers(1, 13, total), rng.integers(20, 91, total), rng.integers(30, 121, total)],
        0,
    )
    purposes, summaries, outcomes, places = [], [], [], []
    outcome_cum = [np.cumsum(t[3]) / sum(t[3]) for t in TOPICS]
    for i, (c, k, sp, t) in enumerate(zip(who.tolist(), kind.tolist(), special.tolist(), topic.tolist(), strict=True)):
        product = product_of[i]
        if sp == 1:
            purpose, texts = COLLECTION
            outcome = ("reached", "not_now", "no_answer")[roll[i] % 3]
        elif sp == 2:
            purpose, texts = PROSPECTING
            outcome = ("interested", "not_now", "reached", "no_answer")[roll[i] % 4]
        else:
            _kinds, _w, purpose, _weights, texts = TOPICS[t]
            outcome = OUTCOMES[int(np.searchsorted(outcome_cum[t], outcome_roll[i]))]
        if outcome == "no_answer" and k != _CALL:
            outcome = "reached"
        purposes.append(purpose)
        summaries.append(texts[roll[i] % len(texts)].format(p=product))
        outcomes.append(outcome)
        if k == _VISIT:
            places.append(frame.addresses[c])
        elif k == _MEETING:
            places.append(MEETING_PLACES[roll[i] % len(MEETING_PLACES)])
        else:
            places.append("")
    author = frame.owner[who]
    authors = [a or None for a in author.tolist()]
    contact = frame.contact[who]
    contacts = [x or None for x in contact.tolist()]
    ts_when = ctx.ts(when)
    kinds = [KINDS[k] for k in kind.tolist()]
    durations = [d or None for d in duration.tolist()]
    communications = Rows(
        "activities_communication",
        COMMUNICATION_COLUMNS,
        [
            np.arange(total, dtype=np.int64),
            ts_when,
            ts_when,
            np.ones(total, dtype=np.int64),
            frame.ids[who],
            contacts,
            kinds,
            ts_when,
            authors,
            purposes,
            places,
            outcomes,
            summaries,
            durations,
            ctx.ts(follow_at),
        ],
        refs={"id": "activities_communication"},
    )
    # The payload as communication_event gives it and JSONField writes it (json.dumps), from parts.
    quoted: dict[str, str] = {}
    summary_json = [
        quoted.get(x) or quoted.setdefault(x, json.dumps(_shorten(x, PAYLOAD_SUMMARY_CHARS))) for x in summaries
    ]
    place_json = [quoted.get(x) or quoted.setdefault(x, json.dumps(x)) for x in places]
    contact_json = [json.dumps(name) for name in frame.contact_names]
    empty, null = json.dumps(""), json.dumps(None)
    payloads = [
        f'{{"outcome": "{o}", "summary": {s}, "place": {p}, "contact": {contact_json[c] if x else empty}, '
        f'"next_follow_up_at": {null if f < 0 else json.dumps(_iso(f))}, "photos": 0}}'
        for o, s, p, c, x, f in zip(
            outcomes, summary_json, place_json, who.tolist(), contacts, follow_at.tolist(), strict=True
        )
    ]
    labels = [ctx.owner_label(a) for a in author.tolist()]
    communication_events = Rows(
        "activities_timelineevent",
        EVENT_COLUMNS,
        [
            frame.ids[who],
            kinds,
            ts_when,
            authors,
            labels,
            [ctx.channel] * total,
            [""] * total,
            [""] * total,
            ["activities.communication"] * total,
            np.arange(total, dtype=np.int64),
            purposes,
            payloads,
            ctx.ts(np.full(total, ctx.now)),
        ],
        refs={"subject_id": "activities_communication"},
    )
    complaints, complaint_events = _complaints(ctx, frame, sales, rng, orders, order_start)
    return ActivitiesChunk(communications, complaints, communication_events, complaint_events)


def _complaints(
    ctx: HistoryContext,
    frame: CustomerFrame,
    sales: SalesChunk,
    rng: np.random.Generator,
    orders: I64,
    order_start: I64,
) -> tuple[Rows, Rows]:
    buyers = np.flatnonzero(orders > 0)
    complaining = buyers[rng.random(len(buyers)) < 0.04]
    # A few complain several times within a month (the 近期多次投诉 tag).
    repeat = 1 + np.where(rng.random(len(complaining)) < 0.15, rng.integers(1, 3, len(complaining)), 0)
    who = np.repeat(complaining, repeat)
    total = len(who)
    first = np.repeat(group_starts(repeat), repeat)
    nth = np.arange(total) - first
    # About one of their orders: a random one, the repeats about the following ones.
    base = order_start[who] + (rng.random(total) * orders[who]).astype(np.int64)
    base = np.repeat(base[first], 1) if total else base
    order_index = np.minimum(base + nth, order_start[who] + orders[who] - 1)
    delivered = sales.order_delivered[order_index] if total else np.zeros(0, np.int64)
    moment = np.where(delivered > 0, delivered, sales.order_time[order_index] if total else delivered)
    received = np.minimum(
        moment + rng.integers(3600, 2 * DAY, total) + nth * rng.integers(DAY, 10 * DAY, total), ctx.now - 600
    )
    received = np.maximum(received, frame.created[who] + 60)
    template = choice_rows(rng, np.tile(COMPLAINT_CATEGORY_WEIGHTS, (total, 1)))
    age = ctx.now - received
    status_roll = rng.random(total)
    old = age > 30 * DAY
    status = np.where(
        old,
        np.where(status_roll < 0.6, "closed", np.where(status_roll < 0.95, "resolved", "open")),
        np.where(
            status_roll < 0.35,
            "open",
            np.where(status_roll < 0.7, "in_progress", np.where(status_roll < 0.95, "resolved", "closed")),
        ),
    )
    done = (status == "resolved") | (status == "closed")
    resolved = np.where(done, np.minimum(received + rng.integers(2 * 3600, 6 * DAY, total), ctx.now - 60), -1)
    handler = np.where((rng.random(total) < 0.3) & (ctx.manager is not None), ctx.manager or 0, frame.owner[who])
    handlers = [h or None for h in handler.tolist()]
    products = ctx.catalogue.names
    product = [products[int(sales.order_first_product[o])] for o in order_index.tolist()]
    titles, descriptions, resolutions, kinds, categories = [], [], [], [], []
    for t, p, d in zip(template.tolist(), product, done.tolist(), strict=True):
        category, kind, title, description, resolution = COMPLAINTS[t]
        titles.append(title)
        descriptions.append(description.format(p=p))
        resolutions.append(resolution.format(p=p) if d else "")
        kinds.append(kind)
        categories.append(category)
    order_ids = np.where(rng.random(total) < 0.85, order_index, -1) if total else order_index
    ts_received = ctx.ts(received)
    contacts = [x or None for x in frame.contact[who].tolist()]
    statuses = status.tolist()
    complaints = Rows(
        "activities_complaint",
        COMPLAINT_COLUMNS,
        [
            np.arange(total, dtype=np.int64),
            ts_received,
            ctx.ts(np.maximum(received, resolved)),
            np.ones(total, dtype=np.int64),
            frame.ids[who],
            contacts,
            kinds,
            categories,
            titles,
            descriptions,
            statuses,
            ts_received,
            ctx.ts(resolved),
            resolutions,
            order_ids,
            handlers,
        ],
        refs={"id": "activities_complaint", "order_id": "sales_order"},
        nullable_refs=frozenset({"order_id"}),
    )
    events = Rows(
        "activities_timelineevent",
        EVENT_COLUMNS,
        [
            frame.ids[who],
            ["complaint"] * total,
            ts_received,
            handlers,
            [ctx.owner_label(h) for h in handler.tolist()],
            [ctx.channel] * total,
            [""] * total,
            [""] * total,
            ["activities.complaint"] * total,
            np.arange(total, dtype=np.int64),
            titles,
            [
                f'{{"status": "{s}", "category": "{c}", "kind": "{k}"}}'
                for s, c, k in zip(statuses, categories, kinds, strict=True)
            ],
            ctx.ts(np.full(total, ctx.now)),
        ],
        refs={"subject_id": "activities_complaint"},
    )
    return complaints, events
