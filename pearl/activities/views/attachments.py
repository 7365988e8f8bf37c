"""Serving and uploading attachments: always through the customer's scope, never a public media URL."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pearl.activities import selectors, services
from pearl.activities.views.common import page
from pearl.core.errors import ValidationFailed
from pearl.core.pages import actor_of

# Types a browser may show inline; everything else downloads, so an uploaded HTML or SVG never runs here.
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "application/pdf"}


@page
@require_GET
def attachment_file(request: HttpRequest, pk: int) -> FileResponse:
    actor = actor_of(request)
    thumb = request.GET.get("thumb") is not None
    attachment, handle = selectors.attachment_open(actor=actor, attachment_id=pk, thumbnail=thumb)
    inline = attachment.content_type in INLINE_TYPES and request.GET.get("download") is None
    content_type = attachment.content_type if inline else "application/octet-stream"
    if thumb and attachment.thumbnail:
        content_type = "image/jpeg"
    response = FileResponse(handle, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(attachment.name)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _upload(request: HttpRequest, subject: tuple[str, int], customer_id: int, back: str) -> HttpResponse:
    actor = actor_of(request)
    uploads = request.FILES.getlist("file")
    if not uploads:
        messages.error(request, _("Choose a file to upload."))
        return redirect(back)
    try:
        for upload in uploads:
            services.attachment_add(actor=actor, customer_id=customer_id, subject=subject, file=upload)
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("%(n)d file(s) added.") % {"n": len(uploads)})
    return redirect(back)


@page
@require_POST
def communication_attach(request: HttpRequest, pk: int) -> HttpResponse:
    c = selectors.communication_get(actor=actor_of(request), communication_id=pk)
    back = reverse("activities:communication_detail", args=[c.pk])
    return _upload(request, ("activities.communication", c.pk), c.customer_id, back)


@page
@require_POST
def complaint_attach(request: HttpRequest, pk: int) -> HttpResponse:
    c = selectors.complaint_get(actor=actor_of(request), complaint_id=pk)
    back = reverse("activities:complaint_detail", args=[c.pk])
    return _upload(request, ("activities.complaint", c.pk), c.customer_id, back)


@page
@require_POST
def attachment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    attachment = selectors.attachment_get(actor=actor, attachment_id=pk)
    services.attachment_delete(actor=actor, attachment_id=attachment.pk)
    messages.success(request, _("File “%(name)s” removed.") % {"name": attachment.name})
    kind = attachment.subject_type.rsplit(".", 1)[-1]
    if kind in ("communication", "complaint"):
        return redirect(f"activities:{kind}_detail", pk=attachment.subject_id)
    return redirect("customers:customer_detail", pk=attachment.customer_id)
