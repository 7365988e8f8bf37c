from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.activities.services import communication_create
from pearl.core.errors import NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from pearl.core.events import subscribe, unsubscribe
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.pipelines import selectors, services
from pearl.pipelines.models import Opportunity, Pipeline, Stage, StageChange
from pearl.pipelines.services import LossReasonRequired, StageNotInPipeline
from pearl.pipelines.tests.factories import make_opportunity
from pearl.sales.tests.factories import product


def test_default_pipeline_ships_with_its_stages(stages: dict[str, Stage]) -> None:
    assert [(s.name, s.probability, s.kind) for s in sorted(stages.values(), key=lambda s: s.order)] == [
        ("新线索", 10, "open"),
        ("初步沟通", 20, "open"),
        ("需求确认", 40, "open"),
        ("方案报价", 60, "open"),
        ("商务谈判", 80, "open"),
        ("赢单", 100, "won"),
        ("输单", 0, "lost"),
    ]


def test_create_starts_in_first_stage_with_history_timeline_and_log(
    org: Org, customer: Customer, stages: dict[str, Stage], django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[dict[str, Any]] = []

    def listen(name: str, payload: dict[str, Any]) -> None:
        heard.append(payload)

    subscribe("opportunity.changed", listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            opp = make_opportunity(org.owner, customer.pk, amount="12,800.50", expected_close_date="2027-01-31")
    finally:
        unsubscribe("opportunity.changed", listen)
    assert opp.stage == stages["新线索"] and opp.status == "open" and opp.amount == Decimal("12800.50")
    assert opp.owner == org.owner and opp.team == org.team_a and opp.version == 1
    assert opp.expected_close_date == dt.date(2027, 1, 31)
    change = StageChange.objects.get(opportunity=opp)
    assert change.from_stage is None and change.to_stage == stages["新线索"] and change.actor == org.owner
    event = TimelineEvent.objects.get(customer=customer, kind="opportunity")
    assert "冷库扩建" in event.title and event.payload["to_stage"] == "新线索"
    assert ChangeLog.objects.filter(object_type="pipelines.opportunity", object_id=opp.pk, action="create").exists()
    assert heard == [{"customer_id": customer.pk, "opportunity_id": opp.pk, "actor_id": org.owner.pk}]


def test_lines_give_the_amount(org: Org, customer: Customer) -> None:
    prawn = product(org.admin, "P-001", price="10.00")
    opp = make_opportunity(
        org.owner, customer.pk, amount=None, lines=[{"product": prawn.pk, "quantity": "2.5"},
                                                    {"product": prawn.pk, "quantity": "1", "unit_price": "8"}],
    )  # fmt: skip
    assert opp.amount == Decimal("33.00") and opp.lines.count() == 2


def test_create_refuses_bad_input(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    with pytest.raises(ValidationFailed) as err:
        make_opportunity(org.owner, customer.pk, name="  ", amount="-1")
    assert "name" in err.value.field_errors
    with pytest.raises(ValidationFailed) as err:
        make_opportunity(org.owner, customer.pk, amount="abc")
    assert "amount" in err.value.field_errors
    other = make_customer(org.outsider)
    with pytest.raises(ValidationFailed) as err:
        make_opportunity(org.owner, other.pk)
    assert "customer" in err.value.field_errors
    with pytest.raises(LossReasonRequired):
        make_opportunity(org.owner, customer.pk, stage_id=stages["输单"].pk)
    with pytest.raises(ValidationFailed) as err:
        make_opportunity(org.owner, customer.pk, owner_id=org.teammate.pk)  # a salesperson owns only their own
    assert "owner" in err.value.field_errors
    assert not Opportunity.objects.exists()


def test_move_forward_back_and_to_won(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    opp = make_opportunity(org.owner, customer.pk)
    services.opportunity_move(
        actor=org.owner, opportunity_id=opp.pk, stage_id=stages["需求确认"].pk, expected_version=1
    )
    services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["初步沟通"].pk)
    opp = services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["赢单"].pk)
    opp.refresh_from_db()
    assert opp.stage == stages["赢单"] and opp.status == "won" and opp.closed_at is not None and opp.version == 4
    moves = list(StageChange.objects.filter(opportunity=opp).values_list("to_stage__name", flat=True))
    assert moves == ["新线索", "需求确认", "初步沟通", "赢单"]
    assert TimelineEvent.objects.filter(customer=customer, kind="opportunity").count() == 4
    log = ChangeLog.objects.filter(object_id=opp.pk, object_type="pipelines.opportunity", action="update").first()
    assert log is not None and log.changes["stage"] == [stages["初步沟通"].pk, stages["赢单"].pk]
    # reopening is allowed by hand and clears the close
    opp = services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["商务谈判"].pk)
    assert opp.status == "open" and opp.closed_at is None


def test_move_to_a_stage_of_another_pipeline_is_refused(org: Org, customer: Customer, pipeline: Pipeline) -> None:
    other = services.pipeline_create(actor=org.admin, name="工程项目", stages=[{"name": "立项", "probability": 10}])
    opp = make_opportunity(org.owner, customer.pk)
    with pytest.raises(StageNotInPipeline) as err:
        services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=other.stages.get().pk)
    assert err.value.status == 422 and err.value.code == "stage_not_in_pipeline"
    assert "belongs to the pipeline “工程项目”" in str(err.value.message) and "stage" in err.value.field_errors
    opp.refresh_from_db()
    assert opp.version == 1 and StageChange.objects.filter(opportunity=opp).count() == 1


def test_lost_needs_a_reason(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    opp = make_opportunity(org.owner, customer.pk)
    with pytest.raises(LossReasonRequired) as err:
        services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["输单"].pk, loss_reason="  ")
    assert "loss_reason" in err.value.field_errors
    opp = services.opportunity_move(
        actor=org.owner, opportunity_id=opp.pk, stage_id=stages["输单"].pk, loss_reason="价格太高"
    )
    assert opp.status == "lost" and opp.loss_reason == "价格太高" and opp.closed_at is not None
    event = TimelineEvent.objects.filter(customer=customer, kind="opportunity").order_by("-id").first()
    assert event is not None and event.payload["loss_reason"] == "价格太高" and "价格太高" in event.title
    # back to an open stage: the reason goes
    opp = services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["新线索"].pk)
    assert opp.loss_reason == "" and opp.status == "open"


def test_stale_version_is_refused(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    opp = make_opportunity(org.owner, customer.pk)
    services.opportunity_update(actor=org.owner, opportunity_id=opp.pk, data={"amount": "5"}, expected_version=1)
    with pytest.raises(PreconditionFailed):
        services.opportunity_move(
            actor=org.owner, opportunity_id=opp.pk, stage_id=stages["需求确认"].pk, expected_version=1
        )
    with pytest.raises(PreconditionFailed):
        services.opportunity_update(actor=org.owner, opportunity_id=opp.pk, data={"name": "x"}, expected_version=1)


def test_update_does_not_move_the_stage(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    opp = make_opportunity(org.owner, customer.pk)
    with pytest.raises(ValidationFailed) as err:
        services.opportunity_update(actor=org.owner, opportunity_id=opp.pk, data={"stage": stages["赢单"].pk})
    assert "stage" in err.value.field_errors
    opp = services.opportunity_update(actor=org.owner, opportunity_id=opp.pk, data={"name": "新冷库", "amount": "99"})
    assert opp.name == "新冷库" and opp.amount == Decimal("99.00") and opp.version == 2


def test_stage_history_and_time_in_stage(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    opp = make_opportunity(org.owner, customer.pk)
    services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["初步沟通"].pk)
    services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["需求确认"].pk)
    start = timezone.now() - dt.timedelta(days=10)
    changes = list(StageChange.objects.filter(opportunity=opp).order_by("id"))
    for change, days_ago in zip(changes, (10, 7, 2), strict=True):  # entered 10, 7 and 2 days ago
        StageChange.objects.filter(pk=change.pk).update(at=start + dt.timedelta(days=10 - days_ago))
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=start + dt.timedelta(days=8))
    now = start + dt.timedelta(days=10)
    spells = selectors.stage_history(actor=org.owner, opportunity_id=opp.pk, now=now)
    assert [(s.change.to_stage.name, s.days) for s in spells] == [("新线索", 3), ("初步沟通", 5), ("需求确认", 2)]
    assert spells[-1].until is None
    totals = selectors.time_in_stages(spells)
    assert totals[stages["初步沟通"].pk] == dt.timedelta(days=5)
    opp.refresh_from_db()
    assert selectors.days_in_stage(opp, now) == 2


def test_scope_owner_teammate_outsider_manager(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    opp = make_opportunity(org.owner, customer.pk)
    assert selectors.opportunity_get(actor=org.owner, opportunity_id=opp.pk) == opp
    assert selectors.opportunity_get(actor=org.manager, opportunity_id=opp.pk) == opp  # region subtree
    assert list(selectors.opportunity_list(actor=org.admin)) == [opp]
    for person in (org.outsider, org.teammate):  # salespeople see their own only (role scope "own")
        assert not selectors.opportunity_list(actor=person).exists()
        with pytest.raises(NotFound):
            selectors.opportunity_get(actor=person, opportunity_id=opp.pk)
        with pytest.raises(NotFound):
            services.opportunity_move(actor=person, opportunity_id=opp.pk, stage_id=stages["需求确认"].pk)
    assert [c.count for c in selectors.board(actor=org.outsider, pipeline_id=opp.pipeline_id).columns] == [0] * 7
    with pytest.raises(PermissionDenied):
        services.opportunity_delete(actor=org.owner, opportunity_id=opp.pk)  # sales may not delete
    services.opportunity_delete(actor=org.manager, opportunity_id=opp.pk)
    assert not Opportunity.objects.exists()
    assert not TimelineEvent.objects.filter(kind="opportunity").exists()


def _call(actor: Any, customer: Customer, outcome: str = "reached", kind: str = "call") -> None:
    communication_create(
        actor=actor, customer_id=customer.pk, data={"kind": kind, "summary": "聊了冷库方案", "outcome": outcome}
    )


def test_logged_call_moves_opportunities_forward_never_back(
    org: Org, customer: Customer, stages: dict[str, Stage], django_capture_on_commit_callbacks: Any
) -> None:
    services.stage_rule_set(actor=org.admin, stage_id=stages["初步沟通"].pk, communication_kind="call")
    services.stage_rule_set(
        actor=org.admin, stage_id=stages["需求确认"].pk, communication_kind="visit", outcome="interested"
    )
    early = make_opportunity(org.owner, customer.pk, name="早")
    late = make_opportunity(org.owner, customer.pk, name="晚", stage_id=stages["方案报价"].pk)
    won = make_opportunity(org.owner, customer.pk, name="赢", stage_id=stages["赢单"].pk)
    other_customer = make_customer(org.owner)
    elsewhere = make_opportunity(org.owner, other_customer.pk, name="别家")

    with django_capture_on_commit_callbacks(execute=True):
        _call(org.owner, customer)
    for opp in (early, late, won, elsewhere):
        opp.refresh_from_db()
    assert early.stage == stages["初步沟通"]
    assert late.stage == stages["方案报价"]  # never backwards
    assert won.stage == stages["赢单"]  # closed ones stay
    assert elsewhere.stage == stages["新线索"]
    move = StageChange.objects.filter(opportunity=early).order_by("-id").first()
    assert move is not None and move.automatic and move.actor == org.owner

    with django_capture_on_commit_callbacks(execute=True):
        _call(org.owner, customer, kind="visit", outcome="not_now")  # the rule wants "interested"
    early.refresh_from_db()
    assert early.stage == stages["初步沟通"]
    with django_capture_on_commit_callbacks(execute=True):
        _call(org.owner, customer, kind="visit", outcome="interested")
    early.refresh_from_db()
    assert early.stage == stages["需求确认"] and early.version == 3

    with django_capture_on_commit_callbacks(execute=True):
        _call(org.owner, customer)  # a call again: 初步沟通 is earlier than 需求确认, nothing moves
    early.refresh_from_db()
    assert early.stage == stages["需求确认"] and early.version == 3


def test_transfer_moves_open_ones_and_keeps_history(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    open_one = make_opportunity(org.owner, customer.pk)
    services.opportunity_move(actor=org.owner, opportunity_id=open_one.pk, stage_id=stages["需求确认"].pk)
    won = make_opportunity(org.owner, customer.pk, stage_id=stages["赢单"].pk)
    second = make_customer(org.owner)
    other = make_opportunity(org.owner, second.pk)

    moved = services.opportunities_transfer(
        actor=org.manager, from_user=org.owner, to_user=org.outsider, customer_ids=[customer.pk]
    )
    assert moved == 1
    open_one.refresh_from_db()
    won.refresh_from_db()
    other.refresh_from_db()
    assert open_one.owner == org.outsider and open_one.team == org.team_b and open_one.version == 3
    assert won.owner == org.owner and other.owner == org.owner
    assert StageChange.objects.filter(opportunity=open_one).count() == 2
    log = ChangeLog.objects.filter(object_id=open_one.pk, object_type="pipelines.opportunity").first()
    assert log is not None and log.changes["owner"] == [org.owner.pk, org.outsider.pk]
    assert services.opportunities_transfer(actor=org.manager, from_user=org.owner, to_user=org.outsider) == 1
    other.refresh_from_db()
    assert other.owner == org.outsider
    # an actor who cannot see them moves nothing
    assert services.opportunities_transfer(actor=org.teammate, from_user=org.outsider, to_user=org.teammate) == 0


def test_customers_with_open_opportunities(org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    closed = make_customer(org.owner)
    make_customer(org.owner)
    make_opportunity(org.owner, customer.pk)
    make_opportunity(org.owner, closed.pk, stage_id=stages["输单"].pk, loss_reason="预算取消")
    ids = selectors.customers_with_open_opportunities()
    assert set(ids) == {customer.pk}
    assert Customer.objects.filter(pk__in=ids).count() == 1
    assert Customer.objects.exclude(pk__in=ids).count() == 2


def test_stage_configuration_needs_manage_settings(org: Org, pipeline: Pipeline) -> None:
    with pytest.raises(PermissionDenied):
        services.stage_create(actor=org.manager, pipeline_id=pipeline.pk, data={"name": "样品试用"})
    stage = services.stage_create(
        actor=org.admin, pipeline_id=pipeline.pk, data={"name": "样品试用", "probability": 50, "order": 45}
    )
    assert stage.order == 45 and stage.kind == "open"
    with pytest.raises(ValidationFailed) as err:
        services.stage_update(actor=org.admin, stage_id=stage.pk, data={"probability": 120})
    assert "probability" in err.value.field_errors
