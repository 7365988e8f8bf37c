"""The reminder rules (提醒规则): each rule's number and switch change what its sweep does (time travel
with the sweeps' ``at``), the outside channels, and the settings page that saves them or refuses."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from pearl.accounts.models import User
from pearl.activities.services import communication_create
from pearl.core import sweeps
from pearl.core.errors import PermissionDenied, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.leads.models import Lead
from pearl.leads.tests.conftest import make_lead
from pearl.pipelines import services as pipelines
from pearl.pipelines.models import Pipeline, Quote
from pearl.pipelines.tests.factories import make_opportunity
from pearl.reminders import services
from pearl.reminders.models import Notification, OutboxMessage, ReminderRules, Task
from pearl.reminders.selectors import reminder_rules

HOUR = dt.timedelta(hours=1)
PAGE = "/my/rules/"


def set_rules(org: Org, **data: Any) -> ReminderRules:
    return services.reminder_rules_update(actor=org.admin, data=data)


def run(name: str, at: dt.datetime) -> dict[str, Any]:
    [result] = sweeps.run_all(at, names=[name])
    assert not result.error, result.error
    return result.summary


def test_the_defaults_are_the_issues_numbers_without_a_row(db: None) -> None:
    rules = reminder_rules()
    assert not ReminderRules.objects.exists()
    assert (rules.lead_follow_up_on, rules.lead_follow_up_hours, rules.lead_follow_up_manager) == (True, 24, True)
    assert (rules.call_back_on, rules.call_back_minutes) == (True, 60)
    assert (rules.quote_follow_up_on, rules.quote_follow_up_days) == (True, 3)
    assert rules.outside_channels == []


# --- new leads without follow-up ----------------------------------------------------------------------


@pytest.fixture
def managed(org: Org) -> Org:
    org.team_a.manager = org.manager
    org.team_a.save()
    return org


def _assigned(org: Org, when: dt.datetime) -> Lead:
    lead = make_lead(org.owner, name="迟到")
    Lead.objects.filter(pk=lead.pk).update(assigned_at=when)
    return lead


def test_the_lead_hours_decide_when_the_owner_and_manager_are_told(managed: Org) -> None:
    assigned = timezone.now()
    _assigned(managed, assigned)
    set_rules(managed, lead_follow_up_hours=48)
    assert run("leads.reminders", assigned + 25 * HOUR) == {"leads": 0, "notifications": 0}  # 24 h no longer
    assert run("leads.reminders", assigned + 48 * HOUR) == {"leads": 1, "notifications": 2}
    titles = sorted((n.recipient_id, n.title) for n in Notification.objects.all())
    assert titles == sorted(
        (pk, "Lead “迟到” not followed up 48 hours after assignment") for pk in (managed.owner.pk, managed.manager.pk)
    )
    # a shorter number counts from the next run on
    set_rules(managed, lead_follow_up_hours=2)
    second = _assigned(managed, assigned + 48 * HOUR)
    assert run("leads.reminders", assigned + 49 * HOUR) == {"leads": 0, "notifications": 0}
    assert run("leads.reminders", assigned + 50 * HOUR) == {"leads": 1, "notifications": 2}
    assert Lead.objects.get(pk=second.pk).reminded_at == assigned + 50 * HOUR


def test_the_manager_is_left_out_when_the_rule_says_so(managed: Org) -> None:
    assigned = timezone.now()
    _assigned(managed, assigned)
    set_rules(managed, lead_follow_up_manager=False)
    assert run("leads.reminders", assigned + 24 * HOUR) == {"leads": 1, "notifications": 1}
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [managed.owner.pk]


def test_the_lead_rule_switched_off_reminds_nobody_until_switched_on(managed: Org) -> None:
    assigned = timezone.now()
    lead = _assigned(managed, assigned)
    set_rules(managed, lead_follow_up_on=False)
    assert run("leads.reminders", assigned + 30 * HOUR) == {"leads": 0, "notifications": 0}
    assert not Notification.objects.exists() and Lead.objects.get(pk=lead.pk).reminded_at is None
    set_rules(managed, lead_follow_up_on=True)
    assert run("leads.reminders", assigned + 31 * HOUR) == {"leads": 1, "notifications": 2}


# --- call-backs -----------------------------------------------------------------------------------------


def _call_back(org: Org, customer: Customer) -> dt.datetime:
    now = timezone.now().replace(second=0, microsecond=0)
    due = now + 24 * HOUR
    communication_create(
        actor=org.owner, customer_id=customer.pk,
        data={"kind": "call", "outcome": "reached", "occurred_at": now - HOUR, "next_follow_up_at": due},
    )  # fmt: skip
    return due


def test_the_call_back_minutes_decide_how_early_the_owner_is_reminded(org: Org, customer: Customer) -> None:
    due = _call_back(org, customer)
    set_rules(org, call_back_minutes=30)
    minute = dt.timedelta(minutes=1)
    assert run("reminders.due", due - HOUR)["call_back_notified"] == 0  # the default hour no longer
    assert run("reminders.due", due - 31 * minute)["call_back_notified"] == 0
    assert run("reminders.due", due - 30 * minute)["call_back_notified"] == 1
    assert Notification.objects.get().recipient_id == org.owner.pk
    set_rules(org, call_back_minutes=180)
    other = make_customer_with_call_back(org, due + 24 * HOUR)
    assert run("reminders.due", due + 21 * HOUR)["call_back_notified"] == 1  # three hours ahead now
    assert Notification.objects.filter(link__endswith=f"/{other.pk}/").count() == 1


def make_customer_with_call_back(org: Org, due: dt.datetime) -> Customer:
    from pearl.customers.tests.factories import make_customer, mobile

    customer = make_customer(org.owner, contacts=[{"name": "李娜", "mobile": mobile(611)}])
    communication_create(
        actor=org.owner, customer_id=customer.pk,
        data={"kind": "call", "outcome": "reached", "occurred_at": timezone.now(), "next_follow_up_at": due},
    )  # fmt: skip
    return customer


def test_the_call_back_rule_switched_off_reminds_nobody(org: Org, customer: Customer) -> None:
    due = _call_back(org, customer)
    set_rules(org, call_back_on=False)
    assert run("reminders.due", due - HOUR / 2) == {"task_due_notified": 0, "call_back_notified": 0}
    set_rules(org, call_back_on=True)
    assert run("reminders.due", due - HOUR / 2) == {"task_due_notified": 0, "call_back_notified": 1}


# --- quotes without an answer -------------------------------------------------------------------------------


@pytest.fixture
def sent_quote(org: Org, customer: Customer) -> Quote:
    importlib.import_module("pearl.pipelines.migrations.0002_default_pipeline").create_default_pipeline(apps, None)
    assert Pipeline.objects.filter(is_default=True).exists()
    opp = make_opportunity(org.owner, customer.pk)
    quote = pipelines.quote_create(
        actor=org.owner, opportunity_id=opp.pk, lines=[{"description": "冷库门", "quantity": "1", "unit_price": "9"}]
    )
    pipelines.quote_send(actor=org.owner, quote_id=quote.pk)
    quote.refresh_from_db()
    return quote


def test_the_quote_days_decide_when_the_owner_gets_a_task(org: Org, sent_quote: Quote) -> None:
    sent = sent_quote.sent_at
    assert sent is not None
    set_rules(org, quote_follow_up_days=5)
    assert pipelines.quotes_follow_up_sweep(sent + dt.timedelta(days=3, hours=1)) == {"quotes": 0, "tasks": 0}
    assert pipelines.quotes_follow_up_sweep(sent + dt.timedelta(days=5)) == {"quotes": 1, "tasks": 1}
    task = Task.objects.get()
    assert task.owner_id == org.owner.pk and sent_quote.number in task.title


def test_the_quote_rule_switched_off_creates_no_task(org: Org, sent_quote: Quote) -> None:
    sent = sent_quote.sent_at
    assert sent is not None
    set_rules(org, quote_follow_up_on=False, quote_follow_up_days=1)
    assert pipelines.quotes_follow_up_sweep(sent + dt.timedelta(days=10)) == {"quotes": 0, "tasks": 0}
    assert not Task.objects.exists() and Quote.objects.get(pk=sent_quote.pk).follow_up_at is None
    set_rules(org, quote_follow_up_on=True)
    assert pipelines.quotes_follow_up_sweep(sent + dt.timedelta(days=10)) == {"quotes": 1, "tasks": 1}


# --- outside channels ---------------------------------------------------------------------------------------


def _named(user: User, display_name: str, email: str = "") -> User:
    User.objects.filter(pk=user.pk).update(display_name=display_name, email=email)
    user.refresh_from_db()
    return user


def test_by_default_reminders_stay_in_app(org: Org) -> None:
    owner = _named(org.owner, "王芳", "wang@example.cn")
    assert services.notify(recipients=[owner], title="回访", link="/customers/1/") == 1
    assert not OutboxMessage.objects.exists()


def test_chosen_channels_get_every_new_notification_once(org: Org) -> None:
    owner = _named(org.owner, "王芳", "wang@example.cn")
    teammate = _named(org.teammate, "", "")  # no address: no email, the robot names the username
    set_rules(org, send_email=True, send_dingtalk=True)
    services.notify(recipients=[owner, teammate], title="回访提醒", body="15:00 张伟", link="/customers/1/")
    got = sorted(OutboxMessage.objects.values_list("channel", "recipient", "subject", "body", "link"))
    assert got == [
        ("dingtalk", "teammate", "回访提醒", "15:00 张伟", "/customers/1/"),
        ("dingtalk", "王芳", "回访提醒", "15:00 张伟", "/customers/1/"),
        ("email", "wang@example.cn", "回访提醒", "15:00 张伟", "/customers/1/"),
    ]
    # notify(email=True) with email chosen too: still one email; a repeat with the same key: nothing
    OutboxMessage.objects.all().delete()
    services.notify(recipients=[owner], title="a", dedupe_key="k", email=True)
    services.notify(recipients=[owner], title="a", dedupe_key="k", email=True)
    assert list(OutboxMessage.objects.values_list("channel", flat=True).order_by("channel")) == ["dingtalk", "email"]


def test_sweep_reminders_go_to_the_chosen_channels(org: Org) -> None:
    set_rules(org, send_wecom=True)
    task = services.task_create(actor=org.owner, owner=org.owner, title="给王总回电话", due_at=timezone.now())
    assert run("reminders.due", timezone.now())["task_due_notified"] == 1
    message = OutboxMessage.objects.get()
    assert (message.channel, message.recipient) == ("wecom", "owner") and "给王总回电话" in message.subject
    assert message.link.endswith(f"#task-{task.pk}")


# --- the service -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("lead_follow_up_hours", 0, "from 1 to 720"),
        ("lead_follow_up_hours", -5, "from 1 to 720"),
        ("lead_follow_up_hours", 721, "from 1 to 720"),
        ("call_back_minutes", 5, "from 10 to 1440"),
        ("call_back_minutes", 100_000, "from 10 to 1440"),
        ("quote_follow_up_days", 0, "from 1 to 90"),
        ("quote_follow_up_days", 365, "from 1 to 90"),
        ("quote_follow_up_days", "3", "from 1 to 90"),
    ],
)
def test_out_of_range_numbers_are_refused_whole(org: Org, field: str, value: Any, words: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        set_rules(org, lead_follow_up_on=False, **{field: value})
    assert list(caught.value.field_errors) == [field] and words in str(caught.value.message)
    assert not ReminderRules.objects.exists()  # the valid switch in the same change was not saved either


def test_only_the_manage_settings_right_changes_the_rules(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        services.reminder_rules_update(actor=org.owner, data={"lead_follow_up_hours": 12})
    with pytest.raises(ValidationFailed):
        services.reminder_rules_update(actor=org.admin, data={"nonsense": 1})
    set_rules(org, lead_follow_up_hours=12)
    log = ChangeLog.objects.get(object_type="reminders.reminderrules")
    assert log.actor_id == org.admin.pk and log.changes == {"lead_follow_up_hours": [24, 12]}
    set_rules(org, lead_follow_up_hours=12)  # the same again: no second entry
    assert ChangeLog.objects.filter(object_type="reminders.reminderrules").count() == 1


# --- the settings page ------------------------------------------------------------------------------------------


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "lead_follow_up_on": "on", "lead_follow_up_hours": "24", "lead_follow_up_manager": "on",
        "call_back_on": "on", "call_back_minutes": "60", "quote_follow_up_on": "on", "quote_follow_up_days": "3",
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_shows_the_rules_and_saves_them(admin: Client, org: Org) -> None:
    page = admin.get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200 and "Reminder rules" in html
    assert 'name="lead_follow_up_hours"' in html and 'value="24"' in html and 'value="60"' in html
    assert html.count("channel-off") == 3  # no SMTP, no robots in the test settings
    assert 'href="/my/rules/"' in admin.get("/settings/").content.decode()

    saved = admin.post(PAGE, _form(lead_follow_up_hours="36", lead_follow_up_manager=None, send_wecom="on"))
    assert saved.status_code == 302 and saved["Location"] == PAGE
    rules = reminder_rules()
    assert (rules.lead_follow_up_hours, rules.lead_follow_up_manager, rules.outside_channels) == (36, False, ["wecom"])
    assert rules.updated_by == org.admin
    assert "Reminder rules saved" in admin.get(PAGE).content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lead_follow_up_hours": "0"}, "Enter whole hours from 1 to 720 (30 days) for the lead reminder."),
        ({"lead_follow_up_hours": "-3"}, "Enter whole hours from 1 to 720 (30 days) for the lead reminder."),
        ({"lead_follow_up_hours": "1000"}, "Enter whole hours from 1 to 720 (30 days) for the lead reminder."),
        ({"call_back_minutes": "1"}, "Enter minutes from 10 to 1440 (one day) for the call-back reminder"),
        ({"quote_follow_up_days": "91"}, "Enter whole days from 1 to 90 for the quote follow-up."),
        ({"quote_follow_up_days": "abc"}, "Enter a whole number."),
        ({"call_back_minutes": ""}, "Enter a number."),
    ],
)
def test_the_page_refuses_bad_numbers_and_saves_nothing(admin: Client, changes: dict[str, str], message: str) -> None:
    page = admin.post(PAGE, _form(lead_follow_up_on=None, send_email="on", **changes))
    assert page.status_code == 422
    assert message in page.content.decode()
    assert not ReminderRules.objects.exists()


def test_the_page_marks_the_refused_field(client: Client, org: Org) -> None:
    client.force_login(org.admin)  # the default language; the message itself is checked in English above
    page = client.post(PAGE, _form(lead_follow_up_hours="0"))
    field = page.content.decode().split('name="lead_follow_up_hours"')[0].rsplit('<div class="field', 1)[1]
    assert page.status_code == 422 and field.startswith(" invalid")


def test_the_page_needs_the_manage_settings_right(en: Client, org: Org) -> None:
    assert en.get(PAGE).status_code == 302  # to the log-in page
    en.force_login(org.owner)
    assert en.get(PAGE).status_code == 403
    assert en.post(PAGE, _form(lead_follow_up_hours="12")).status_code == 403
    en.force_login(org.manager)
    assert en.post(PAGE, _form(lead_follow_up_hours="12")).status_code == 403
    assert not ReminderRules.objects.exists()
