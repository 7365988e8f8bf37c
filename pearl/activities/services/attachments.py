"""Files on a customer's records: checked before anything is written, stored in the default storage.

Any app may attach files to its own records with ``attachment_add`` (the record names its customer
through a ``customer`` foreign key). The file goes to Django's default storage (the data dir's
``media/`` by default, S3-compatible storage by configuration) under a random name; it is only ever
served through a view that checks the customer's scope, never from a public URL.

A refused file writes nothing: size, emptiness and (for photos) "is this really an image" are
checked before the storage is touched, and a file stored by a write that fails afterwards is
deleted again (``files_guarded``).

The other way round, a file goes when its row goes, however the row goes: through
``attachment_delete``, with its record (``remove_for_subject``), or by the database cascade when its
customer is deleted (``customer_delete``, an import's revert), which the customers app does without
knowing this app. So the row's deletion itself schedules the files (``attachment_row_deleted``, a
``post_delete`` receiver connected in ``ActivitiesConfig.ready``): their names are read inside the
deleting transaction and the files are deleted only after it commits; a rolled-back delete loses
nothing, and a file that cannot be deleted is logged without stopping the others. A signal because
this is storage plumbing (like a search index), not domain flow: it touches nothing but stored bytes.
"""

from __future__ import annotations

import contextvars
import io
import logging
import mimetypes
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from pearl.accounts.models import User
from pearl.activities.models import Attachment
from pearl.core.changes import created, deleted, record_change, snapshot
from pearl.core.errors import NotFound, PermissionDenied, ValidationFailed
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.core.text import strip_control
from pearl.customers.models import Customer

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# Formats browsers show and Pillow decodes; a phone's HEIC photo reaches the server as JPEG.
IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "BMP"}
ATTACHMENT_FIELDS = ["name", "content_type", "size", "is_image", "subject_type", "subject_id"]
THUMBNAIL_BOX = (320, 320)

# Someone else's service hears about files added to / removed from its records (e.g. a visit's
# photo count on the timeline): subject_type → callback(actor, subject_id).
SubjectHook = Callable[[Any, int], None]
_subject_hooks: dict[str, SubjectHook] = {}


def on_attachments_changed(subject_type: str, hook: SubjectHook) -> None:
    _subject_hooks[subject_type] = hook


def _notify(actor: Any, subject_type: str, subject_id: int) -> None:
    hook = _subject_hooks.get(subject_type)
    if hook is not None:
        hook(actor, subject_id)


def max_bytes() -> int:
    return int(getattr(settings, "PEARL_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


# --- checking a file (pure: nothing is written) --------------------------------------------------------


@dataclass(frozen=True)
class CheckedFile:
    file: Any
    name: str  # the name to show (the uploader's, cleaned)
    extension: str  # of the stored name, from the decoded format for images
    content_type: str
    size: int
    is_image: bool


def _display_name(raw: str) -> str:
    name = strip_control(str(raw or "")).replace("/", "_").replace("\\", "_").strip()
    return (name or "file")[-200:]


def _size_of(file: Any) -> int:
    size = getattr(file, "size", None)
    if size is None:
        pos = file.tell()
        file.seek(0, 2)
        size = file.tell()
        file.seek(pos)
    return int(size)


def _decode_image(file: IO[bytes]) -> str | None:
    """The image format when Pillow can decode the whole file as an image we show, else None."""
    try:
        file.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                fmt = image.format or ""
                image.load()  # decode every pixel: a truncated or disguised file fails here
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError):  # fmt: skip
        return None
    finally:
        file.seek(0)
    return fmt if fmt in IMAGE_FORMATS else None


def check_file(file: Any, *, image_only: bool = False, field: str = "file") -> CheckedFile:
    """Refuse a missing, empty, too large or (for photos) non-image file with one clear message."""
    if file is None:
        raise ValidationFailed(_("Choose a file to upload."), field_errors={field: [_("Choose a file.")]})
    name = _display_name(getattr(file, "name", "") or "")
    size = _size_of(file)
    if size == 0:
        message = _("“%(name)s” is empty.") % {"name": name}
        raise ValidationFailed(message, field_errors={field: [message]})
    limit = max_bytes()
    if size > limit:
        message = _("“%(name)s” is %(size)s MB; files may be at most %(limit)s MB.") % {
            "name": name,
            "size": f"{size / 1024 / 1024:.1f}",
            "limit": f"{limit / 1024 / 1024:g}",
        }
        raise ValidationFailed(message, field_errors={field: [message]})
    fmt = _decode_image(file)
    if image_only and fmt is None:
        message = _("“%(name)s” is not a photo: only JPEG, PNG, GIF, WebP or BMP images can be added here.") % {
            "name": name
        }
        raise ValidationFailed(message, field_errors={field: [message]})
    if fmt is not None:
        content_type = Image.MIME.get(fmt, "application/octet-stream")
        extension = "jpg" if fmt == "JPEG" else fmt.lower()
    else:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        extension = get_valid_filename(suffix)[:10] if suffix.isascii() and suffix else "bin"
    return CheckedFile(file, name, extension, content_type[:100], size, fmt is not None)


def make_thumbnail(file: IO[bytes]) -> bytes | None:
    """A small upright JPEG of an image (transparency on white), or None when it cannot be made."""
    try:
        file.seek(0)
        with Image.open(file) as opened:
            image = ImageOps.exif_transpose(opened)
            image.thumbnail(THUMBNAIL_BOX)
            if "A" in image.getbands() or image.mode == "P":
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, "white")
                image.paste(rgba, mask=rgba.getchannel("A"))
            elif image.mode != "RGB":
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80, optimize=True)
            return out.getvalue()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None
    finally:
        file.seek(0)


# --- storing, with clean-up when the write fails -----------------------------------------------------

_stored: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("pearl_stored_files", default=None)


@contextmanager
def files_guarded() -> Iterator[None]:
    """Files stored inside the block are deleted again if the block raises (outermost block only)."""
    if _stored.get() is not None:
        yield
        return
    names: list[str] = []
    token = _stored.set(names)
    try:
        yield
    except BaseException:
        for name in names:
            default_storage.delete(name)
        raise
    finally:
        _stored.reset(token)


# --- removing files once their rows are gone ----------------------------------------------------------


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # one file the storage refuses (S3 down, permissions) must not keep the others
            logger.exception("could not delete the stored file %s of a deleted attachment", name)


def delete_files_after_commit(names: Iterable[str], *, using: str | None = None) -> None:
    """Delete these stored files once the current transaction commits (never, if it rolls back)."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: _delete_files(names), using=using)


def attachment_row_deleted(sender: type[Attachment], instance: Attachment, using: str, **kwargs: Any) -> None:
    """``post_delete`` of an attachment, however it was deleted (a service or a cascade from its
    customer): its file and thumbnail go after commit. The row was read before the delete, inside the
    deleting transaction, so the names are those of the rows actually deleted."""
    delete_files_after_commit([instance.file.name or "", instance.thumbnail.name or ""], using=using)


def store(checked: CheckedFile, *, actor: Any, customer_id: int, subject: tuple[str, int]) -> Attachment:
    """Write one checked file and its row, inside the caller's transaction (and ``files_guarded``)."""
    subject_type, subject_id = subject
    attachment = Attachment(
        customer_id=customer_id,
        subject_type=subject_type,
        subject_id=subject_id,
        name=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        is_image=checked.is_image,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    key = uuid.uuid4().hex
    thumbnail = make_thumbnail(checked.file) if checked.is_image else None
    checked.file.seek(0)
    attachment.file.save(f"{key}.{checked.extension}", checked.file, save=False)
    names = _stored.get()
    if names is not None:
        names.append(attachment.file.name or "")
    if thumbnail is not None:
        attachment.thumbnail.save(f"{key}.jpg", ContentFile(thumbnail), save=False)
        if names is not None:
            names.append(attachment.thumbnail.name or "")
    attachment.save()
    record_change(
        actor=actor,
        action=ChangeAction.CREATE,
        instance=attachment,
        root=_root(subject_type, subject_id) or attachment,
        changes=created(snapshot(attachment, ATTACHMENT_FIELDS)),
    )
    return attachment


def remove_for_subject(subject: tuple[str, int]) -> int:
    """Delete the attachments of a record being deleted (their files go after commit, see
    ``attachment_row_deleted``); returns how many."""
    subject_type, subject_id = subject
    _, per_model = Attachment.objects.filter(subject_type=subject_type, subject_id=subject_id).delete()
    return per_model.get(Attachment._meta.label, 0)


def _root(subject_type: str, subject_id: int) -> models.Model | None:
    """The record a file hangs on, as the change log's root (its history shows the file)."""
    try:
        model = apps.get_model(subject_type)
    except (LookupError, ValueError):
        return None
    return model(pk=subject_id)


def _subject_model(subject_type: str) -> type[models.Model]:
    try:
        model = apps.get_model(subject_type)
    except (LookupError, ValueError):
        model = None
    if model is None or not any(f.name == "customer" for f in model._meta.get_fields()):
        message = _("Files cannot be attached to %(what)s.") % {"what": subject_type[:64]}
        raise ValidationFailed(message, field_errors={"subject_type": [message]})
    return model


def _customer_for_write(actor: User, customer_id: int) -> Customer:
    customer = Customer.objects.filter(scope_q(actor)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


# --- services ------------------------------------------------------------------------------------------


def attachment_add(
    *, actor: User, customer_id: int, subject: tuple[str, int], file: Any, image_only: bool = False
) -> Attachment:
    """Attach ``file`` to the record ``subject`` (``("activities.communication", 7)``) of a customer."""
    with files_guarded(), transaction.atomic():
        require(actor, "edit")
        customer = _customer_for_write(actor, customer_id)
        subject_type, subject_id = str(subject[0]), int(subject[1])
        model = _subject_model(subject_type)
        if not 0 < subject_id <= 2**63 - 1:
            raise NotFound(_("The record to attach the file to was not found on this customer."))
        if not model._default_manager.filter(pk=subject_id, customer_id=customer.pk).exists():
            raise NotFound(_("The record to attach the file to was not found on this customer."))
        checked = check_file(file, image_only=image_only)
        attachment = store(checked, actor=actor, customer_id=customer.pk, subject=(subject_type, subject_id))
        _notify(actor, subject_type, subject_id)
        return attachment


def _attachment_for_write(actor: User, attachment_id: int) -> Attachment:
    attachment = (
        Attachment.objects.select_for_update()
        .filter(pk=attachment_id, customer__in=Customer.objects.filter(scope_q(actor)).values("pk"))
        .first()
    )
    if attachment is None:
        raise NotFound(_("Attachment not found."))
    return attachment


@transaction.atomic
def attachment_delete(*, actor: User, attachment_id: int) -> None:
    """The uploader (with the edit right) or anyone with the delete right removes a file."""
    attachment = _attachment_for_write(actor, attachment_id)
    if attachment.uploaded_by_id != actor.pk or not actor.may("edit"):
        try:
            require(actor, "delete")
        except PermissionDenied as exc:
            message = _("Only whoever uploaded a file, or someone who may delete records, can remove it.")
            raise PermissionDenied(message) from exc
    record_change(
        actor=actor,
        action=ChangeAction.DELETE,
        instance=attachment,
        root=_root(attachment.subject_type, attachment.subject_id) or attachment,
        changes=deleted(snapshot(attachment, ATTACHMENT_FIELDS)),
    )
    subject = (attachment.subject_type, attachment.subject_id)
    attachment.delete()  # its file and thumbnail go after commit (attachment_row_deleted)
    _notify(actor, *subject)
