"""Writes of the pipelines app. Views, API, events and other apps call only these."""

from pearl.pipelines.services.automation import opportunities_advance
from pearl.pipelines.services.common import LossReasonRequired, StageNotInPipeline, move_title
from pearl.pipelines.services.config import (
    pipeline_create,
    pipeline_update,
    stage_create,
    stage_rule_delete,
    stage_rule_set,
    stage_update,
)
from pearl.pipelines.services.opportunities import (
    opportunities_transfer,
    opportunity_create,
    opportunity_delete,
    opportunity_move,
    opportunity_update,
)
from pearl.pipelines.services.quotes import (
    quote_accept,
    quote_create,
    quote_delete,
    quote_reject,
    quote_send,
    quote_update,
    quotes_follow_up_sweep,
)

__all__ = [
    "LossReasonRequired",
    "StageNotInPipeline",
    "move_title",
    "opportunities_advance",
    "opportunities_transfer",
    "opportunity_create",
    "opportunity_delete",
    "opportunity_move",
    "opportunity_update",
    "pipeline_create",
    "pipeline_update",
    "quote_accept",
    "quote_create",
    "quote_delete",
    "quote_reject",
    "quote_send",
    "quote_update",
    "quotes_follow_up_sweep",
    "stage_create",
    "stage_rule_delete",
    "stage_rule_set",
    "stage_update",
]
