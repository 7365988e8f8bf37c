"""`pearl demo`: the demo company is complete, scoped, searchable and the same for the same seed."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from pearl.accounts.models import Team, User
from pearl.activities.models import Communication, Complaint, TimelineEvent
from pearl.core.context import Channel, acting_through
from pearl.core.models import ChangeLog
from pearl.core.phones import normalize_phone
from pearl.core.testing.personas import Org
from pearl.customers import demo
from pearl.customers.choices import CustomerKind, IdentityKind
from pearl.customers.models import (
    ChoiceOption,
    Contact,
    Customer,
    CustomerSearchToken,
    CustomFieldDefinition,
    Identity,
    Tag,
)
from pearl.customers.search import customer_document, fast_syllables
from pearl.customers.selectors import customer_list
from pearl.customers.tests.factories import make_customer
from pearl.sales.models import Order, OrderLine, Payment, PaymentAllocation, PriceList, Product


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def loaded(db: None) -> str:
    return run_demo("--customers", "200", "--no-serve", "--seed", "3")


def test_builds_users_teams_and_customers_of_every_type(loaded: str) -> None:
    users = {u.username: u for u in User.objects.select_related("role", "team")}
    assert {n: (u.role.name, u.team.name) for n, u in users.items() if u.role and u.team} == {
        "admin": ("admin", "鑫海水产"), "manager": ("manager", "华南大区"),
        "sales1": ("sales", "销售一组"), "sales2": ("sales", "销售二组"),
    }
    assert users["sales1"].check_password(demo.PASSWORD)
    assert demo.PASSWORD in loaded and "sales1" in loaded
    assert Team.objects.get(name="销售一组").parent == Team.objects.get(name="华南大区")
    assert Customer.objects.count() == 200
    types = set(Customer.objects.values_list("customer_type__label", flat=True))
    assert types == set(ChoiceOption.objects.filter(list_name="customer_type").values_list("label", flat=True))
    assert Customer.objects.filter(province="广东省", city="广州市", district="天河区").exists()
    assert Customer.objects.exclude(province="广东省").exists()
    assert set(Customer.objects.values_list("grade", flat=True)) == {"A", "B", "C", ""}
    assert Tag.objects.count() == len(demo.TAGS) and Customer.objects.filter(tags__isnull=False).exists()
    assert CustomFieldDefinition.objects.count() == 3
    assert Customer.objects.filter(custom_fields__has_key="categories").exists()


def test_every_customer_has_primary_contact_identities_and_an_owner_in_its_team(loaded: str) -> None:
    sales = set(User.objects.filter(role__name="sales").values_list("pk", flat=True))
    # A handful were given back to the public pool by their owners: nobody owns those.
    assert not Customer.objects.filter(owner__isnull=True).exclude(pool_entry__isnull=False).exists()
    for customer in Customer.objects.filter(pool_entry__isnull=True).annotate(
        n=Count("contacts"), primaries=Count("contacts", filter=Q(contacts__is_primary=True))
    ).select_related("owner"):
        assert 1 <= customer.n <= 3
        assert customer.primaries == 1
        assert customer.owner is not None and customer.owner_id in sales
        assert customer.team_id == customer.owner.team_id
        if customer.kind == CustomerKind.COMPANY:
            assert customer.name and customer.short_name
    mobiles = list(Contact.objects.values_list("mobile", flat=True))
    assert all(normalize_phone(m) == m and len(m) == 11 for m in mobiles)
    assert len(set(mobiles)) == len(mobiles)
    assert Identity.objects.filter(kind=IdentityKind.MOBILE).count() == len(mobiles)
    assert not Contact.objects.exclude(
        mobile__in=Identity.objects.filter(kind=IdentityKind.MOBILE).values("value")).exists()


def test_search_documents_are_exactly_what_the_services_write(loaded: str) -> None:
    for customer in Customer.objects.prefetch_related("contacts")[:200]:
        tokens, blob, pinyin = customer_document(customer)
        stored = set(CustomerSearchToken.objects.filter(customer=customer).values_list("token", flat=True))
        assert (stored, customer.search_blob, customer.name_pinyin) == (tokens, blob, pinyin), customer.name


def test_history_has_a_create_row_per_customer_and_contact(loaded: str) -> None:
    assert ChangeLog.objects.filter(object_type="customers.customer", action="create", channel="command").count() \
        == 200
    assert ChangeLog.objects.filter(object_type="customers.contact").count() == Contact.objects.count()
    row = ChangeLog.objects.filter(object_type="customers.customer", action="create").first()
    assert row is not None and row.changes["name"][1] == Customer.objects.get(pk=row.object_id).name


def test_scopes_sales_see_their_own_manager_sees_the_teams(loaded: str) -> None:
    sales1, sales2, manager = (User.objects.get(username=n) for n in ("sales1", "sales2", "manager"))
    mine = set(customer_list(actor=sales1, filters={}).values_list("pk", flat=True))
    assert mine == set(Customer.objects.filter(owner=sales1).values_list("pk", flat=True))
    assert 0 < len(mine) < 200
    assert not mine & set(customer_list(actor=sales2, filters={}).values_list("pk", flat=True))
    pooled = Customer.objects.filter(owner__isnull=True).count()  # given back to the public pool: nobody's
    assert customer_list(actor=manager, filters={}).count() == 200 - pooled


def test_a_generated_contacts_phone_tail_and_name_find_its_customer(loaded: str) -> None:
    admin, sales1 = User.objects.get(username="admin"), User.objects.get(username="sales1")
    contact = Contact.objects.filter(customer__owner=sales1).select_related("customer").last()
    assert contact is not None
    assert contact.customer in customer_list(actor=admin, filters={"q": contact.mobile[-4:]})
    assert contact.customer in customer_list(actor=sales1, filters={"q": contact.mobile})
    assert contact.customer in customer_list(actor=admin, filters={"q": contact.name})
    assert contact.customer not in customer_list(actor=User.objects.get(username="sales2"),
                                                 filters={"q": contact.mobile})


def _snapshot() -> list[tuple[Any, ...]]:
    return [
        (c.name, c.short_name, c.city, c.district, c.grade, c.status, c.owner and c.owner.username,
         tuple(c.contacts.values_list("name", "mobile")))
        for c in Customer.objects.select_related("owner").order_by("id")
    ]


def _build(seed: int) -> list[tuple[Any, ...]]:
    with transaction.atomic():
        demo.build_demo(customers=40, seed=seed)
        snap = _snapshot()
        transaction.set_rollback(True)
    return snap


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_company() -> None:
    first, again, other = _build(7), _build(7), _build(8)
    assert len(first) == 40
    assert first == again
    assert first != other


def test_fast_pinyin_is_exactly_pypinyin() -> None:
    from pearl.core.text import pinyin_syllables

    for text in ["广州鑫海海鲜酒楼有限公司", "重庆长乐食府", "番禺区张记水产", "厦门银行ABC店", "长沙和平路"]:
        assert fast_syllables(text) == pinyin_syllables(text)


def test_a_second_run_keeps_the_data_and_does_not_duplicate(loaded: str) -> None:
    counts = [m.objects.count() for m in (Order, OrderLine, Payment, Communication, Complaint, TimelineEvent, Product,
                                          PriceList)]
    assert all(counts)
    output = run_demo("--customers", "50", "--no-serve")
    assert Customer.objects.count() == 200
    assert "sales1" in output
    assert [m.objects.count() for m in (Order, OrderLine, Payment, Communication, Complaint, TimelineEvent, Product,
                                        PriceList)] == counts


def test_a_demo_loaded_without_history_gets_it_on_the_next_run_once(db: None) -> None:
    run_demo("--customers", "40", "--no-serve", "--no-history")
    assert Customer.objects.count() == 40 and not Order.objects.exists() and not Product.objects.exists()
    run_demo("--no-serve")
    orders, events = Order.objects.count(), TimelineEvent.objects.count()
    assert orders > 0 and events > orders and Customer.objects.count() == 40
    run_demo("--no-serve")
    assert (Order.objects.count(), TimelineEvent.objects.count()) == (orders, events)


def test_the_command_computes_the_customers_figures(loaded: str) -> None:
    analytics = pytest.importorskip("pearl.analytics.services")
    if not hasattr(analytics, "figures_rebuild"):
        pytest.skip("no figures_rebuild yet")
    from pearl.analytics.models import CustomerFigures

    assert CustomerFigures.objects.count() == Customer.objects.count()
    buyer = Order.objects.exclude(status="cancelled").values_list("customer_id", flat=True).first()
    assert buyer is not None
    figures = CustomerFigures.objects.get(customer_id=buyer)
    assert figures.order_count == Order.objects.filter(customer_id=buyer).exclude(status="cancelled").count()


def test_refuses_a_database_with_other_users_of_those_names(db: None) -> None:
    User.objects.create_user("admin", password="x-long-password")
    with pytest.raises(CommandError, match="admin"):
        run_demo("--customers", "5", "--no-serve")
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "20000000"])
def test_bad_customer_counts_are_refused(db: None, value: str) -> None:
    with pytest.raises(CommandError, match="--customers"):
        run_demo("--customers", value, "--no-serve")
    assert not User.objects.exists()


def test_bad_seed_is_refused(db: None) -> None:
    with pytest.raises(CommandError, match="--seed"):
        run_demo("--seed", "x", "--no-serve")


def test_serves_after_loading_unless_told_not_to(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr("pearl.customers.management.commands.demo.call_command",
                        lambda *a, **kw: calls.append((a, kw)))
    run_demo("--customers", "3", "--port", "8123")
    assert calls == [(("serve",), {"host": "127.0.0.1", "port": "8123"})]


def _index_sql() -> set[str]:
    from django.db import connection

    tables = ["customers_customer", "customers_customersearchtoken", "customers_contact"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           "AND tbl_name IN (%s, %s, %s)", tables)
        return {row[0] for row in cursor.fetchall()}


def test_big_loads_drop_plain_indexes_and_build_them_again(org: Org) -> None:
    before = _index_sql()
    writer = demo._Writer()
    # Inside one transaction (a load up to ATOMIC_LIMIT), with rows written meanwhile: on PostgreSQL
    # their deferred foreign-key checks are pending when the indexes are built again.
    with transaction.atomic(), writer.without_secondary_indexes():
        during = _index_sql()
        make_customer(org.owner, name="广州鑫海海鲜酒楼有限公司")
    assert during < before
    assert not any("customer_owner_idx" in sql for sql in during)
    assert any("UNIQUE" in sql.upper() for sql in during)  # unique keys keep checking every row
    assert _index_sql() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the migrations' choice lists
@pytest.mark.parametrize("atomic_limit", [100, 10])
def test_tokens_staged_for_a_big_load_are_the_ones_the_services_write(
    monkeypatch: pytest.MonkeyPatch, atomic_limit: int
) -> None:
    # Big SQLite loads pass the tokens through a temporary table and insert them sorted at the end;
    # a threshold of 0 sends this small load the same way (PostgreSQL always COPYs them directly).
    monkeypatch.setattr(demo, "STAGE_TOKENS_ABOVE", 0)
    monkeypatch.setattr(demo, "BATCH", 10)  # several batches, and the big-load connection settings
    monkeypatch.setattr(demo, "COMMIT_EVERY", 10)
    # 100: all in one transaction; 10: committed batch by batch, as a million customers are.
    monkeypatch.setattr(demo, "ATOMIC_LIMIT", atomic_limit)
    result = demo.build_demo(customers=30, seed=5)
    assert result.tokens == CustomerSearchToken.objects.count() > 0
    for customer in Customer.objects.prefetch_related("contacts"):
        tokens, _blob, _pinyin = customer_document(customer)
        stored = set(CustomerSearchToken.objects.filter(customer=customer).values_list("token", flat=True))
        assert stored == tokens, customer.name
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_temp_master WHERE name = %s", [demo._TokenStage.TABLE])
            assert cursor.fetchone() == (0,)


def _trade_index_sql() -> set[str]:
    tables = list(demo._trade_models())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
            found = {row[0] for row in cursor.fetchall()}
            cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = "
                           "ANY(%s)", [tables])
            return found | {f"fk {row[0]}" for row in cursor.fetchall()}
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ("
                       + ", ".join(["%s"] * len(tables)) + ")", tables)
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_big_history_loads_drop_the_plain_indexes_of_its_tables_and_build_them_again() -> None:
    before = _trade_index_sql()
    tables = list(demo._trade_models())
    with demo.without_secondary_indexes(tables, dict.fromkeys(tables, ("f",))):
        during = _trade_index_sql()
    assert during < before
    assert not any("timeline_customer_idx" in sql or "order_customer_idx" in sql for sql in during)
    assert any("UNIQUE" in sql.upper() for sql in during)
    assert not any(sql.startswith("fk ") for sql in during)
    assert _trade_index_sql() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the migrations' choice lists
def test_a_big_history_load_in_worker_processes_is_the_same_as_a_small_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Above WORKER_THRESHOLD customers the history is drawn in two worker processes, written without
    # the plain indexes and committed every TRADE_COMMIT_EVERY customers: the rows are the same.
    moment = timezone.now().replace(microsecond=0)
    demo.build_demo(customers=30, seed=6, trade=False)

    def snapshot() -> list[Any]:
        return [
            list(Order.objects.order_by("id").values_list("id", "number", "customer_id", "amount", "paid_amount")),
            list(OrderLine.objects.order_by("id").values_list("order_id", "product_id", "quantity", "amount")),
            list(Payment.objects.order_by("id").values_list("number", "amount")),
            list(TimelineEvent.objects.order_by("id").values_list("kind", "subject_id", "title")),
            list(Communication.objects.order_by("id").values_list("customer_id", "kind", "summary")),
        ]

    def clear() -> None:
        for model in (TimelineEvent, Complaint, Communication):
            model.objects.all().delete()
        PaymentAllocation.objects.all().delete()
        Payment.objects.all().delete()
        OrderLine.objects.all().delete()
        Order.objects.all().delete()

    monkeypatch.setattr(demo, "TRADE_BATCH", 10)
    with acting_through(Channel.COMMAND):
        small = demo.build_trade(seed=6, now=moment)
    expected = snapshot()
    clear()
    monkeypatch.setattr(demo, "WORKER_THRESHOLD", 5)
    monkeypatch.setattr(demo, "TRADE_COMMIT_EVERY", 20)
    with acting_through(Channel.COMMAND):
        big = demo.build_trade(seed=6, now=moment)
    assert "trade indexes" in big.phases and small.rows == big.rows
    got = snapshot()
    first_order = Order.objects.order_by("id").values_list("id", flat=True).first()
    shift = (first_order or 0) - expected[0][0][0]
    assert [o[1:] for o in got[0]] == [o[1:] for o in expected[0]]
    assert [(line[0] - shift, *line[1:]) for line in got[1]] == expected[1]
    assert got[2] == expected[2] and got[4] == expected[4]
    assert [e[0] for e in got[3]] == [e[0] for e in expected[3]]


def test_the_demo_has_leads_assigned_by_rules_opportunities_a_public_pool_and_tasks(loaded: str) -> None:
    from pearl.leads.models import AssignmentRule, Lead
    from pearl.pipelines.models import Opportunity, StageChange
    from pearl.pools.models import PoolEntry
    from pearl.reminders.models import Notification, Task

    assert AssignmentRule.objects.count() == 2
    leads = list(Lead.objects.select_related("owner", "assigned_rule"))
    assert len(leads) == 50  # 5 % of 200, at least 50
    assert {lead.owner.username if lead.owner else None for lead in leads} == {"sales1", "sales2"}
    rules = {lead.pk: lead.assigned_rule.name if lead.assigned_rule else "" for lead in leads}
    assert all(rules[lead.pk] and rules[lead.pk] in lead.assignment_reason for lead in leads)
    south = [lead for lead in leads if lead.province in ("广东省", "广西壮族自治区", "海南省")]
    assert south and all(rules[lead.pk] == "华南客户轮流分配" for lead in south)
    assert {rules[lead.pk] for lead in leads if lead not in south} <= {"其他地区给线索最少的人"}
    statuses = {lead.status for lead in leads}
    assert {"new", "contacted", "converted", "disqualified"} <= statuses
    assert all(lead.disqualify_reason for lead in leads if lead.status == "disqualified")
    converted = [lead for lead in leads if lead.status == "converted"]
    assert converted and all(
        lead.converted_customer_id and Customer.objects.filter(pk=lead.converted_customer_id).exists()
        for lead in converted
    )
    now = timezone.now()
    day_ago = now - dt.timedelta(hours=24)
    stale = [lead for lead in leads if lead.status == "new" and lead.assigned_at and lead.assigned_at < day_ago]
    assert stale and all(lead.first_follow_up_at is None for lead in stale)
    assert Notification.objects.filter(recipient__username="manager").exists()  # the no-follow-up reminder
    assert min(lead.created_at for lead in leads) < now - dt.timedelta(days=30)

    opportunities = Opportunity.objects.all()
    assert opportunities.count() == 20
    assert len(set(opportunities.values_list("stage_id", flat=True))) >= 3
    assert opportunities.filter(status="won").exists() or opportunities.filter(status="lost").exists()
    assert all(o.loss_reason for o in opportunities.filter(status="lost"))
    assert StageChange.objects.count() > opportunities.count()  # moves, not only creations

    entries = PoolEntry.objects.select_related("pool", "customer")
    assert entries.count() > 0 and all(e.pool.active and e.customer.owner_id is None and e.note for e in entries)
    assert Task.objects.filter(owner__username="sales1").count() >= 3
    assert "50" in loaded and "20" in loaded  # the summary names the leads and the opportunities
