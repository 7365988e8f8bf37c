"""Automatic stage moves from logged communications (``StageRule``)."""

from __future__ import annotations

from django.db import transaction

from pearl.accounts.models import User
from pearl.pipelines.choices import OpportunityStatus, StageKind
from pearl.pipelines.models import Opportunity, Stage, StageRule
from pearl.pipelines.services.common import apply_move

# --- automatic moves ------------------------------------------------------------------------------------


def _pick_rules(kind: str, outcome: str) -> dict[int, Stage]:
    """The target stage per pipeline for a communication: a rule naming the outcome wins over one
    for any outcome; between equals, the later stage."""
    rules = StageRule.objects.filter(active=True, communication_kind=kind, outcome__in=["", outcome or ""])
    best: dict[int, tuple[bool, int, Stage]] = {}
    for rule in rules.select_related("target_stage"):
        stage = rule.target_stage
        if stage.pipeline_id != rule.pipeline_id:
            continue
        key = (bool(rule.outcome), stage.order)
        if rule.pipeline_id not in best or key > best[rule.pipeline_id][:2]:
            best[rule.pipeline_id] = (*key, stage)
    return {pipeline_id: found[2] for pipeline_id, found in best.items()}


@transaction.atomic
def opportunities_advance(*, actor: User | None, customer_id: int, kind: str, outcome: str = "") -> int:
    """Apply the stage rules for a communication of ``kind``/``outcome`` logged with a customer: its
    open opportunities in each rule's pipeline whose stage comes earlier move to the rule's stage.
    Never backwards, never a closed one. No scope check: a rule is the company's, not the actor's;
    ``actor`` is who logged the communication (named in the history). Returns how many moved."""
    targets = _pick_rules(kind, outcome)
    if not targets:
        return 0
    moved = 0
    candidates = (
        Opportunity.objects.select_for_update(of=("self",))
        .select_related("stage", "pipeline")
        .filter(customer_id=customer_id, status=OpportunityStatus.OPEN, pipeline_id__in=list(targets))
        .order_by("id")
    )
    for opportunity in candidates:
        target = targets[opportunity.pipeline_id]
        if opportunity.stage.order >= target.order or target.kind == StageKind.LOST:
            continue
        apply_move(opportunity, target, "", actor, automatic=True)
        moved += 1
    return moved
