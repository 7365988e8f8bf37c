"""Public web forms (官网询价, 活动报名): managed by people with the settings right, submitted by anyone
who has the link.

A submission becomes a lead through ``leads_create_many`` (assigned by the rules on arrival, the
reason recorded on the lead; else the form's fallback owner, else its team's queue) with the visitor's
message as an inquiry follow-up. A visitor who writes again while their lead (same mobile) is still
open adds an inquiry to that lead instead of a second lead. Submissions of one form are serialised by
a row lock on the form, which also keeps its submission count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pearl.accounts.models import Team, User
from pearl.core import context
from pearl.core.changes import created, diff, record_change, snapshot
from pearl.core.context import Channel
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.ids import record_id
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.core.phones import normalize_phone
from pearl.core.text import clean_spaces, strip_control
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption
from pearl.customers.services.contacts import clean_email, clean_wechat
from pearl.integrations.models import WebForm
from pearl.leads import selectors as lead_selectors
from pearl.leads.models import Lead, LeadFollowUp
from pearl.leads.services import (
    Fallback,
    Inquiry,
    lead_inquiries_add,
    leads_create_many,
    may_own_leads,
    notify_asked_again,
)
from pearl.reminders.services import notify
from pearl.sales.models import ProductCategory

WEBFORM_FIELDS = [
    "name", "is_active", "title", "intro", "thank_you", "source", "product_interest", "ask_company", "ask_email",
    "ask_wechat", "ask_region", "ask_product", "ask_message", "fallback_owner", "fallback_team",
]  # fmt: skip
ASK_FIELDS = ("ask_company", "ask_email", "ask_wechat", "ask_region", "ask_product", "ask_message")
_CONFIG_TEXT = {"name": 64, "title": 100, "intro": 2000, "thank_you": 2000}
MESSAGE_LIMIT = 500  # a follow-up's summary
# Per visitor address and form: enough for a few people behind one office or café NAT, too few to flood
# the leads. Counted in Django's cache (per process with the default local-memory cache).
RATE_LIMIT = 5
RATE_WINDOW = 10 * 60  # seconds

# Province-level divisions by their full names, as the assignment rules and the import (cpca) spell them.
PROVINCES = (
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区",
    "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省",
    "宁夏回族自治区", "新疆维吾尔自治区", "台湾省", "香港特别行政区", "澳门特别行政区",
)  # fmt: skip

INVALID_MOBILE = gettext_lazy("Enter an 11-digit mainland mobile number, e.g. 13800138000.")


def webform_snapshot(form: WebForm) -> dict[str, Any]:
    return snapshot(form, WEBFORM_FIELDS)


# --- managing forms ----------------------------------------------------------------------------------


def _bool(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "on", "yes"}


def _lookup(raw: Any, field: str, find: Any, message: str, errors: dict[str, list[str]]) -> Any:
    """The record an id names (None for none), or an error on ``field``."""
    try:
        pk = record_id(raw)
    except (TypeError, ValueError):
        errors[field] = [message]
        return None
    if pk is None:
        return None
    found = find(pk)
    if found is None:
        errors[field] = [message]
    return found


def _config_values(data: Mapping[str, Any], instance: WebForm | None) -> dict[str, Any]:
    """Validated settings of a form (relations as instances); raises ValidationFailed with them all."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(WEBFORM_FIELDS)):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    for key, limit in _CONFIG_TEXT.items():
        if key not in data and instance is not None:
            continue
        raw = data.get(key)
        if raw is not None and not isinstance(raw, str):
            errors[key] = [_("Enter text.")]
            continue
        text = strip_control(raw or "").strip() if key in ("intro", "thank_you") else clean_spaces(raw or "")
        if len(text) > limit:
            errors[key] = [_("At most %(n)d characters.") % {"n": limit}]
        out[key] = text
    if "name" in out and not out["name"]:
        errors["name"] = [_("Give the form a name.")]
    if "title" in out and not out["title"]:
        errors["title"] = [_("Give the title visitors see.")]
    for key in ("is_active", *ASK_FIELDS):
        if key in data:
            out[key] = _bool(data[key])
    if "source" in data:
        current = instance.source_id if instance else None

        def find_source(pk: int) -> ChoiceOption | None:
            # A retired option may stay on a form that already had it; a new choice must be in use.
            options = ChoiceOption.objects.filter(list_name=ChoiceList.SOURCE)
            return options.filter(pk=pk).first() if pk == current else options.filter(pk=pk, is_active=True).first()

        out["source"] = _lookup(data["source"], "source", find_source, _("Choose one of the listed options."), errors)
    if "product_interest" in data:
        out["product_interest"] = _lookup(
            data["product_interest"],
            "product_interest",
            lambda pk: ProductCategory.objects.filter(pk=pk).first(),
            _("Choose a product category."),
            errors,
        )
    if "fallback_owner" in data:
        owner = _lookup(
            data["fallback_owner"],
            "fallback_owner",
            lambda pk: User.objects.select_related("role").filter(pk=pk, is_active=True).first(),
            _("Choose an active user."),
            errors,
        )
        if owner is not None and not may_own_leads(owner):
            errors["fallback_owner"] = [_("%(user)s cannot take leads (on leave, or the role may not edit).") % {
                "user": owner}]  # fmt: skip
        out["fallback_owner"] = owner
    if "fallback_team" in data:
        out["fallback_team"] = _lookup(
            data["fallback_team"],
            "fallback_team",
            lambda pk: Team.objects.filter(pk=pk).first(),
            _("Choose a team."),
            errors,
        )
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return out


@transaction.atomic
def webform_create(*, actor: User, data: Mapping[str, Any]) -> WebForm:
    """A new form, active, under a fresh random link."""
    require(actor, "manage_settings")
    values = _config_values(data, None)
    form = WebForm(created_by=actor, **values)
    form.save()
    record_change(actor=actor, action=ChangeAction.CREATE, instance=form, changes=created(webform_snapshot(form)))
    return form


@transaction.atomic
def webform_update(*, actor: User, form_id: int, data: Mapping[str, Any]) -> WebForm:
    """Change the settings given (``is_active`` False closes the public page; the link stays the same)."""
    require(actor, "manage_settings")
    form = WebForm.objects.select_for_update().filter(pk=form_id).first()
    if form is None:
        raise NotFound(_("Web form not found."))
    values = _config_values(data, form)
    before = webform_snapshot(form)
    for key, value in values.items():
        setattr(form, key, value)
    changes = diff(before, webform_snapshot(form))
    if changes:
        form.save()
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=form, changes=changes)
    return form


# --- visitors ----------------------------------------------------------------------------------------


def _rate_key(form_id: int, address: str) -> str:
    return f"pearl:webform:{form_id}:{address}"


def submission_throttled(*, form_id: int, address: str) -> bool:
    """Whether this address has used up its submissions to this form for the current window."""
    return int(cache.get(_rate_key(form_id, address)) or 0) >= RATE_LIMIT


def submission_counted(*, form_id: int, address: str) -> None:
    """Count one submission (a lead, an inquiry or a bot's) against the address's allowance; the window
    starts at its first submission."""
    key = _rate_key(form_id, address)
    if not cache.add(key, 1, RATE_WINDOW):
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, RATE_WINDOW)


@dataclass(frozen=True)
class Submission:
    lead: Lead
    new: bool  # False: another inquiry on the visitor's open lead
    follow_up: LeadFollowUp


def _text(data: Mapping[str, Any], key: str) -> str:
    raw = data.get(key)
    return clean_spaces(raw) if isinstance(raw, str) else ""


def _visitor_values(form: WebForm, data: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The lead row a submission makes (only the fields the form asks) and the visitor's message; raises
    ValidationFailed with every problem, in words for the visitor."""
    errors: dict[str, list[str]] = {}
    row: dict[str, Any] = {"name": _text(data, "name")}
    if not row["name"]:
        errors["name"] = [_("Please enter your name.")]
    elif len(row["name"]) > 64:
        errors["name"] = [_("At most %(n)d characters.") % {"n": 64}]
    raw_mobile = _text(data, "mobile")
    mobile = ""
    if not raw_mobile:
        errors["mobile"] = [_("Please enter your mobile number.")]
    else:
        try:
            mobile = normalize_phone(raw_mobile)
        except ValidationFailed:
            mobile = ""
        if not (len(mobile) == 11 and mobile.startswith("1")):
            errors["mobile"] = [str(INVALID_MOBILE)]
    row["mobile"] = mobile
    if form.ask_company:
        row["company"] = _text(data, "company")
        if len(row["company"]) > 200:
            errors["company"] = [_("At most %(n)d characters.") % {"n": 200}]
    if form.ask_email:
        row["email"], error = clean_email(_text(data, "email"))
        if error:
            errors["email"] = [error]
    if form.ask_wechat:
        row["wechat"], error = clean_wechat(_text(data, "wechat"))
        if error:
            errors["wechat"] = [error]
    if form.ask_region:
        row["province"], row["city"] = _text(data, "province"), _text(data, "city")
        if row["province"] and row["province"] not in PROVINCES:
            errors["province"] = [_("Choose a province from the list.")]
        if len(row["city"]) > 32:
            errors["city"] = [_("At most %(n)d characters.") % {"n": 32}]
    category = form.product_interest_id
    if form.ask_product and _text(data, "product_interest"):
        try:
            chosen = record_id(_text(data, "product_interest"))
        except (TypeError, ValueError):
            chosen = None
        if chosen is None or not ProductCategory.objects.filter(pk=chosen).exists():
            errors["product_interest"] = [_("Choose a product category.")]
        category = chosen
    row["product_interest"] = category
    # A source option retired after the form was set up is left off rather than refusing visitors.
    if form.source_id and form.source is not None and form.source.is_active:
        row["source"] = form.source_id
    message = ""
    if form.ask_message:
        raw = data.get("message")
        message = strip_control(raw).strip() if isinstance(raw, str) else ""
        if len(message) > MESSAGE_LIMIT:
            errors["message"] = [_("At most %(n)d characters.") % {"n": MESSAGE_LIMIT}]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return row, message


def _tell_queue_manager(form: WebForm, lead: Lead) -> None:
    """A new lead nobody owns waits in the fallback team's queue: tell that team's manager, since no
    owner is notified and the no-follow-up reminder only watches owned leads. (Owners hear of their new
    lead from ``leads_create_many``, of a repeat from ``notify_asked_again``.)"""
    if lead.owner_id is not None or lead.team_id is None:
        return
    manager = Team.objects.select_related("manager").get(pk=lead.team_id).manager
    if manager is None or not manager.is_active:
        return
    with translation.override(settings.LANGUAGE_CODE):  # the company's language, not the visitor's
        title = _("New lead from the web form “%(form)s” waits in the team queue: %(lead)s") % {
            "form": form.name,
            "lead": lead,
        }
    notify(
        recipients=[manager],
        title=title,
        body=lead.assignment_reason,
        link=reverse("leads:lead_detail", args=[lead.pk]),
        subject=("leads.lead", lead.pk),
        dedupe_key=f"integrations.webform_queued:{lead.pk}",
    )


def webform_submit(*, form_id: int, data: Mapping[str, Any]) -> Submission:
    """A visitor's submission: a new lead assigned on arrival, or, while a lead with the same mobile is
    open, another inquiry on it. Either way the message is an inquiry follow-up; nothing is written when
    the input is refused (ValidationFailed) or the form is closed (NotFound)."""
    ctx = context.current()
    with context.acting_through(Channel.FORM, ctx.request_id or None), transaction.atomic():
        form = WebForm.objects.select_for_update().filter(pk=form_id).first()
        if form is None or not form.is_active:
            raise NotFound(_("This form is closed or does not exist."))
        row, message = _visitor_values(form, data)
        now = timezone.now()
        # The same "open lead of this person" as channel events and imports find (the oldest one).
        held = lead_selectors.open_leads_holding(pairs=[("mobile", row["mobile"])]).get(("mobile", row["mobile"]))
        lead = Lead.objects.get(pk=held[0]) if held else None
        new = lead is None
        if lead is None:
            result = leads_create_many(
                actor=None,
                rows=[row],
                fallback=Fallback(owner=form.fallback_owner, team=form.fallback_team),
                label=f"web form {form.name}",
            )
            if not result.created:
                errors = result.errors.get(0) or {"name": [_("The submission could not be saved.")]}
                raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
            lead = result.created[0]
        # The visitor's words, not a follow-up by the owner: no first follow-up stamp, no status change.
        (follow_up,) = lead_inquiries_add(
            inquiries=[(lead.pk, Inquiry(at=now, summary=message, source=f"form:{form.pk}"))]
        )
        WebForm.objects.filter(pk=form.pk).update(submission_count=F("submission_count") + 1, last_submitted_at=now)
        if new:
            _tell_queue_manager(form, lead)
        else:
            notify_asked_again([(lead.pk, follow_up.pk, follow_up.summary)])
    return Submission(lead=lead, new=new, follow_up=follow_up)
