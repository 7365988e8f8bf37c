"""Pipeline pages: the kanban board (drag a card or pick "move to…"), the opportunity list, detail
(stage history with time in each stage, change log), the create / edit form, move and delete.

The board's drop posts to ``opportunity_move`` with the card's version; a script asking for JSON
(``Accept: application/json``) gets the refreshed board's HTML on success and a problem (status,
``code``, ``detail``) on refusal, so the card goes back and the message shows. Without JavaScript the
same form posts and redirects back with the message.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.accounts.models import User
from pearl.core.errors import ApplicationError, PreconditionFailed, ValidationFailed
from pearl.core.pages import FORM_ERRORS, actor_of, add_service_errors, htmx_target, page_view, render_page
from pearl.core.paging import form_version, page_number, paginate
from pearl.core.permissions import require
from pearl.customers import selectors as customer_selectors
from pearl.pipelines import selectors, services
from pearl.pipelines.choices import OpportunityStatus, QuoteStatus, StageKind
from pearl.pipelines.forms import (
    OpportunityFilterPageForm,
    OpportunityForm,
    PipelineCreateForm,
    PipelineForm,
    StageForm,
    StageRuleForm,
)
from pearl.pipelines.models import Opportunity, Pipeline
from pearl.pipelines.pdf import pdf_response
from pearl.pipelines.services.expiry import business_date, default_valid_until, has_run_out

page = page_view(error_template="pipelines/error.html")
render = functools.partial(render_page, nav="pipelines")
HISTORY_LIMIT = 50
PICKER_LIMIT = 10


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _pipelines(actor: User) -> list[Pipeline]:
    return list(selectors.pipeline_list(actor=actor))


# --- the board ----------------------------------------------------------------------------------------------


@page
@require_GET
def index(request: HttpRequest) -> HttpResponseBase:
    pipeline = selectors.default_pipeline(actor=actor_of(request))
    if pipeline is None:
        return redirect("pipelines:opportunity_list")
    return redirect("pipelines:board", pk=pipeline.pk)


def _board_context(request: HttpRequest, actor: User, pk: int, params: dict[str, Any]) -> dict[str, Any]:
    filters = {k: v for k, v in params.items() if k in ("owner", "q") and v}
    board = selectors.board(actor=actor, pipeline_id=pk, filters=filters)
    back = reverse("pipelines:board", args=[board.pipeline.pk]) + (f"?{urlencode(filters)}" if filters else "")
    cards = CardRenderer(request, board, back=back, may_edit=actor.may("edit"))
    return {
        "board": board,
        "columns": [
            (column, cards.column(column), money(column.amount), money(column.weighted)) for column in board.columns
        ],
        "totals": {"amount": money(board.amount), "weighted": money(board.weighted)},
        "pipelines": _pipelines(actor),
        "filters": filters,
        "query": urlencode(filters),
    }


def money(amount: Decimal) -> str:
    """¥ amounts on the board: grouped by thousands with two places (12,800.00), as on the cards."""
    return f"{amount:,.2f}"


class CardRenderer:
    """The board's cards as HTML, built in Python: a full board is 1,400 cards (7 columns × 200), and
    the template engine took ~0.6 s for 1,000 of them; this takes a few milliseconds. Everything that
    repeats (labels, stage options, the URLs' stem, the CSRF field) is built once; every value is escaped."""

    def __init__(self, request: HttpRequest, board: selectors.Board, *, back: str, may_edit: bool) -> None:
        self.now = timezone.now()
        self.stem = reverse("pipelines:opportunity_list")
        self.may_edit = may_edit
        self.days: dict[int, str] = {}
        options = format_html_join(
            "", '<option value="{}">{}</option>', ((c.stage.pk, c.stage.name) for c in board.columns)
        )
        placeholder = format_html('<option value="" selected disabled>{}</option>', _("Choose a stage"))
        self.move_form_tail = format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}"><input type="hidden" name="next" value="{}">'
            '<select name="stage" aria-label="{}">{}{}</select>'
            '<input type="text" name="loss_reason" maxlength="200" placeholder="{}" aria-label="{}">'
            '<button class="btn secondary" type="submit">{}</button></form></details>',
            get_token(request), back, _("Stage"), placeholder, options,
            _("Loss reason (for a lost stage)"), _("Loss reason"), _("Move"),
        )  # fmt: skip
        self.move_label = escape(_("Move to…"))

    def _days(self, n: int) -> str:
        if n not in self.days:
            self.days[n] = escape(ngettext("%(n)d day in stage", "%(n)d days in stage", n) % {"n": n})
        return self.days[n]

    def column(self, column: selectors.Column) -> SafeString:
        stage = column.stage.pk
        parts = []
        for card in column.cards:
            url = f"{self.stem}{card.pk}/"
            days = max(0, (self.now - card.stage_entered_at).days)
            owner = escape(str(card.owner)) if card.owner else "—"
            html = (
                f'<article class="opp-card" data-id="{card.pk}" data-version="{card.version}" data-stage="{stage}"'
                f' data-move-url="{url}move/"><span class="drag-handle" aria-hidden="true">⠿</span>'
                f'<a class="card-name" href="{url}">{escape(card.name)}</a>'
                f'<div class="card-customer">{escape(card.customer.name)}</div>'
                f'<div class="card-meta small"><span class="money">¥{money(card.amount)}</span> · '
                f'{owner} · <span class="card-days">{self._days(days)}</span></div>'
            )
            if self.may_edit:
                html += (
                    f'<details class="card-move"><summary>{self.move_label}</summary>'
                    f'<form method="post" action="{url}move/">'
                    f'<input type="hidden" name="version" value="{card.version}">'
                    f"{self.move_form_tail}"
                )
            parts.append(html + "</article>")
        return mark_safe("".join(parts))  # every value above is escaped or a number


@page
@require_GET
def board(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        context = _board_context(request, actor, pk, request.GET.dict())
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
        return redirect("pipelines:board", pk=pk)
    template = "pipelines/_board.html" if htmx_target(request) == "board" else "pipelines/board.html"
    return render(request, template, context)


@page
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = actor_of(request)
    opportunity = selectors.opportunity_get(actor=actor, opportunity_id=pk)
    back = request.POST.get("next") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("pipelines:opportunity_detail", args=[pk])
    try:
        services.opportunity_move(
            actor=actor,
            opportunity_id=pk,
            stage_id=request.POST.get("stage", ""),  # type: ignore[arg-type]  # the service checks it
            loss_reason=request.POST.get("loss_reason", ""),
            expected_version=form_version(request.POST.get("version")),
        )
    except (ValidationFailed, PreconditionFailed) as exc:
        if _wants_json(request):
            return _problem(exc)
        messages.error(request, str(exc.message))
        return redirect(back)
    if _wants_json(request):
        context = _board_context(request, actor, opportunity.pipeline_id, request.POST.dict())
        return render(request, "pipelines/_board.html", context)
    messages.success(request, _("“%(name)s” moved.") % {"name": opportunity.name})
    return redirect(back)


def _problem(exc: ApplicationError) -> JsonResponse:
    body = {
        "status": exc.status,
        "code": exc.code,
        "detail": str(exc.message),
        "errors": {k: [str(m) for m in v] for k, v in exc.field_errors.items()},
        **exc.extra,
    }
    return JsonResponse(body, status=exc.status, json_dumps_params={"ensure_ascii": False})


# --- list and detail -------------------------------------------------------------------------------------


@page
@require_GET
def opportunity_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    params = request.GET.dict()
    number, page_error = page_number(params.pop("page", None))
    pipelines = _pipelines(actor)
    form = OpportunityFilterPageForm(request.GET or None, pipelines=[(p.pk, p.name) for p in pipelines])
    context: dict[str, Any] = {"form": form, "errors": [], "rows": [], "pager": None, "pipelines": pipelines}
    try:
        qs = selectors.opportunity_list(actor=actor, filters=params)
    except ValidationFailed as exc:
        context["errors"] = [f"{k}: {m}" for k, v in exc.field_errors.items() for m in v] or [str(exc.message)]
    else:
        count = qs.count()
        context["rows"], context["pager"] = paginate(qs, number, count, False)
        context["count"] = count
    if page_error:
        context["errors"].append(page_error)
    template = (
        "pipelines/_opportunity-results.html"
        if htmx_target(request) == "results"
        else "pipelines/opportunity_list.html"
    )
    return render(request, template, context)


@page
@require_GET
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    opportunity = selectors.opportunity_get(actor=actor, opportunity_id=pk)
    spells = selectors.stage_history(actor=actor, opportunity_id=pk)
    totals = selectors.time_in_stages(spells)
    stages = list(opportunity.pipeline.stages.all())
    return render(
        request,
        "pipelines/opportunity_detail.html",
        {
            "opportunity": opportunity,
            "spells": [{"spell": s, "text": duration_text(s.duration)} for s in reversed(spells)],
            "stage_times": [(s, duration_text(totals[s.pk])) for s in stages if s.pk in totals],
            "stages": stages,
            "lines": list(opportunity.lines.select_related("product")),
            "history": _history(actor, opportunity, stages),
            "pipelines": _pipelines(actor),
            "days": selectors.days_in_stage(opportunity),
            "quotes": list(selectors.quote_list(actor=actor, opportunity_id=pk)),
        },
    )


def duration_text(duration: dt.timedelta) -> str:
    """“3 days 4 hours”, “5 hours”, “12 minutes”: how long something stayed in a stage."""
    days, seconds = duration.days, duration.seconds
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    if days:
        text = ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
        return text + (" " + ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours} if hours else "")
    if hours:
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def _history(actor: User, opportunity: Any, stages: list[Any]) -> list[dict[str, Any]]:
    """The change log with field labels, and stage names instead of ids."""
    names = {s.pk: s.name for s in stages}
    entries = []
    for log in selectors.opportunity_history(actor=actor, opportunity_id=opportunity.pk)[:HISTORY_LIMIT]:
        changes = []
        if log.action == "update":
            for name, (before, after) in sorted(log.changes.items()):
                if name in ("stage", "from_stage", "to_stage"):
                    before, after = names.get(before, before), names.get(after, after)
                elif name == "status":
                    before, after = _status_label(before), _status_label(after)
                changes.append({"label": _field_label(name), "before": before, "after": after})
        entries.append({"log": log, "changes": changes})
    return entries


def _field_label(name: str) -> str:
    try:
        return str(Opportunity._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
    except FieldDoesNotExist:
        return name


def _status_label(value: Any) -> Any:
    return OpportunityStatus(value).label if value in OpportunityStatus.values else value


# --- the form -------------------------------------------------------------------------------------------


def _owner_choices(actor: User) -> list[tuple[int, str]] | None:
    """People an opportunity may be given to; None (no field) for someone who may only own their own."""
    if actor.data_scope == "own":
        return None
    people = User.objects.filter(is_active=True).order_by("username")
    return [(u.pk, str(u)) for u in people]


def _form(
    actor: User, data: Any = None, *, initial: dict[str, Any] | None = None, editing: bool = False
) -> OpportunityForm:
    pipelines = _pipelines(actor)
    chosen = next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
    stages = [
        (s.pk, f"{p.name} · {s.name}" if len(pipelines) > 1 else s.name) for p in pipelines for s in p.stages.all()
    ]
    initial = {"pipeline": chosen.pk if chosen else None, "owner": actor.pk, **(initial or {})}
    return OpportunityForm(
        data,
        initial=initial,
        pipelines=[(p.pk, p.name) for p in pipelines],
        stages=stages,
        owners=_owner_choices(actor),
        editing=editing,
    )


def _customer_name(actor: User, customer_id: Any) -> str:
    if not customer_id:
        return ""
    found = customer_selectors.customer_visible(actor=actor).filter(pk=customer_id).values_list("name", flat=True)
    return found.first() or ""


@page
@require_http_methods(["GET", "POST"])
def opportunity_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "create")
    customer_id = request.GET.get("customer") if request.GET.get("customer", "").isdigit() else None
    form = _form(actor, request.POST or None, initial={"customer": customer_id})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opportunity = services.opportunity_create(
                actor=actor,
                customer_id=data.get("customer"),  # type: ignore[arg-type]  # the service checks it
                name=data.get("name", ""),
                amount=data.get("amount") or None,
                pipeline_id=data.get("pipeline"),
                stage_id=data.get("stage"),
                expected_close_date=data.get("expected_close_date"),
                owner_id=data.get("owner"),
                loss_reason=data.get("loss_reason", ""),
            )
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Opportunity “%(name)s” created.") % {"name": opportunity.name})
            return redirect("pipelines:opportunity_detail", pk=opportunity.pk)
    elif request.method == "POST":
        status = 422
    chosen = request.POST.get("customer") or customer_id
    context = {
        "form": form,
        "opportunity": None,
        "customer_name": _customer_name(actor, chosen),
        "pipelines": _pipelines(actor),
    }
    return render(request, "pipelines/opportunity_form.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "edit")
    opportunity = selectors.opportunity_get(actor=actor, opportunity_id=pk)
    initial = {
        "name": opportunity.name,
        "customer": opportunity.customer_id,
        "amount": f"{opportunity.amount:.2f}",
        "expected_close_date": opportunity.expected_close_date,
        "owner": opportunity.owner_id,
        "version": opportunity.version,
    }
    form = _form(actor, request.POST or None, initial=initial, editing=True)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version", None)
        data = {k: v for k, v in data.items() if k in ("name", "customer", "amount", "expected_close_date", "owner")}
        if "owner" in data and data["owner"] is None:
            data.pop("owner")
        try:
            services.opportunity_update(actor=actor, opportunity_id=pk, data=data, expected_version=version)
        except (*FORM_ERRORS, PreconditionFailed) as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            messages.success(
                request, _("Opportunity “%(name)s” saved.") % {"name": data.get("name") or opportunity.name}
            )
            return redirect("pipelines:opportunity_detail", pk=pk)
    elif request.method == "POST":
        status = 422
    context = {
        "form": form,
        "opportunity": opportunity,
        "customer_name": _customer_name(actor, request.POST.get("customer") or opportunity.customer_id),
        "pipelines": _pipelines(actor),
    }
    return render(request, "pipelines/opportunity_form.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def opportunity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    opportunity = selectors.opportunity_get(actor=actor, opportunity_id=pk)
    require(actor, "delete")
    error, status = None, 200
    if request.method == "POST":
        try:
            services.opportunity_delete(
                actor=actor, opportunity_id=pk, expected_version=form_version(request.POST.get("version"))
            )
        except (*FORM_ERRORS, PreconditionFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Opportunity “%(name)s” deleted.") % {"name": opportunity.name})
            return redirect("pipelines:opportunity_list")
    context = {"opportunity": opportunity, "error": error}
    return render(request, "pipelines/opportunity_confirm_delete.html", context, status=status)


@page
@require_GET
def customer_picker(request: HttpRequest) -> HttpResponse:
    """Customers matching what was typed (the form's picker, through htmx)."""
    actor = actor_of(request)
    q = request.GET.get("customer_q", "").strip()[:64]
    rows: list[Any] = []
    if q:
        try:
            rows = list(customer_selectors.customer_list(actor=actor, filters={"q": q})[:PICKER_LIMIT])
        except ValidationFailed:
            rows = []
    return render(request, "pipelines/_customer-picker.html", {"rows": rows, "q": q})


# --- automatic moves: the rules page (manage_settings) ----------------------------------------------------


@page
@require_http_methods(["GET", "POST"])
def stage_rules(request: HttpRequest, pk: int) -> HttpResponse:
    """The pipeline's automatic moves: add or replace a rule, or remove one."""
    actor = actor_of(request)
    require(actor, "manage_settings")
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pk)
    stages = [s for s in pipeline.stages.all() if s.kind != StageKind.LOST]
    form = StageRuleForm(request.POST or None, stages=[(s.pk, s.name) for s in stages])
    status = 200
    if request.method == "POST" and request.POST.get("delete"):
        rule_id = request.POST["delete"]
        if (
            selectors.stage_rule_list(actor=actor, pipeline_id=pk)
            .filter(pk=rule_id if rule_id.isdigit() else 0)
            .exists()
        ):
            services.stage_rule_delete(actor=actor, rule_id=int(rule_id))
            messages.success(request, _("Rule removed."))
        return redirect("pipelines:stage_rules", pk=pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.stage_rule_set(
                actor=actor,
                stage_id=data["stage"],
                communication_kind=data["communication_kind"],
                outcome=data.get("outcome") or "",
            )
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Rule saved."))
            return redirect("pipelines:stage_rules", pk=pk)
    elif request.method == "POST":
        status = 422
    context = {
        "pipeline": pipeline,
        "rules": list(selectors.stage_rule_list(actor=actor, pipeline_id=pk)),
        "form": form,
        "pipelines": _pipelines(actor),
    }
    return render(request, "pipelines/stage_rules.html", context, status=status)


# --- pipelines and stages: the settings pages (manage_settings) -------------------------------------------

PIPELINE_OPS = ("create", "default", "activate", "deactivate", "delete")
STAGE_OPS = ("rename", "stage_add", "stage_save", "up", "down", "stage_delete")


@page
@require_http_methods(["GET", "POST"])
def pipeline_settings(request: HttpRequest) -> HttpResponseBase:
    """Every pipeline (switched-off ones too): create one, make one the default, switch one off or on,
    delete an unused one. A refusal shows its message on the page (status 409 / 422) and changes nothing."""
    actor = actor_of(request)
    require(actor, "manage_settings")
    form = PipelineCreateForm(request.POST if request.POST.get("op") == "create" else None)
    error, status = None, 200
    op = request.POST.get("op", "")
    if request.method == "POST" and op == "create" and form.is_valid():
        try:
            created = services.pipeline_create(
                actor=actor,
                name=form.cleaned_data["name"],
                stages=services.default_stage_data() if form.cleaned_data["standard_stages"] else [],
            )
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Pipeline “%(name)s” created.") % {"name": created.name})
            return redirect("pipelines:pipeline_config", pk=created.pk)
    elif request.method == "POST" and op in PIPELINE_OPS[1:]:
        target = selectors.pipeline_get(actor=actor, pipeline_id=request.POST.get("pipeline"))
        try:
            done = _pipeline_op(actor, target, op)
        except FORM_ERRORS as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, done)
            return redirect("pipelines:pipeline_settings")
    elif request.method == "POST":
        status = 422
        if op != "create":
            error = _("Unknown action.")
    all_pipelines = list(selectors.pipeline_list(actor=actor, include_inactive=True))
    counts = selectors.opportunity_counts(actor=actor, by="pipeline")
    context = {
        "rows": [(p, counts.get(p.pk, 0)) for p in all_pipelines],
        "form": form,
        "error": error,
        "pipelines": _pipelines(actor),
    }
    return render(request, "pipelines/pipeline_settings.html", context, status=status)


def _pipeline_op(actor: User, pipeline: Pipeline, op: str) -> str:
    """Do a list-page action; the success message."""
    name = {"name": pipeline.name}
    if op == "delete":
        services.pipeline_delete(actor=actor, pipeline_id=pipeline.pk)
        return _("Pipeline “%(name)s” deleted.") % name
    if op == "default":
        services.pipeline_update(actor=actor, pipeline_id=pipeline.pk, data={"is_default": True})
        return _("“%(name)s” is now the default pipeline.") % name
    active = op == "activate"
    services.pipeline_update(actor=actor, pipeline_id=pipeline.pk, data={"active": active})
    return (_("Pipeline “%(name)s” switched on.") if active else _("Pipeline “%(name)s” switched off.")) % name


def _stage_data(form: StageForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {"name": data["name"], "probability": data["probability"], "kind": data["kind"], "role": data["role"]}


@page
@require_http_methods(["GET", "POST"])
def pipeline_config(request: HttpRequest, pk: int) -> HttpResponseBase:
    """One pipeline's name and stages: rename it; add, edit (name, win probability, kind, role), move up
    or down and delete stages. Each stage is its own form, so a phone shows them as a column of cards."""
    actor = actor_of(request)
    require(actor, "manage_settings")
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pk)
    op = request.POST.get("op", "")
    stage_id = request.POST.get("stage", "")
    posted_stage = int(stage_id) if op in STAGE_OPS[2:] and stage_id.isdigit() else None
    rename = PipelineForm(request.POST if op == "rename" else None, initial={"name": pipeline.name})
    add = StageForm(request.POST if op == "stage_add" else None, initial={"probability": "0", "kind": "open"})
    own_stage = posted_stage is not None and pipeline.stages.filter(pk=posted_stage).exists()
    bound = StageForm(request.POST) if op == "stage_save" and own_stage else None  # else "not found" on top
    error, status = None, 200
    if request.method == "POST":
        try:
            done = _stage_op(actor, pipeline, op, posted_stage, rename=rename, add=add, bound=bound)
        except FORM_ERRORS as exc:
            form = {"rename": rename, "stage_add": add, "stage_save": bound}.get(op)
            if form is not None:
                add_service_errors(form, exc)
            else:
                error = exc.message
            status = exc.status
        else:
            if done is None:
                status = 422
            else:
                messages.success(request, done)
                return redirect("pipelines:pipeline_config", pk=pk)
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pk)  # fresh after a refusal too
    counts = selectors.opportunity_counts(actor=actor, by="stage")
    stages = list(pipeline.stages.all())
    rows = []
    for index, stage in enumerate(stages):
        initial = {"name": stage.name, "probability": stage.probability, "kind": stage.kind, "role": stage.role or ""}
        form = bound if bound is not None and posted_stage == stage.pk else StageForm(initial=initial)
        rows.append({"stage": stage, "form": form, "count": counts.get(stage.pk, 0),
                     "first": index == 0, "last": index == len(stages) - 1})  # fmt: skip
    context = {
        "pipeline": pipeline,
        "rows": rows,
        "rename": rename,
        "add": add,
        "error": error,
        "error_stage": posted_stage if error else None,
        "pipelines": _pipelines(actor),
    }
    return render(request, "pipelines/pipeline_config.html", context, status=status)


def _stage_op(
    actor: User,
    pipeline: Pipeline,
    op: str,
    stage_id: int | None,
    *,
    rename: PipelineForm,
    add: StageForm,
    bound: StageForm | None,
) -> str | None:
    """Do a pipeline-page action; the success message, or None when the form itself is invalid."""
    if op == "rename":
        if not rename.is_valid():
            return None
        data = {"name": rename.cleaned_data["name"]}
        saved = services.pipeline_update(actor=actor, pipeline_id=pipeline.pk, data=data)
        return _("Pipeline “%(name)s” saved.") % {"name": saved.name}
    if op == "stage_add":
        if not add.is_valid():
            return None
        stage = services.stage_create(actor=actor, pipeline_id=pipeline.pk, data=_stage_data(add))
        return _("Stage “%(name)s” added.") % {"name": stage.name}
    if op not in STAGE_OPS:
        raise ValidationFailed(_("Unknown action."))
    if stage_id is None or not pipeline.stages.filter(pk=stage_id).exists():
        raise ValidationFailed(_("Stage not found."))
    if op == "stage_save":
        assert bound is not None
        if not bound.is_valid():
            return None
        stage = services.stage_update(actor=actor, stage_id=stage_id, data=_stage_data(bound))
        return _("Stage “%(name)s” saved.") % {"name": stage.name}
    if op == "stage_delete":
        name = pipeline.stages.get(pk=stage_id).name
        services.stage_delete(actor=actor, stage_id=stage_id)
        return _("Stage “%(name)s” deleted.") % {"name": name}
    stage = services.stage_move(actor=actor, stage_id=stage_id, direction=op)
    return (_("“%(name)s” moved up.") if op == "up" else _("“%(name)s” moved down.")) % {"name": stage.name}


# --- quotes -----------------------------------------------------------------------------------------------

QUOTE_FORM_ROWS = 5
QUOTE_LINE_FIELDS = ("product", "description", "quantity", "unit", "unit_price", "discount")
PRODUCT_CHOICES_LIMIT = 500


def _quote_rows(post: Any) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(every row as typed, the rows with something in them) from ``<field>_<n>`` inputs."""
    rows = [{f: post.get(f"{f}_{i}", "").strip() for f in QUOTE_LINE_FIELDS} for i in range(QUOTE_FORM_ROWS)]
    return rows, [row for row in rows if any(row.values())]


def _product_choices(actor: User) -> list[Any]:
    from pearl.sales import selectors as sales_selectors

    return list(sales_selectors.product_list(actor=actor).filter(is_active=True)[:PRODUCT_CHOICES_LIMIT])


@page
@require_http_methods(["GET", "POST"])
def quote_create(request: HttpRequest, pk: int) -> HttpResponse:
    """新建报价: a draft quote with up to five line rows (a product, or a description of what is quoted)."""
    actor = actor_of(request)
    opportunity = selectors.opportunity_get(actor=actor, opportunity_id=pk)
    require(actor, "edit")
    rows, filled = _quote_rows(request.POST)
    errors: dict[str, list[str]] = {}
    error, status = None, 200
    if request.method == "POST":
        try:
            quote = services.quote_create(
                actor=actor,
                opportunity_id=pk,
                lines=[{k: v for k, v in row.items() if v} for row in filled],
                valid_until=request.POST.get("valid_until") or None,
                note=request.POST.get("note", ""),
            )
        except FORM_ERRORS as exc:
            error, status = exc.message, exc.status
            errors = dict(getattr(exc, "field_errors", None) or {})
        else:
            messages.success(request, _("Quote %(number)s created.") % {"number": quote.number})
            return redirect("pipelines:quote_detail", pk=quote.pk)
    if filled:  # the rows as typed are shown again, empty ones after
        rows = filled + [dict.fromkeys(QUOTE_LINE_FIELDS, "") for _ in range(QUOTE_FORM_ROWS - len(filled))]
    context = {
        "opportunity": opportunity,
        "rows": [{"index": i, **row} for i, row in enumerate(rows)],
        "products": _product_choices(actor),
        # A new quote's form offers 30 days of validity; the field may be changed or cleared (no expiry).
        "valid_until": request.POST.get("valid_until", "")
        if request.method == "POST"
        else default_valid_until().isoformat(),
        "note": request.POST.get("note", ""),
        "error": error,
        "messages_list": [m for messages_ in errors.values() for m in messages_],
    }
    return render(request, "pipelines/quote_form.html", context, status=status)


@page
@require_GET
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    quote = selectors.quote_get(actor=actor, quote_id=pk)
    # Past its date but not yet swept: say so, and offer no "accepted" button (the service refuses it).
    ran_out = quote.status == QuoteStatus.SENT and has_run_out(quote, business_date())
    context = {"quote": quote, "lines": list(quote.lines.all()), "ran_out": ran_out}
    return render(request, "pipelines/quote_detail.html", context)


QUOTE_ACTIONS = {"send": services.quote_send, "accept": services.quote_accept, "reject": services.quote_reject}


@page
@require_POST
def quote_action(request: HttpRequest, pk: int, action: str) -> HttpResponseBase:
    """Send, accept or reject (the buttons of the quote page); a refusal comes back as a message."""
    actor = actor_of(request)
    quote = selectors.quote_get(actor=actor, quote_id=pk)
    service = QUOTE_ACTIONS.get(action)
    if service is None:
        return redirect("pipelines:quote_detail", pk=pk)
    try:
        service(actor=actor, quote_id=pk, expected_version=form_version(request.POST.get("version")))
    except (*FORM_ERRORS, PreconditionFailed) as exc:
        messages.error(request, exc.message)
    else:
        done = {
            "send": _("Quote %(number)s marked sent."),
            "accept": _("Quote %(number)s marked accepted."),
            "reject": _("Quote %(number)s marked rejected."),
        }
        messages.success(request, done[action] % {"number": quote.number})
    return redirect("pipelines:quote_detail", pk=pk)


@page
@require_POST
def quote_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = actor_of(request)
    quote = selectors.quote_get(actor=actor, quote_id=pk)
    try:
        services.quote_delete(actor=actor, quote_id=pk, expected_version=form_version(request.POST.get("version")))
    except (*FORM_ERRORS, PreconditionFailed) as exc:
        messages.error(request, exc.message)
        return redirect("pipelines:quote_detail", pk=pk)
    messages.success(request, _("Quote %(number)s deleted.") % {"number": quote.number})
    return redirect("pipelines:opportunity_detail", pk=quote.opportunity_id)


@page
@require_GET
def quote_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote as a page to print from the browser (the same content as the PDF)."""
    document = selectors.quote_document(actor=actor_of(request), quote_id=pk)
    return render(request, "pipelines/quote_print.html", {"doc": document, "quote": document.quote})


@page
@require_GET
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return pdf_response(selectors.quote_document(actor=actor_of(request), quote_id=pk))
