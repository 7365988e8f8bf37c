"""/api/v1 tasks and notifications.

Thin: parse, call a selector or service, shape the answer. A task outside the actor's scope (by its
owner) is a 404, like an unknown id; notifications are only ever your own.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from pearl.accounts.selectors import user_list
from pearl.core.api import (
    IDEMPOTENCY_OPENAPI,
    PAGE_PARAMS,
    api_actor,
    check_id,
    if_match_version,
    page,
    problem_responses,
    reject_unknown_params,
    set_etag,
)
from pearl.core.errors import ValidationFailed
from pearl.reminders import selectors, services
from pearl.reminders.models import Notification, Task
from pearl.reminders.schemas import (
    NotificationFilters,
    NotificationOut,
    NotificationPage,
    ReadAllOut,
    TaskFilters,
    TaskIn,
    TaskOut,
    TaskPage,
    TaskPatch,
)

router = Router()

_READ_ERRORS = problem_responses(401, 404)
_LIST_ERRORS = problem_responses(401, 422)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422)


def _task(request: HttpRequest, task_id: int) -> Task:
    check_id(task_id, _("Task not found."))
    return selectors.task_get(actor=api_actor(request), task_id=task_id)


def _answer(request: HttpRequest, response: HttpResponse, task: Task) -> Task:
    task = selectors.task_get(actor=api_actor(request), task_id=task.pk)
    set_etag(response, task.version)
    return task


@router.get("/tasks", response={200: TaskPage, **_LIST_ERRORS}, tags=["tasks"])
def list_tasks(request: HttpRequest, filters: Query[TaskFilters]) -> dict[str, Any]:
    """Your tasks (or, with `owner`, those of someone in your data scope, or `all` of them), soonest due first."""
    reject_unknown_params(request, set(TaskFilters.model_fields))
    params = {k: v for k, v in request.GET.items() if k not in PAGE_PARAMS}
    qs = selectors.task_list(actor=api_actor(request), filters=params)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post("/tasks", response={201: TaskOut, **_WRITE_ERRORS}, tags=["tasks"], openapi_extra=IDEMPOTENCY_OPENAPI)
def create_task(request: HttpRequest, response: HttpResponse, payload: TaskIn) -> Status[Task]:
    """Add a task for you (or for `owner`, someone in your data scope), optionally about a customer."""
    actor = api_actor(request)
    owner = actor
    if payload.owner is not None and payload.owner != actor.pk:
        owner = user_list(actor=actor).filter(pk=payload.owner, is_active=True).first()
        if owner is None:
            message = _("Choose an active user in your data scope.")
            raise ValidationFailed(message, field_errors={"owner": [message]})
    task = services.task_create(
        actor=actor,
        owner=owner,
        title=payload.title,
        due_at=payload.due_at,  # type: ignore[arg-type]  # the service parses ISO-8601 strings
        customer_id=payload.customer,
        note=payload.note,
    )
    response["Location"] = reverse("api:get_task", args=[task.pk])
    return Status(201, _answer(request, response, task))


@router.get("/tasks/{int:id}", response={200: TaskOut, **_READ_ERRORS}, tags=["tasks"])
def get_task(request: HttpRequest, response: HttpResponse, id: int) -> Task:
    task = _task(request, id)
    set_etag(response, task.version)
    return task


@router.patch("/tasks/{int:id}", response={200: TaskOut, **_WRITE_ERRORS}, tags=["tasks"])
def update_task(request: HttpRequest, response: HttpResponse, id: int, payload: TaskPatch) -> Task:
    """Change only the fields given. Send `If-Match: "<version>"` to refuse a stale write (412)."""
    _task(request, id)
    expected = if_match_version(request)
    task = services.task_update(
        actor=api_actor(request), task_id=id, data=payload.model_dump(exclude_unset=True), expected_version=expected
    )
    return _answer(request, response, task)


@router.delete("/tasks/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["tasks"])
def delete_task(request: HttpRequest, id: int) -> Status[None]:
    """Your own task, or one in your scope with the delete permission. Honours If-Match."""
    _task(request, id)
    expected = if_match_version(request)
    services.task_delete(actor=api_actor(request), task_id=id, expected_version=expected)
    return Status(204, None)


@router.post("/tasks/{int:id}/complete", response={200: TaskOut, **_WRITE_ERRORS}, tags=["tasks"])
def complete_task(request: HttpRequest, response: HttpResponse, id: int) -> Task:
    """Mark the task done (done already: unchanged); a task about a customer shows on its timeline."""
    _task(request, id)
    expected = if_match_version(request)
    task = services.task_complete(actor=api_actor(request), task_id=id, expected_version=expected)
    return _answer(request, response, task)


@router.get("/notifications", response={200: NotificationPage, **_LIST_ERRORS}, tags=["notifications"])
def list_notifications(request: HttpRequest, filters: Query[NotificationFilters]) -> dict[str, Any]:
    """Your notifications, newest first, with how many are unread."""
    reject_unknown_params(request, set(NotificationFilters.model_fields))
    actor = api_actor(request)
    qs = selectors.notification_list(actor=actor)
    if filters.unread:
        qs = qs.filter(read_at__isnull=True)
    return {
        "items": page(qs, filters.limit, filters.offset),
        "count": qs.count(),
        "unread": selectors.unread_count(actor=actor),
    }


@router.post("/notifications/{int:id}/read", response={200: NotificationOut, **_READ_ERRORS}, tags=["notifications"])
def read_notification(request: HttpRequest, id: int) -> Notification:
    check_id(id, _("Notification not found."))
    return services.notification_read(actor=api_actor(request), notification_id=id)


@router.post("/notifications/read-all", response={200: ReadAllOut, **problem_responses(401)}, tags=["notifications"])
def read_all_notifications(request: HttpRequest) -> dict[str, int]:
    return {"marked": services.notifications_read_all(actor=api_actor(request))}
