"""The pipeline and stage settings pages (manage_settings) and stage roles through the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.test_api import Api, assert_problem
from pearl.pipelines import services
from pearl.pipelines.models import Pipeline, Stage
from pearl.pipelines.tests.factories import make_opportunity

SETTINGS = reverse("pipelines:pipeline_settings")


def config_url(pipeline: Pipeline) -> str:
    return reverse("pipelines:pipeline_config", args=[pipeline.pk])


def state() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """Everything the pages may write: pipelines, stages and the change log's size."""
    pipelines = list(Pipeline.objects.order_by("id").values_list("id", "name", "is_default", "active", "order"))
    stages = list(
        Stage.objects.order_by("id").values_list("id", "pipeline_id", "name", "order", "probability", "kind", "role")
    )
    return pipelines, stages, ChangeLog.objects.count()


def stage_post(stage: Stage, op: str = "stage_save", **fields: Any) -> dict[str, Any]:
    data = {"op": op, "stage": stage.pk, "name": stage.name, "probability": stage.probability, "kind": stage.kind}
    data["role"] = stage.role or ""
    return {**data, **fields}


def names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("order", "id").values_list("name", flat=True))


# --- who may -------------------------------------------------------------------------------------------------


def test_salesperson_and_manager_without_the_right_are_refused(en: Any, org: Org, pipeline: Pipeline) -> None:
    before = state()
    for person in (org.owner, org.manager):  # manager: runs a region but may not manage settings
        en.force_login(person)
        assert en.get(SETTINGS).status_code == 403
        assert en.get(config_url(pipeline)).status_code == 403
        assert en.post(SETTINGS, {"op": "create", "name": "工程项目"}).status_code == 403
        assert en.post(config_url(pipeline), {"op": "stage_add", "name": "样品", "kind": "open"}).status_code == 403
        board = en.get(reverse("pipelines:board", args=[pipeline.pk])).content.decode()
        assert SETTINGS not in board  # no link for them
    assert state() == before


def test_link_from_the_board_and_the_list_page(admin: Any, pipeline: Pipeline) -> None:
    board = admin.get(reverse("pipelines:board", args=[pipeline.pk])).content.decode()
    assert f'href="{SETTINGS}"' in board and reverse("pipelines:stage_rules", args=[pipeline.pk]) in board
    page = admin.get(SETTINGS).content.decode()
    assert "销售流程" in page and config_url(pipeline) in page and "Default" in page


# --- pipelines ---------------------------------------------------------------------------------------------------


def test_create_pipeline_with_the_standard_stages(admin: Any, org: Org, pipeline: Pipeline) -> None:
    r = admin.post(SETTINGS, {"op": "create", "name": " 工程 项目 ", "standard_stages": "on"})
    created = Pipeline.objects.get(name="工程 项目")
    assert r.status_code == 302 and r["Location"] == config_url(created)
    assert names(created) == ["新线索", "初步沟通", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]
    assert created.stages.get(role="quote").name == "方案报价" and not created.is_default and created.active
    logs = ChangeLog.objects.filter(object_type="pipelines.pipeline", object_id=created.pk, action="create")
    assert logs.get().actor == org.admin
    page = admin.get(config_url(created)).content.decode()
    assert page.count('name="op" value="stage_save"') == 7 and "Pipeline “工程 项目” created." in page

    bare = admin.post(SETTINGS, {"op": "create", "name": "空流程"})  # checkbox left off: no stages
    assert bare.status_code == 302 and not Pipeline.objects.get(name="空流程").stages.exists()


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("销售流程", 409, "A pipeline named “销售流程” exists already."),
        ("   ", 422, "Give the pipeline a name."),
    ],
)
def test_create_pipeline_refusals_write_nothing(
    admin: Any, pipeline: Pipeline, name: str, status: int, message: str
) -> None:
    before = state()
    r = admin.post(SETTINGS, {"op": "create", "name": name, "standard_stages": "on"})
    assert r.status_code == status and message in r.content.decode()
    assert state() == before


def test_rename_default_switch_off_and_delete(admin: Any, org: Org, customer: Customer, pipeline: Pipeline) -> None:
    other = services.pipeline_create(actor=org.admin, name="工程项目", stages=services.default_stage_data())
    r = admin.post(config_url(other), {"op": "rename", "name": "工程类"})
    assert r.status_code == 302 and Pipeline.objects.get(pk=other.pk).name == "工程类"
    r = admin.post(config_url(other), {"op": "rename", "name": "销售流程"})
    assert r.status_code == 409 and "A pipeline named “销售流程” exists already." in r.content.decode()
    assert Pipeline.objects.get(pk=other.pk).name == "工程类"

    # The default pipeline can be neither deleted nor switched off.
    before = state()
    r = admin.post(SETTINGS, {"op": "delete", "pipeline": pipeline.pk})
    assert r.status_code == 409
    assert "“销售流程” is the default pipeline; make another pipeline the default before deleting it." in (
        r.content.decode()
    )
    r = admin.post(SETTINGS, {"op": "deactivate", "pipeline": pipeline.pk})
    assert r.status_code == 409 and "before switching it off" in r.content.decode()
    assert state() == before

    assert admin.post(SETTINGS, {"op": "default", "pipeline": other.pk}).status_code == 302
    assert list(Pipeline.objects.filter(is_default=True)) == [Pipeline.objects.get(pk=other.pk)]
    assert admin.post(SETTINGS, {"op": "deactivate", "pipeline": pipeline.pk}).status_code == 302
    assert not Pipeline.objects.get(pk=pipeline.pk).active
    r = admin.post(SETTINGS, {"op": "default", "pipeline": pipeline.pk})  # switched off: not the default
    assert r.status_code == 409 and "is switched off; switch it on" in r.content.decode()
    assert admin.post(SETTINGS, {"op": "activate", "pipeline": pipeline.pk}).status_code == 302

    # A pipeline with opportunities stays (switch it off instead); an unused one goes, stages and all.
    make_opportunity(org.owner, customer.pk, pipeline_id=other.pk)
    admin.post(SETTINGS, {"op": "default", "pipeline": pipeline.pk})
    before = state()
    r = admin.post(SETTINGS, {"op": "delete", "pipeline": other.pk})
    assert r.status_code == 409 and "1 opportunity is in the pipeline “工程类”" in r.content.decode()
    assert state() == before
    spare = services.pipeline_create(actor=org.admin, name="备用", stages=[{"name": "a"}])
    assert admin.post(SETTINGS, {"op": "delete", "pipeline": spare.pk}).status_code == 302
    assert not Pipeline.objects.filter(pk=spare.pk).exists() and not Stage.objects.filter(pipeline=spare.pk).exists()
    assert ChangeLog.objects.filter(object_type="pipelines.pipeline", object_id=spare.pk, action="delete").exists()


# --- stages -----------------------------------------------------------------------------------------------------


def test_add_reorder_edit_and_set_role(admin: Any, org: Org, pipeline: Pipeline, stages: dict[str, Stage]) -> None:
    url = config_url(pipeline)
    r = admin.post(url, {"op": "stage_add", "name": "样品试用", "probability": "50", "kind": "open", "role": ""})
    assert r.status_code == 302
    sample = Stage.objects.get(pipeline=pipeline, name="样品试用")
    assert names(pipeline)[-1] == "样品试用" and sample.probability == 50 and sample.role is None

    for _ in range(3):  # 样品试用 from last up above 输单, 赢单 and 商务谈判
        assert admin.post(url, stage_post(sample, "up")).status_code == 302
    assert names(pipeline) == ["新线索", "初步沟通", "需求确认", "方案报价", "样品试用", "商务谈判", "赢单", "输单"]
    assert list(pipeline.stages.order_by("order").values_list("order", flat=True)) == list(range(10, 90, 10))
    assert admin.post(url, stage_post(sample, "down")).status_code == 302
    assert names(pipeline)[4:6] == ["商务谈判", "样品试用"]
    first = stages["新线索"]
    assert admin.post(url, stage_post(first, "up")).status_code == 302 and names(pipeline)[0] == "新线索"

    # The quote role moves: off 方案报价, then onto 样品试用 (one stage per role).
    assert admin.post(url, stage_post(stages["方案报价"], role="")).status_code == 302
    sample.refresh_from_db()
    r = admin.post(url, stage_post(sample, name="样品", probability="55", role="quote"))
    assert r.status_code == 302
    sample.refresh_from_db()
    assert (sample.name, sample.probability, sample.role) == ("样品", 55, "quote")
    log = ChangeLog.objects.filter(object_type="pipelines.stage", object_id=sample.pk).order_by("-id").first()
    assert log is not None and log.root_id == pipeline.pk and log.changes["role"] == [None, "quote"]
    page = admin.get(url).content.decode()
    assert "Stage “样品” saved." in page and page.count('value="quote" selected') == 1


@pytest.mark.parametrize(
    ("stage_name", "fields", "status", "message"),
    [
        ("需求确认", {"probability": "120"}, 422, "Enter a whole number from 0 to 100."),
        ("需求确认", {"probability": "abc"}, 422, "Enter a whole number from 0 to 100."),
        ("需求确认", {"name": "初步沟通"}, 409, "This pipeline has a stage named “初步沟通” already."),
        ("需求确认", {"name": ""}, 422, "Give the stage a name."),
        ("需求确认", {"role": "quote"}, 409, "The stage “方案报价” has the role “Quote” already"),
        ("方案报价", {"kind": "won"}, 422, "Only an open stage can have the role “Quote”."),
        ("赢单", {"kind": "open"}, 409, "“赢单” is the last won stage of this pipeline; add another won stage first."),
        ("输单", {"kind": "won"}, 409, "“输单” is the last lost stage of this pipeline; add another lost stage first."),
    ],
)
def test_bad_stage_edits_are_refused_and_change_nothing(
    admin: Any, pipeline: Pipeline, stages: dict[str, Stage], stage_name: str, fields: dict[str, Any], status: int,
    message: str,
) -> None:  # fmt: skip
    before = state()
    r = admin.post(config_url(pipeline), stage_post(stages[stage_name], **fields))
    assert r.status_code == status and message in r.content.decode()
    assert state() == before


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"name": "样品", "probability": "120", "kind": "open"}, 422, "Enter a whole number from 0 to 100."),
        ({"name": "需求确认", "probability": "30", "kind": "open"}, 409, "has a stage named “需求确认” already"),
        ({"name": "样品", "probability": "30", "kind": "open", "role": "quote"}, 409, "has the role “Quote” already"),
        ({"name": "样品", "probability": "30", "kind": "bogus"}, 422, "Select a valid choice."),
    ],
)
def test_bad_new_stages_are_refused_and_change_nothing(
    admin: Any, pipeline: Pipeline, stages: dict[str, Stage], fields: dict[str, Any], status: int, message: str
) -> None:
    before = state()
    r = admin.post(config_url(pipeline), {"op": "stage_add", **fields})
    assert r.status_code == status and message in r.content.decode()
    assert state() == before


def test_delete_stage_only_when_unused(
    admin: Any, org: Org, customer: Customer, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    url = config_url(pipeline)
    for name in ("甲", "乙"):
        make_opportunity(org.owner, customer.pk, name=name, stage_id=stages["需求确认"].pk)
    before = state()
    r = admin.post(url, stage_post(stages["需求确认"], "stage_delete"))
    assert r.status_code == 409
    assert "2 opportunities are in the stage “需求确认”; move them to another stage first." in r.content.decode()
    # An opportunity moved on still has the stage in its history.
    moved = make_opportunity(org.owner, customer.pk, name="丙", stage_id=stages["商务谈判"].pk)
    services.opportunity_move(actor=org.owner, opportunity_id=moved.pk, stage_id=stages["初步沟通"].pk)
    before = state()
    r = admin.post(url, stage_post(stages["商务谈判"], "stage_delete"))
    assert r.status_code == 409 and "The stage history of 1 opportunity names “商务谈判”" in r.content.decode()
    r = admin.post(url, stage_post(stages["输单"], "stage_delete"))
    assert r.status_code == 409 and "“输单” is the last lost stage" in r.content.decode()
    assert state() == before

    services.stage_rule_set(actor=org.admin, stage_id=stages["赢单"].pk, communication_kind="visit")
    services.stage_create(actor=org.admin, pipeline_id=pipeline.pk, data={"name": "签约", "kind": "won"})
    r = admin.post(url, stage_post(stages["赢单"], "stage_delete"))  # another won stage now: it may go
    assert r.status_code == 302 and not Stage.objects.filter(pk=stages["赢单"].pk).exists()
    assert not pipeline.rules.exists()  # its automatic move went with it
    logs = ChangeLog.objects.filter(object_type="pipelines.stage", object_id=stages["赢单"].pk, action="delete")
    assert logs.count() == 1


def test_unknown_stage_or_action_is_a_message_not_a_500(admin: Any, org: Org, pipeline: Pipeline) -> None:
    other = services.pipeline_create(actor=org.admin, name="工程项目", stages=[{"name": "立项"}])
    foreign = other.stages.get()
    before = state()
    for op in ("stage_delete", "stage_save", "up"):  # a stage of another pipeline
        r = admin.post(config_url(pipeline), stage_post(foreign, op, name="改名"))
        assert r.status_code == 422 and "Stage not found." in r.content.decode()
    r = admin.post(config_url(pipeline), {"op": "explode"})
    assert r.status_code == 422 and "Unknown action." in r.content.decode()
    assert admin.get(reverse("pipelines:pipeline_config", args=[999999])).status_code == 404
    assert state() == before


# --- the API: stage roles -------------------------------------------------------------------------------------------


def test_api_reads_and_writes_stage_role(org: Org, pipeline: Pipeline, stages: dict[str, Stage]) -> None:
    admin, manager = Api(org.admin), Api(org.manager)
    base = f"/pipelines/{pipeline.pk}/stages"
    listed = admin.get(f"/pipelines/{pipeline.pk}").json()["stages"]
    assert {s["name"]: s["role"] for s in listed}["方案报价"] == "quote"
    assert {s["name"]: s["role"] for s in listed}["新线索"] is None

    before = state()
    assert_problem(manager.patch(f"{base}/{stages['需求确认'].pk}", {"role": "quote"}), 403)
    problem = assert_problem(admin.patch(f"{base}/{stages['需求确认'].pk}", {"role": "quote"}), 409)
    assert "方案报价" in problem["detail"] and "role" in problem["errors"]
    assert_problem(admin.patch(f"{base}/{stages['赢单'].pk}", {"role": "quote"}), 422)
    assert_problem(admin.patch(f"{base}/{stages['需求确认'].pk}", {"role": "boss"}), 422)
    assert_problem(admin.post(base, {"name": "样品", "role": "quote"}), 409)
    assert state() == before

    r = admin.patch(f"{base}/{stages['方案报价'].pk}", {"role": None})
    assert r.status_code == 200 and r.json()["role"] is None
    r = admin.patch(f"{base}/{stages['需求确认'].pk}", {"role": "quote"})
    assert r.status_code == 200 and r.json()["role"] == "quote"
    r = admin.patch(f"{base}/{stages['需求确认'].pk}", {"probability": 45})  # role left out: kept
    assert r.status_code == 200 and r.json()["role"] == "quote" and r.json()["probability"] == 45
    assert Stage.objects.get(pipeline=pipeline, role="quote") == stages["需求确认"]
