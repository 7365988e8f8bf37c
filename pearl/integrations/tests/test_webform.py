"""Public web forms: a stranger's submission becomes a lead assigned on arrival (rule, else the form's
fallback owner, else its team's queue), with the message as an inquiry; bots, floods, closed forms and
bad input write nothing; a repeat lands on the open lead; managers with the settings right run the forms."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.utils import translation

from pearl.accounts.models import User
from pearl.core.errors import ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import ChoiceOption
from pearl.integrations.models import WebForm
from pearl.integrations.services import webforms
from pearl.leads import services as lead_services
from pearl.leads.choices import FollowUpKind, LeadStatus
from pearl.leads.models import AssignmentRule, Lead, LeadFollowUp
from pearl.reminders.models import Notification
from pearl.sales.models import ProductCategory


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """The per-address counts live in the (process-wide) cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def source(label: str) -> ChoiceOption:
    return ChoiceOption.objects.get(list_name="source", label=label)


def visitor(address: str = "203.0.113.7") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address)


def login(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def make_form(org: Org, **data: Any) -> WebForm:
    values: dict[str, Any] = {"name": "官网询价", "title": "获取报价", "thank_you": "谢谢，销售顾问会尽快联系您。"}
    values.update(data)
    return webforms.webform_create(actor=org.admin, data=values)


def url(form: WebForm) -> str:
    return f"/f/{form.slug}/"


def post(client: Client, form: WebForm, **data: str) -> Any:
    fields = {"name": "林先生", "mobile": "13800138000", "company": "深圳海鲜楼", "province": "广东省",
              "city": "深圳市", "message": "想了解冻虾的批发价", "website": ""}  # fmt: skip
    fields.update(data)
    return client.post(url(form), fields)


def test_submission_becomes_a_lead_assigned_by_a_rule(org: Org) -> None:
    web = source("线上询盘")
    shrimp = ProductCategory.objects.create(name="冻虾")
    rule = lead_services.assignment_rule_create(
        actor=org.admin,
        data={
            "name": "华南线上",
            "members": [org.teammate.pk],
            "conditions": {"provinces": ["广东省"], "sources": [web.pk]},
        },
    )
    form = make_form(org, source=web.pk, product_interest=shrimp.pk, fallback_owner=org.owner.pk)
    client = visitor()
    page = client.get(url(form))
    assert page.status_code == 200
    html = page.content.decode()
    assert "获取报价" in html and 'name="mobile"' in html and 'name="website"' in html  # the honeypot is there
    assert 'name="email"' not in html  # not asked by this form

    done = post(client, form)
    assert done.status_code == 302 and done["Location"] == f"/f/{form.slug}/thanks/"
    assert "谢谢，销售顾问会尽快联系您。" in client.get(done["Location"]).content.decode()
    lead = Lead.objects.get()
    assert (lead.name, lead.mobile, lead.company, lead.province, lead.city) == (
        "林先生", "13800138000", "深圳海鲜楼", "广东省", "深圳市"
    )  # fmt: skip
    assert lead.source_id == web.pk and lead.product_interest_id == shrimp.pk
    assert lead.owner_id == org.teammate.pk and lead.assigned_rule_id == rule.pk and lead.created_by_id is None
    assert "华南线上" in lead.assignment_reason and lead.status == LeadStatus.NEW
    inquiry = LeadFollowUp.objects.get(lead=lead)
    assert (inquiry.kind, inquiry.actor_id, inquiry.source, inquiry.summary) == (
        FollowUpKind.INQUIRY, None, f"form:{form.pk}", "想了解冻虾的批发价"
    )  # fmt: skip
    assert lead.first_follow_up_at is None  # the visitor's words are not the owner's follow-up
    log = ChangeLog.objects.get(object_type="leads.lead", object_id=lead.pk)
    assert log.channel == "form" and log.actor_id is None and log.actor_label == "web form 官网询价"
    form.refresh_from_db()
    assert form.submission_count == 1 and form.last_submitted_at is not None
    note = Notification.objects.get(recipient=org.teammate)
    assert "林先生" in note.title and note.link == f"/leads/{lead.pk}/"


def test_no_rule_goes_to_the_fallback_owner_else_the_team_queue(org: Org) -> None:
    to_owner = make_form(org, fallback_owner=org.owner.pk, fallback_team=org.team_b.pk)
    assert post(visitor(), to_owner, mobile="13900000001").status_code == 302
    lead = Lead.objects.get(mobile="13900000001")
    assert lead.owner_id == org.owner.pk and lead.assigned_rule_id is None and lead.assigned_at is not None
    assert "owner" in lead.assignment_reason  # the reason names who keeps it

    org.team_b.manager = org.manager
    org.team_b.save(update_fields=["manager"])
    to_queue = make_form(org, name="展会报名", fallback_team=org.team_b.pk, ask_message=False)
    assert post(visitor(), to_queue, mobile="13900000002").status_code == 302
    queued = Lead.objects.get(mobile="13900000002")
    assert queued.owner_id is None and queued.team_id == org.team_b.pk and queued.assigned_at is None
    assert "二组" in queued.assignment_reason
    assert LeadFollowUp.objects.get(lead=queued).summary == ""  # the form asks no message
    # Nobody owns it: the queue's manager is told, once.
    told = Notification.objects.get(recipient=org.manager, subject_id=queued.pk)
    assert told.dedupe_key == f"integrations.webform_queued:{queued.pk}" and "展会报名" in told.title
    assert not Notification.objects.filter(subject_id=lead.pk).exclude(recipient=org.owner).exists()


def test_honeypot_filled_creates_nothing_but_thanks_the_bot(org: Org) -> None:
    form = make_form(org, fallback_owner=org.owner.pk)
    client = visitor()
    answer = post(client, form, website="http://spam.example")
    assert answer.status_code == 302 and answer["Location"] == f"/f/{form.slug}/thanks/"
    assert client.get(answer["Location"]).status_code == 200
    assert not Lead.objects.exists() and not LeadFollowUp.objects.exists()
    form.refresh_from_db()
    assert form.submission_count == 0


def test_rate_limit_per_address_and_form(org: Org) -> None:
    form = make_form(org, fallback_owner=org.owner.pk)
    client = visitor("198.51.100.9")
    for n in range(webforms.RATE_LIMIT):
        assert post(client, form, mobile=f"1370000000{n}").status_code == 302
    refused = post(client, form, mobile="13700000099", name="赵六")
    assert refused.status_code == 429
    html = refused.content.decode()
    assert "Too many submissions. Please try again later." in html and 'value="赵六"' in html  # input kept
    assert Lead.objects.count() == webforms.RATE_LIMIT
    with translation.override("zh-hans"):
        assert translation.gettext("Too many submissions. Please try again later.") in (
            "提交太频繁，请稍后再试",  # once the catalogue is merged
            "Too many submissions. Please try again later.",
        )
    # Another address, or another form, has its own allowance.
    assert post(visitor("198.51.100.10"), form, mobile="13700000099").status_code == 302
    other = make_form(org, name="展会报名", fallback_owner=org.owner.pk)
    assert post(client, other, mobile="13700000098").status_code == 302


def test_closed_or_unknown_form_is_a_friendly_404(org: Org) -> None:
    form = make_form(org, fallback_owner=org.owner.pk)
    webforms.webform_update(actor=org.admin, form_id=form.pk, data={"is_active": False})
    for answer in (visitor().get(url(form)), post(visitor(), form), visitor().get("/f/not-a-form/")):
        assert answer.status_code == 404
        assert "This form is not available" in answer.content.decode()
    assert not Lead.objects.exists()


def test_bad_input_is_shown_on_its_field_and_writes_nothing(org: Org) -> None:
    form = make_form(org, fallback_owner=org.owner.pk, ask_email=True)
    answer = post(visitor(), form, name="", mobile="12345", email="not-an-email", company="鑫海水产")
    assert answer.status_code == 422
    html = answer.content.decode()
    assert "Please enter your name." in html
    assert "Enter an 11-digit mainland mobile number, e.g. 13800138000." in html
    assert "Enter a valid email address." in html
    assert 'value="12345"' in html and 'value="鑫海水产"' in html and "想了解冻虾的批发价" in html  # kept
    landline = post(visitor(), form, mobile="020-87654321")  # a valid number, but not a mobile
    assert landline.status_code == 422 and "11-digit mainland mobile" in landline.content.decode()
    assert not Lead.objects.exists() and not LeadFollowUp.objects.exists() and not Notification.objects.exists()
    form.refresh_from_db()
    assert form.submission_count == 0
    with translation.override("zh-hans"):  # the page speaks the visitor's language; the mobile rule exists in zh
        zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").post(url(form), {"name": "林", "mobile": ""})
    assert zh.status_code == 422 and "请修正标出的字段" in zh.content.decode()


def test_a_repeat_lands_on_the_open_lead_as_another_inquiry(org: Org) -> None:
    form = make_form(org, fallback_owner=org.owner.pk)
    client = visitor()
    assert post(client, form, message="第一次询价").status_code == 302
    again = post(client, form, mobile="138 0013 8000", message="再问一下交货期")
    assert again.status_code == 302 and again["Location"] == f"/f/{form.slug}/thanks/"
    lead = Lead.objects.get()
    assert list(lead.follow_ups.order_by("id").values_list("summary", "kind")) == [
        ("第一次询价", FollowUpKind.INQUIRY), ("再问一下交货期", FollowUpKind.INQUIRY)
    ]  # fmt: skip
    form.refresh_from_db()
    assert form.submission_count == 2
    # The owner heard of the new lead once, then of the second inquiry (the leads app's own notices).
    second = lead.follow_ups.order_by("id").last()
    assert second is not None
    assert Notification.objects.filter(recipient=org.owner, subject_id=lead.pk).count() == 2
    assert Notification.objects.filter(recipient=org.owner, dedupe_key=f"lead-inquiry:{second.pk}").exists()

    lead_services.lead_update(
        actor=org.admin, lead_id=lead.pk, data={"status": "disqualified", "disqualify_reason": "空号"}
    )
    assert post(client, form, message="又来了").status_code == 302  # the old lead is closed: a new one
    assert Lead.objects.count() == 2 and Lead.objects.filter(status=LeadStatus.NEW).count() == 1


def test_csrf_is_checked_with_a_page_the_visitor_understands(org: Org) -> None:
    form = make_form(org, fallback_owner=org.owner.pk)
    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    refused = strict.post(url(form), {"name": "林先生", "mobile": "13800138000"})
    assert refused.status_code == 403
    assert "This page has expired" in refused.content.decode() and 'value="林先生"' in refused.content.decode()
    assert not Lead.objects.exists()
    page = strict.get(url(form))
    token = page.cookies["csrftoken"].value
    ok = strict.post(url(form), {"name": "林先生", "mobile": "13800138000", "csrfmiddlewaretoken": token})
    assert ok.status_code == 302 and Lead.objects.count() == 1


def test_visitor_product_choice_and_retired_source(org: Org) -> None:
    web = source("线上询盘")
    shrimp, crab = ProductCategory.objects.create(name="冻虾"), ProductCategory.objects.create(name="蟹类")
    form = make_form(org, fallback_owner=org.owner.pk, source=web.pk, product_interest=shrimp.pk, ask_product=True)
    html = visitor().get(url(form)).content.decode()
    assert f'<option value="{shrimp.pk}" selected>' in html  # the form's default, preselected
    ChoiceOption.objects.filter(pk=web.pk).update(is_active=False)  # retired after the form was set up
    assert post(visitor(), form, product_interest=str(crab.pk)).status_code == 302
    lead = Lead.objects.get()
    assert lead.product_interest_id == crab.pk and lead.source_id is None
    bad = post(visitor(), form, mobile="13911112222", product_interest="99999")
    assert bad.status_code == 422 and "Choose a product category." in bad.content.decode()


def test_settings_are_validated_by_the_service(org: Org) -> None:
    org.owner.on_leave = True
    org.owner.save(update_fields=["on_leave"])
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        webforms.webform_create(
            actor=org.admin, data={"name": "", "title": "报价", "fallback_owner": org.owner.pk, "source": 999999}
        )
    errors = caught.value.field_errors
    assert errors["name"] == ["Give the form a name."]
    assert errors["fallback_owner"] == ["owner cannot take leads (on leave, or the role may not edit)."]
    assert errors["source"] == ["Choose one of the listed options."]
    assert not WebForm.objects.exists()


def test_manager_pages_create_edit_close(org: Org) -> None:
    web = source("展会")
    client = login(org.admin)
    assert client.get("/integrations/forms/").status_code == 200
    assert client.get("/integrations/forms/new/").status_code == 200
    empty = client.post("/integrations/forms/new/", {"name": "", "title": ""})
    assert empty.status_code == 422 and "Give the form a name." in empty.content.decode()
    made = client.post(
        "/integrations/forms/new/",
        {"name": "春季展会报名", "title": "报名参加春季展会", "is_active": "on", "source": str(web.pk),
         "fallback_team": str(org.team_a.pk), "ask_company": "on", "ask_message": "on"},
    )  # fmt: skip
    form = WebForm.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/integrations/forms/{form.pk}/"
    assert form.source_id == web.pk and form.fallback_team_id == org.team_a.pk and form.created_by_id == org.admin.pk
    assert form.ask_company and not form.ask_region and len(form.slug) >= 16
    edit = client.get(made["Location"]).content.decode()
    assert f"http://testserver/f/{form.slug}/" in edit and "data-copy" in edit
    saved = client.post(
        made["Location"],
        {
            "name": "春季展会报名",
            "title": "报名",
            "is_active": "on",
            "ask_region": "on",
            "fallback_owner": str(org.owner.pk),
        },
    )
    assert saved.status_code == 302
    form.refresh_from_db()
    assert form.title == "报名" and form.ask_region and not form.ask_company and form.fallback_owner_id == org.owner.pk
    assert ChangeLog.objects.filter(object_type="integrations.webform", object_id=form.pk).count() == 2

    assert post(visitor(), form).status_code == 302
    listing = client.get("/integrations/forms/").content.decode()
    assert "春季展会报名" in listing and f"/f/{form.slug}/" in listing
    assert '<td data-label="Submissions">1</td>' in listing
    assert client.post(f"/integrations/forms/{form.pk}/toggle/").status_code == 302
    form.refresh_from_db()
    assert not form.is_active and visitor().get(url(form)).status_code == 404
    assert client.get("/integrations/forms/999999/").status_code == 404


def test_salesperson_may_not_manage_forms(org: Org) -> None:
    form = make_form(org, fallback_owner=org.owner.pk)
    client = login(org.owner)
    assert client.get("/integrations/forms/").status_code == 403
    assert client.post("/integrations/forms/new/", {"name": "偷建", "title": "x"}).status_code == 403
    assert client.post(f"/integrations/forms/{form.pk}/", {"name": "改名", "title": "x"}).status_code == 403
    assert client.post(f"/integrations/forms/{form.pk}/toggle/").status_code == 403
    form.refresh_from_db()
    assert WebForm.objects.count() == 1 and form.name == "官网询价" and form.is_active
    assert Client().get("/integrations/forms/").status_code == 302  # anonymous: to the login page
    assert AssignmentRule.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_submissions_at_once_with_one_mobile_make_one_lead(org: Org) -> None:
    """The form's row lock serialises its submissions: the second sees the first's lead and adds to it."""
    db = connections["default"]
    if db.vendor == "sqlite" and db.is_in_memory_db():  # type: ignore[attr-defined]  # SQLite wrapper only
        pytest.skip("needs a database file or PostgreSQL: the in-memory SQLite test database refuses a second writer")
    form = make_form(org, fallback_owner=org.owner.pk)
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def submit(index: int) -> None:
        try:
            barrier.wait()
            data = {"name": "林先生", "mobile": "13800138000", "message": f"第{index}次"}
            results[index] = webforms.webform_submit(form_id=form.pk, data=data)
        except Exception as exc:  # the test inspects it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(isinstance(r, webforms.Submission) for r in results), results
    assert sorted(r.new for r in results) == [False, True]
    lead = Lead.objects.get()
    assert lead.follow_ups.count() == 2
    form.refresh_from_db()
    assert form.submission_count == 2
