"""/api/v1 communications, complaints and attachments.

Thin: parse, call a selector or service, shape the answer. Scopes are the customers': a record of
a customer outside the actor's scope is a 404 (lists simply leave it out), and 403 only means
"you see it but may not do that".
"""

from typing import Any
from urllib.parse import quote

from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from pearl.activities import selectors, services
from pearl.activities.models import Attachment, Communication, Complaint
from pearl.activities.schemas import (
    AttachmentFilters,
    AttachmentOut,
    AttachmentPage,
    AttachmentUpload,
    CommunicationFilters,
    CommunicationIn,
    CommunicationOut,
    CommunicationPage,
    CommunicationPatch,
    ComplaintFilters,
    ComplaintIn,
    ComplaintOut,
    ComplaintPage,
    ComplaintPatch,
)
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

router = Router()

_READ_ERRORS = problem_responses(401, 404)
_LIST_ERRORS = problem_responses(401, 422)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422)
_SAFE_INLINE = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "application/pdf"}


def _params(request: HttpRequest, schema: type[Any]) -> dict[str, Any]:
    """The query's filters as the selectors' filter forms take them (unknown names are a 422)."""
    reject_unknown_params(request, set(schema.model_fields))
    return {k: v for k, v in request.GET.items() if k not in PAGE_PARAMS}


# --- communications ----------------------------------------------------------------------------------


def _communication(request: HttpRequest, communication_id: int) -> Communication:
    check_id(communication_id, _("Communication not found."))
    return selectors.communication_get(actor=api_actor(request), communication_id=communication_id)


def _with_files(request: HttpRequest, records: list[Any]) -> list[Any]:
    """Records as the API answers them: with their files (one query for the whole page)."""
    selectors.with_attachments(actor=api_actor(request), records=records)
    return records


def _communication_answer(request: HttpRequest, response: HttpResponse, c: Communication) -> Communication:
    c = selectors.communication_get(actor=api_actor(request), communication_id=c.pk)
    set_etag(response, c.version)
    _with_files(request, [c])
    return c


@router.get("/communications", response={200: CommunicationPage, **_LIST_ERRORS}, tags=["communications"])
def list_communications(request: HttpRequest, filters: Query[CommunicationFilters]) -> dict[str, Any]:
    """Calls, visits, WeChat summaries, emails, meetings and notes with customers you may see, newest first,
    each with its files and photos."""
    qs = selectors.communication_list(actor=api_actor(request), filters=_params(request, CommunicationFilters))
    return {"items": _with_files(request, page(qs, filters.limit, filters.offset)), "count": qs.count()}


@router.post(
    "/communications",
    response={201: CommunicationOut, **_WRITE_ERRORS},
    tags=["communications"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_communication(
    request: HttpRequest, response: HttpResponse, payload: CommunicationIn
) -> Status[Communication]:
    """Log a communication; `author` defaults to you, `occurred_at` to now. Photos: POST /attachments."""
    data = payload.model_dump(exclude_unset=True)
    customer_id = data.pop("customer")
    c = services.communication_create(actor=api_actor(request), customer_id=customer_id, data=data)
    response["Location"] = reverse("api:get_communication", args=[c.pk])
    return Status(201, _communication_answer(request, response, c))


@router.get("/communications/{int:id}", response={200: CommunicationOut, **_READ_ERRORS}, tags=["communications"])
def get_communication(request: HttpRequest, response: HttpResponse, id: int) -> Communication:
    """One communication with its files and photos (`attachments`: download and thumbnail URLs)."""
    c = _communication(request, id)
    set_etag(response, c.version)
    _with_files(request, [c])
    return c


@router.patch("/communications/{int:id}", response={200: CommunicationOut, **_WRITE_ERRORS}, tags=["communications"])
def update_communication(
    request: HttpRequest, response: HttpResponse, id: int, payload: CommunicationPatch
) -> Communication:
    """Change only the fields given. Send `If-Match: "<version>"` to refuse a stale write (412)."""
    _communication(request, id)
    expected = if_match_version(request)
    c = services.communication_update(
        actor=api_actor(request),
        communication_id=id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=expected,
    )
    return _communication_answer(request, response, c)


@router.delete("/communications/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["communications"])
def delete_communication(request: HttpRequest, id: int) -> Status[None]:
    """Its author, or someone with the delete permission. Honours If-Match; its files go too."""
    _communication(request, id)
    expected = if_match_version(request)
    services.communication_delete(actor=api_actor(request), communication_id=id, expected_version=expected)
    return Status(204, None)


# --- complaints --------------------------------------------------------------------------------------


def _complaint(request: HttpRequest, complaint_id: int) -> Complaint:
    check_id(complaint_id, _("Complaint not found."))
    return selectors.complaint_get(actor=api_actor(request), complaint_id=complaint_id)


def _complaint_answer(request: HttpRequest, response: HttpResponse, c: Complaint) -> Complaint:
    c = selectors.complaint_get(actor=api_actor(request), complaint_id=c.pk)
    set_etag(response, c.version)
    _with_files(request, [c])
    return c


@router.get("/complaints", response={200: ComplaintPage, **_LIST_ERRORS}, tags=["complaints"])
def list_complaints(request: HttpRequest, filters: Query[ComplaintFilters]) -> dict[str, Any]:
    """Complaints and feedback of customers you may see, newest first, each with its files;
    `status=open_any` = not yet resolved."""
    qs = selectors.complaint_list(actor=api_actor(request), filters=_params(request, ComplaintFilters))
    return {"items": _with_files(request, page(qs, filters.limit, filters.offset)), "count": qs.count()}


@router.post(
    "/complaints",
    response={201: ComplaintOut, **_WRITE_ERRORS},
    tags=["complaints"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_complaint(request: HttpRequest, response: HttpResponse, payload: ComplaintIn) -> Status[Complaint]:
    """Record a complaint or feedback; it starts open. An `order` must be this customer's."""
    data = payload.model_dump(exclude_unset=True)
    customer_id = data.pop("customer")
    c = services.complaint_create(actor=api_actor(request), customer_id=customer_id, data=data)
    response["Location"] = reverse("api:get_complaint", args=[c.pk])
    return Status(201, _complaint_answer(request, response, c))


@router.get("/complaints/{int:id}", response={200: ComplaintOut, **_READ_ERRORS}, tags=["complaints"])
def get_complaint(request: HttpRequest, response: HttpResponse, id: int) -> Complaint:
    """One complaint with its files (`attachments`: download and thumbnail URLs)."""
    c = _complaint(request, id)
    set_etag(response, c.version)
    _with_files(request, [c])
    return c


@router.patch("/complaints/{int:id}", response={200: ComplaintOut, **_WRITE_ERRORS}, tags=["complaints"])
def update_complaint(request: HttpRequest, response: HttpResponse, id: int, payload: ComplaintPatch) -> Complaint:
    """Change only the fields given, `status` included (a move the workflow forbids is a 422 naming the
    allowed ones). Send `If-Match: "<version>"` to refuse a stale write (412)."""
    _complaint(request, id)
    expected = if_match_version(request)
    data = payload.model_dump(exclude_unset=True)
    c = services.complaint_update(actor=api_actor(request), complaint_id=id, data=data, expected_version=expected)
    return _complaint_answer(request, response, c)


@router.delete("/complaints/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["complaints"])
def delete_complaint(request: HttpRequest, id: int) -> Status[None]:
    """Needs the delete permission. Honours If-Match; its files go too."""
    _complaint(request, id)
    expected = if_match_version(request)
    services.complaint_delete(actor=api_actor(request), complaint_id=id, expected_version=expected)
    return Status(204, None)


# --- attachments -------------------------------------------------------------------------------------


def _attachment(request: HttpRequest, attachment_id: int) -> Attachment:
    check_id(attachment_id, _("Attachment not found."))
    return selectors.attachment_get(actor=api_actor(request), attachment_id=attachment_id)


@router.get("/attachments", response={200: AttachmentPage, **_LIST_ERRORS}, tags=["attachments"])
def list_attachments(request: HttpRequest, filters: Query[AttachmentFilters]) -> dict[str, Any]:
    """Files on the records of customers you may see; filter by customer or by record."""
    reject_unknown_params(request, set(AttachmentFilters.model_fields))
    subject = None
    if filters.subject_type and filters.subject_id:
        subject = (filters.subject_type, filters.subject_id)
    qs = selectors.attachment_list(actor=api_actor(request), customer_id=filters.customer, subject=subject)
    if filters.subject_type and not filters.subject_id:
        qs = qs.filter(subject_type=filters.subject_type)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post(
    "/attachments",
    response={201: AttachmentOut, **_WRITE_ERRORS},
    tags=["attachments"],
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_attachment(
    request: HttpRequest, response: HttpResponse, payload: Form[AttachmentUpload], file: File[UploadedFile]
) -> Status[Attachment]:
    """Upload a file (multipart/form-data, part `file`, at most 20 MB) onto a record of a customer, e.g.
    `subject_type=activities.communication`. With `image_only=true` a file that is not an image is a 422."""
    attachment = services.attachment_add(
        actor=api_actor(request),
        customer_id=payload.customer,
        subject=(payload.subject_type, payload.subject_id),
        file=file,
        image_only=payload.image_only,
    )
    response["Location"] = reverse("api:get_attachment", args=[attachment.pk])
    return Status(201, attachment)


@router.get("/attachments/{int:id}", response={200: AttachmentOut, **_READ_ERRORS}, tags=["attachments"])
def get_attachment(request: HttpRequest, id: int) -> Attachment:
    return _attachment(request, id)


@router.get("/attachments/{int:id}/content", response={200: None, **_READ_ERRORS}, tags=["attachments"])
def get_attachment_content(request: HttpRequest, id: int, thumbnail: bool = False) -> FileResponse:
    """The file itself (images and PDF inline, everything else as a download). `thumbnail=true`: the small
    JPEG of an image instead (the file itself when it has none; see `thumbnail_url`)."""
    check_id(id, _("Attachment not found."))
    attachment, handle = selectors.attachment_open(actor=api_actor(request), attachment_id=id, thumbnail=thumbnail)
    inline = attachment.content_type in _SAFE_INLINE
    content_type = attachment.content_type if inline else "application/octet-stream"
    if thumbnail and attachment.thumbnail:
        content_type, inline = "image/jpeg", True
    response = FileResponse(handle, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(attachment.name)}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.delete("/attachments/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=["attachments"])
def delete_attachment(request: HttpRequest, id: int) -> Status[None]:
    """Its uploader, or someone with the delete permission."""
    _attachment(request, id)
    services.attachment_delete(actor=api_actor(request), attachment_id=id)
    return Status(204, None)
