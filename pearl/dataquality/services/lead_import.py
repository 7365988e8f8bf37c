"""The import wizard for leads: the same upload → mapping → preview → run in batches → report → revert,
writing through ``pearl.leads.services.leads_create_clean`` (the rows cleaned once, here; it assigns each
lead by the assignment rules in one pass).

A row becomes a lead unless it is invalid or names a person the CRM already follows: its mobile, email
or WeChat id belongs to an open lead (new or contacted), to a customer, or to an earlier row of the same
file that becomes a lead. Those duplicates are counted and reported with what they matched; the look-ups
are set-wise, one query each per batch.

Resuming after a killed run replays the committed rows dry (as the customer import does) so a later row
still recognises an earlier one as "same as row N". The leads this job created are left out of the
open-lead look-up for that reason: in the first run and in the resumed one alike, they are found as
earlier rows of the file, never as open leads, so both runs report the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import PermissionDenied, ValidationFailed
from pearl.core.rows import insert_rows
from pearl.core.text import nfkc
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption
from pearl.customers.selectors import identity_holders
from pearl.dataquality.choices import IssueKind, RecordAction
from pearl.dataquality.mapping import LEAD_FIELD_LABELS, LEADS, field_label
from pearl.dataquality.models import ImportedRecord, ImportIssue, ImportJob
from pearl.leads.models import Lead
from pearl.leads.selectors import IDENTIFIERS, open_leads_holding
from pearl.leads.services import Assigner, leads_create_clean, rule_values
from pearl.leads.services.bulk import leads_delete_untouched
from pearl.leads.services.leads import INPUT_FIELDS, clean_lead
from pearl.leads.services.leads import Lookups as LeadLookups
from pearl.sales.models import ProductCategory

CREATED, DUPLICATE, INVALID = "created", IssueKind.DUPLICATE.value, IssueKind.INVALID.value
ALLOWED_SHOWN = 20  # options named in an "unknown value" message; a long list is cut with "…"
Progress = Callable[[ImportJob], None]


def require_lead_import(actor: User) -> None:
    """A leads import only creates: the create right."""
    if not actor.may("create"):
        raise PermissionDenied(_("Your role may not import leads."))


def _key(text: str) -> str:
    """How labels and names are compared: '展会', ' 展会 ' and full-width variants are one."""
    return nfkc(text).strip().lower().replace(" ", "")


def _allowed(names: Sequence[str]) -> str:
    shown = "、".join(names[:ALLOWED_SHOWN]) + ("…" if len(names) > ALLOWED_SHOWN else "")
    return shown or _("(the list is empty)")


@dataclass
class RowLookups:
    """The source options (by label) and product categories (by name) rows may name, read once."""

    sources: dict[str, int]
    source_labels: list[str]
    categories: dict[str, int]
    category_names: list[str]

    @classmethod
    def load(cls) -> RowLookups:
        options = ChoiceOption.objects.filter(list_name=ChoiceList.SOURCE, is_active=True).order_by("order", "id")
        sources = list(options.values_list("label", "pk"))
        categories = list(ProductCategory.objects.order_by("order", "id").values_list("name", "pk"))
        return cls(
            sources={_key(label): pk for label, pk in sources},
            source_labels=[label for label, _pk in sources],
            categories={_key(name): pk for name, pk in categories},
            category_names=[name for name, _pk in categories],
        )


@dataclass
class RowPlan:
    """What becomes of one row: created (``values`` go to leads_create_clean), duplicate or invalid."""

    row: int
    outcome: str
    messages: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # clean_lead's values (relations as instances)
    lead: Lead | None = None


@dataclass
class Seen:
    """What a job remembers across its batches: the identifiers of the rows that became (or, in a
    preview, would become) leads, and the leads it created."""

    rows: dict[tuple[str, str], int] = field(default_factory=dict)  # (field, value) → row number
    created: set[int] = field(default_factory=set)


def _resolve(raw: Mapping[str, Any], lookups: RowLookups) -> tuple[dict[str, Any], list[str]]:
    """The row as ``clean_lead`` takes it: source and product interest named by label become ids."""
    data: dict[str, Any] = {k: raw[k] for k in INPUT_FIELDS if k in raw}
    errors: list[str] = []
    source = str(data.get("source") or "").strip()
    if source:
        data["source"] = lookups.sources.get(_key(source))
        if data["source"] is None:
            errors.append(
                _("%(field)s “%(value)s” is not in the list; allowed: %(allowed)s.")
                % {"field": LEAD_FIELD_LABELS["source"], "value": source, "allowed": _allowed(lookups.source_labels)}
            )
    category = str(data.get("product_interest") or "").strip()
    if category:
        data["product_interest"] = lookups.categories.get(_key(category))
        if data["product_interest"] is None:
            errors.append(
                _("Product category “%(value)s” does not exist; allowed: %(allowed)s.")
                % {"value": category, "allowed": _allowed(lookups.category_names)}
            )
    return data, errors


def _label(kind: str) -> str:
    return field_label(kind, target=LEADS)


def plan_rows(rows: Sequence[Mapping[str, Any]], lookups: RowLookups, seen: Seen) -> list[RowPlan]:
    """Validate a batch and find its duplicates: one query for open leads, one for customers."""
    plans: list[RowPlan] = []
    resolved = [_resolve(row, lookups) for row in rows]
    lead_lookups = LeadLookups.for_rows([data for data, _errors in resolved])
    for row, (data, errors) in zip(rows, resolved, strict=True):
        plan = RowPlan(row=int(row["row"]), outcome=INVALID, messages=[*row.get("errors", []), *errors])
        plans.append(plan)
        if plan.messages:
            continue
        try:
            plan.values = clean_lead(data, instance=None, lookups=lead_lookups)
        except ValidationFailed as exc:
            plan.messages = [f"{_label(k)}: {m}" for k, messages in exc.field_errors.items() for m in messages]
            continue
        plan.outcome = CREATED
    pairs = [(k, p.values[k]) for p in plans if p.outcome == CREATED for k in IDENTIFIERS if p.values.get(k)]
    customers = identity_holders(pairs=pairs) if pairs else {}
    open_leads = open_leads_holding(pairs=pairs) if pairs else {}
    for plan in plans:
        if plan.outcome != CREATED:
            continue
        mine = [(k, plan.values[k]) for k in IDENTIFIERS if plan.values.get(k)]
        plan.messages = _duplicate_of(mine, customers, open_leads, seen)
        if plan.messages:
            plan.outcome = DUPLICATE
        else:
            seen.rows.update((pair, plan.row) for pair in mine)
    return plans


def _duplicate_of(
    mine: list[tuple[str, str]],
    customers: Mapping[tuple[str, str], int],
    open_leads: Mapping[tuple[str, str], list[int]],
    seen: Seen,
) -> list[str]:
    """Why a valid row is not created (the first identifier that matches, customers first), or []."""
    for pair in mine:
        if pair in customers:
            return [
                _("Already customer #%(id)s (same %(field)s %(value)s)")
                % {"id": customers[pair], "field": _label(pair[0]), "value": pair[1]}
            ]
    for pair in mine:
        others = [pk for pk in open_leads.get(pair, ()) if pk not in seen.created]
        if others:
            return [
                _("Open lead #%(id)s has the same %(field)s %(value)s")
                % {"id": others[0], "field": _label(pair[0]), "value": pair[1]}
            ]
    for pair in mine:
        if pair in seen.rows:
            return [
                _("Same %(field)s %(value)s as row %(row)s of this file")
                % {"field": _label(pair[0]), "value": pair[1], "row": seen.rows[pair]}
            ]
    return []


# --- what the leads went to -------------------------------------------------------------------------


def _count(summary: dict[str, Any], rule: Any, reason: str, owner: Any) -> None:
    """Add one lead to the summary's groups: by rule (or, without a rule, by the reason given) and by owner."""
    rules = summary.setdefault("rules", {})
    key = f"rule:{rule.pk}" if rule is not None else f"reason:{reason}"
    group = rules.setdefault(key, {"rule": rule.name if rule is not None else "", "reason": reason, "n": 0})
    group["n"] += 1
    owners = summary.setdefault("owners", {})
    entry = owners.setdefault(str(owner.pk) if owner is not None else "", {"name": str(owner or ""), "n": 0})
    entry["n"] += 1


def summary_lists(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary as the pages and the API show it: groups largest first."""
    rules = sorted((summary.get("rules") or {}).values(), key=lambda g: (-g["n"], g["rule"], g["reason"]))
    owners = [
        {"owner": int(pk) if pk else None, "name": v["name"], "n": v["n"]}
        for pk, v in (summary.get("owners") or {}).items()
    ]
    owners.sort(key=lambda o: (-o["n"], o["name"]))
    return {"rules": rules, "owners": owners, "kept": summary.get("kept") or [], "deleted": summary.get("deleted")}


# --- preview -----------------------------------------------------------------------------------------


def dry_run(
    job: ImportJob, actor: User, batch_size: int, on_rows: Callable[[int, int | None], None] | None = None
) -> tuple[dict[str, Any], int]:
    """(preview, rows read): the counts, the first refused rows and who the new leads would go to —
    the assignment worked out as the run would, without moving any rule's turn."""
    from pearl.dataquality.services.imports import PREVIEW_ISSUES, _batches, open_job_sheet

    require_lead_import(actor)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "duplicate": 0, "invalid": 0}
    issues: list[dict[str, Any]] = []
    lookups, seen, total = RowLookups.load(), Seen(), 0
    assigner = Assigner.load(creator=actor, lock=False)
    assignment: dict[str, Any] = {}
    with open_job_sheet(job, actor) as sheet, closing(_batches(sheet, job, batch_size)) as batches:
        expected = sheet.total_rows - sheet.header_row if sheet.total_rows is not None else None
        if on_rows is not None:
            on_rows(0, expected)
        for batch in batches:
            for plan in plan_rows(batch.data, lookups, seen):
                counts[plan.outcome] += 1
                if plan.outcome == CREATED:
                    decision = assigner.decide(rule_values(plan.values))
                    _count(assignment, decision.rule, decision.reason, decision.owner)
                elif len(issues) < PREVIEW_ISSUES:
                    issues.append({"row": plan.row, "kind": plan.outcome, "messages": plan.messages})
            total += len(batch.numbers)
            if on_rows is not None:
                on_rows(total, expected)
        skipped = [s.number for s in sheet.skipped]
    warnings = [] if counts["created"] else [no_lead_message()]
    preview = {"counts": counts, "issues": issues, "warnings": warnings, "skipped_rows": skipped[:20]}
    return preview | {"assignment": assignment}, total


def no_lead_message() -> str:
    return _(
        "No row of this file can become a lead: every row is invalid or a duplicate. Fix the rows listed "
        "below and upload the file again."
    )


# --- run ---------------------------------------------------------------------------------------------


def run_batches(job: ImportJob, actor: User, batch_size: int, on_progress: Progress | None) -> None:
    """Create the file's leads batch by batch after ``job.last_row``; each batch's transaction also
    records what it created (for revert), what it refused and where to resume."""
    from pearl.dataquality.services.imports import _batches, count_rows, open_job_sheet

    require_lead_import(actor)
    lookups, seen = RowLookups.load(), Seen()
    summary = dict(job.summary or {})  # the committed batches' figures: a resumed run adds to them
    with open_job_sheet(job, actor) as sheet:
        count_rows(job, sheet)
        if job.last_row:
            created = ImportedRecord.objects.filter(job=job, action=RecordAction.CREATED, lead_id__isnull=False)
            ids = created.values_list("lead_id", flat=True).iterator(chunk_size=10_000)
            seen.created.update(pk for pk in ids if pk is not None)
            for batch in _batches(sheet, job, batch_size):
                if batch.numbers[0] > job.last_row:
                    break
                plan_rows([d for d in batch.data if d["row"] <= job.last_row], lookups, seen)
        with closing(_batches(sheet, job, batch_size, after=job.last_row)) as batches:
            for batch in batches:
                with transaction.atomic():
                    plans = plan_rows(batch.data, lookups, seen)
                    _create(actor, plans, seen)
                    _commit(job, batch.numbers, batch.values, plans, summary)
                if on_progress is not None:
                    job.refresh_from_db()
                    on_progress(job)


def _create(actor: User, plans: list[RowPlan], seen: Seen) -> None:
    todo = [p for p in plans if p.outcome == CREATED]
    if not todo:
        return
    # Each row went through clean_lead in plan_rows (to find its duplicates): written as cleaned there.
    result = leads_create_clean(actor=actor, values=[p.values for p in todo])
    for index, plan in enumerate(todo):
        plan.lead = result.by_index[index]
        seen.created.add(plan.lead.pk)


def _commit(
    job: ImportJob,
    numbers: list[int],
    values: list[list[str | None]],
    plans: list[RowPlan],
    summary: dict[str, Any],
) -> None:
    """Inside the batch's transaction (see the customer import's ``_commit_batch``)."""
    made = [p.lead for p in plans if p.lead is not None]
    insert_rows(
        ImportedRecord._meta.db_table,
        ("job_id", "lead_id", "action", "version"),
        [(job.pk, lead.pk, RecordAction.CREATED.value, lead.version) for lead in made],
    )
    read = dict(zip(numbers, values, strict=True))
    ImportIssue.objects.bulk_create(
        ImportIssue(job=job, row=p.row, kind=p.outcome, message="；".join(p.messages), values=read.get(p.row))
        for p in plans
        if p.outcome in (DUPLICATE, INVALID)
    )
    for lead in made:
        _count(summary, lead.assigned_rule, lead.assignment_reason, lead.owner)
    outcomes = [p.outcome for p in plans]
    ImportJob.objects.filter(pk=job.pk).update(
        last_row=numbers[-1],
        rows_processed=F("rows_processed") + len(numbers),
        created_count=F("created_count") + len(made),
        duplicate_count=F("duplicate_count") + outcomes.count(DUPLICATE),
        invalid_count=F("invalid_count") + outcomes.count(INVALID),
        summary=summary,
        updated_at=timezone.now(),
    )


# --- revert ------------------------------------------------------------------------------------------


def revert(job: ImportJob, actor: User) -> None:
    """Delete the job's leads nobody touched since; keep (and list on the job) the ones changed since.
    Inside the caller's transaction, under the job's lock."""
    created = job.records.filter(action=RecordAction.CREATED, lead_id__isnull=False).values_list("lead_id", "version")
    taken = leads_delete_untouched(actor=actor, created=[(pk, v) for pk, v in created if pk is not None])
    job.summary = {**(job.summary or {}), "deleted": len(taken.deleted), "kept": taken.kept}
