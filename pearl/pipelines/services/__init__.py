"""Writes of the pipelines app. Views, API, events and other apps call only these."""

from pearl.pipelines.services.automation import opportunities_advance
from pearl.pipelines.services.common import LossReasonRequired, StageNotInPipeline, move_title
from pearl.pipelines.services.config import (
    default_stage_data,
    pipeline_create,
    pipeline_delete,
    pipeline_update,
    stage_create,
    stage_delete,
    stage_move,
    stage_rule_delete,
    stage_rule_set,
    stage_update,
    stage_usage,
)
from pearl.pipelines.services.expiry import quotes_expire_sweep
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
    "default_stage_data",
    "move_title",
    "opportunities_advance",
    "opportunities_transfer",
    "opportunity_create",
    "opportunity_delete",
    "opportunity_move",
    "opportunity_update",
    "pipeline_create",
    "pipeline_delete",
    "pipeline_update",
    "quote_accept",
    "quote_create",
    "quote_delete",
    "quote_reject",
    "quote_send",
    "quote_update",
    "quotes_expire_sweep",
    "quotes_follow_up_sweep",
    "stage_create",
    "stage_delete",
    "stage_move",
    "stage_rule_delete",
    "stage_rule_set",
    "stage_update",
    "stage_usage",
]
