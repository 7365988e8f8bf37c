"""Customer pages: list and search, create / edit, detail with contacts and history, CSV export.

Views are thin: they turn a request into one selector or service call and the service's errors into
messages on the form. Every page answers a customer outside the actor's scope with 404; services
check permissions again whatever the buttons showed. htmx requests get just the part that changes
(results, contacts section, a contact row); the same URLs work as full pages without JavaScript.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from pearl.accounts.models import User
from pearl.accounts.selectors import team_list, user_list
from pearl.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ValidationFailed,
)
from pearl.core.models import ChangeLog
from pearl.core.permissions import require
from pearl.core.phones import format_phone
from pearl.customers import selectors, services
from pearl.customers.choices import ChoiceList, CustomerKind, CustomerStatus, CustomFieldObject
from pearl.customers.forms import (
    ContactForm,
    CustomerFilterPageForm,
    CustomerForm,
    contact_form_options,
    custom_display,
)
from pearl.customers.models import Contact, Customer, CustomFieldDefinition
from pearl.customers.search import capped_count

PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 30
MAX_CONTACT_ROWS = 30

View = Callable[..., HttpResponseBase]


# --- plumbing --------------------------------------------------------------------------------------

def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)  # every view here is behind login_required


def _htmx_target(request: HttpRequest) -> str | None:
    details = getattr(request, "htmx", None)
    if not details or details.history_restore_request:
        return None  # history restores need the whole page
    return cast(str | None, details.target)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def error_page(request: HttpRequest, exc: ApplicationError, status: int) -> HttpResponse:
    return render(request, "customers/error.html", {"message": exc.message, "status": status}, status=status)


def page(view: View) -> View:
    """Login required; a missing / out-of-scope record is a 404 page, a denied action a 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            return error_page(request, exc, 404)
        except PermissionDenied as exc:
            return error_page(request, exc, 403)

    return login_required(wrapper)


@dataclass
class Pager:
    number: int
    count: int
    capped: bool
    has_next: bool
    size: int = PAGE_SIZE

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1


def _whole_number(raw: str | None) -> int | None:
    """A whole number typed in ASCII digits (``"²".isdigit()`` is true, ``int("²")`` fails), else None."""
    if raw and len(raw) <= 9 and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def _page_number(raw: str | None) -> tuple[int, str | None]:
    if raw in (None, ""):
        return 1, None
    number = _whole_number(raw)
    if number is None or number < 1:
        return 1, _("The page number must be a whole number from 1 up.")
    return number, None


def _paginate(qs: Any, number: int, count: int, capped: bool, size: int = 0) -> tuple[list[Any], Pager]:
    size = size or PAGE_SIZE
    if not capped:
        number = min(number, max(1, math.ceil(count / size)))
    offset = (number - 1) * size
    rows = list(qs[offset : offset + size + 1])  # one extra row tells whether a next page exists
    return rows[:size], Pager(number, count, capped, len(rows) > size, size)


def _version(raw: str | None) -> int | None:
    """The version a form was loaded with; garbage is refused rather than ignored."""
    if raw in (None, ""):
        return None
    version = _whole_number(raw)
    if version is None:
        raise ValidationFailed(_("This form is damaged; reload the page and try again."))
    return version


# --- list, search and export -----------------------------------------------------------------------

@page
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    params = request.GET.dict()
    number, page_error = _page_number(params.pop("page", None))
    form = CustomerFilterPageForm(request.GET or None, actor=actor)
    context: dict[str, Any] = {
        "nav": "customers", "form": form, "errors": [], "rows": [], "pager": None,
        "filters_active": any(v for k, v in params.items() if k != "q"),
    }
    try:
        qs = selectors.customer_list(actor=actor, filters=params)
    except ValidationFailed as exc:
        context["errors"] = _labelled(exc.field_errors, form.fields) or [str(exc.message)]
    else:
        qs = qs.prefetch_related("contacts")  # contacts sort primary first: the first is the primary one
        if (params.get("q") or "").strip():
            count, capped = capped_count(qs)  # a common word must not slow the page down
        else:
            count, capped = qs.count(), False
        context["rows"], context["pager"] = _paginate(qs, number, count, capped)
        context["count_text"] = (
            _("%(n)s+ customers") % {"n": f"{count:,}"} if capped
            else ngettext("%(n)s customer", "%(n)s customers", count) % {"n": f"{count:,}"}
        )
    if page_error:
        context["errors"].append(page_error)
    export = request.GET.copy()
    export.pop("page", None)
    context["export_query"] = export.urlencode()
    template = "customers/_results.html" if _htmx_target(request) == "results" else "customers/customer_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _labelled(errors: dict[str, list[Any]], fields: dict[str, Any]) -> list[str]:
    return [
        f"{fields[key].label if key in fields else key}: {message}"
        for key, messages_ in errors.items()
        for message in messages_
    ]


class _Echo:
    """A file-like sink for csv.writer that hands each line back, for streaming."""

    def write(self, value: str) -> str:
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _cell(value: Any) -> Any:
    # Excel runs a cell starting with = + - @ as a formula; a leading apostrophe keeps it text.
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


@page
@require_GET
def customer_export(request: HttpRequest) -> HttpResponseBase:
    actor = _actor(request)
    require(actor, "export")
    params = request.GET.dict()
    params.pop("page", None)
    try:
        qs = selectors.customer_list(actor=actor, filters=params)
    except ValidationFailed as exc:
        return error_page(request, exc, 400)
    definitions = list(selectors.custom_field_list(actor=actor, object_type=CustomFieldObject.CUSTOMER))
    header = [
        _("ID"), _("Full name"), _("Short name"), _("Kind"), _("Customer type"), _("Industry"),
        _("Source channel"), _("Province"), _("City"), _("District"), _("Street address"), _("Grade"),
        _("Status"), _("Owner"), _("Team"), _("Tags"), _("Primary contact"), _("Mobile / phone"), _("Email"),
        _("WeChat id"), *(d.label for d in definitions), _("Created"), _("Updated"),
    ]
    # Labels are read now, in the request's language; the rows are written later while streaming.
    labels = {**{k: str(v) for k, v in CustomerKind.choices}, **{k: str(v) for k, v in CustomerStatus.choices}}
    qs = qs.prefetch_related("contacts")  # primary first, like the list
    rows = _export_rows(qs.iterator(chunk_size=2000), definitions, labels)
    response = StreamingHttpResponse(_csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


def _export_rows(
    customers: Iterable[Customer], definitions: list[CustomFieldDefinition], labels: dict[str, str]
) -> Iterator[list[Any]]:
    for c in customers:
        contacts = list(c.contacts.all())
        primary = contacts[0] if contacts else None
        yield [
            c.pk, c.name, c.short_name, labels.get(c.kind, c.kind), str(c.customer_type or ""),
            str(c.industry or ""), str(c.source or ""), c.province, c.city, c.district, c.address, c.grade,
            labels.get(c.status, c.status), str(c.owner or ""), str(c.team or ""),
            "、".join(t.name for t in c.tags.all()),
            primary.name if primary else "", primary.mobile_display if primary else "",
            primary.email if primary else "", primary.wechat if primary else "",
            *(custom_display(d, c.custom_fields.get(d.key)) for d in definitions),
            timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(c.updated_at).strftime("%Y-%m-%d %H:%M"),
        ]


def _csv_stream(header: list[str], rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The byte-order mark tells Excel the file is UTF-8, so Chinese text opens readable.
    yield "\ufeff" + writer.writerow([_cell(v) for v in header])
    for row in rows:
        yield writer.writerow([_cell(v) for v in row])


# --- create and edit -------------------------------------------------------------------------------

def _row_indices(data: Any) -> list[int]:
    numbers = (_whole_number(v) for v in data.getlist("contact_rows"))
    return sorted({n for n in numbers if n is not None and n < 1000})[:MAX_CONTACT_ROWS]


def _contact_row(data: Any, index: int, options: tuple[Any, Any]) -> ContactForm:
    positions, definitions = options
    form = ContactForm(data, prefix=f"contact-{index}", positions=positions, definitions=definitions)
    form.row_index = index
    return form


def _validation_alert(exc: ValidationFailed, forms_with_errors: bool) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "message": _("Please correct the marked fields.") if forms_with_errors else exc.message
    }
    if exc.extra.get("existing_url"):
        alert["message"] = exc.message
        alert["link"] = exc.extra["existing_url"]
        alert["link_text"] = _("Open the existing customer")
    return alert


@page
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require(actor, "create")
    options = contact_form_options(actor)
    if request.method == "GET":
        return _form_page(request, CustomerForm(actor=actor), [_contact_row(None, 0, options)])
    form = CustomerForm(request.POST, actor=actor)
    rows = [_contact_row(request.POST, i, options) for i in _row_indices(request.POST) or [0]]
    if "add_contact" in request.POST:  # without JavaScript: the same form with one more empty row
        if len(rows) < MAX_CONTACT_ROWS:
            rows.append(_contact_row(None, max(r.row_index or 0 for r in rows) + 1, options))
        return _form_page(request, form, rows)
    valid = [form.is_valid(), *(row.is_valid() for row in rows)]
    alert: dict[str, Any] | None = None
    status = 422
    if all(valid):
        sent = [row for row in rows if not row.is_blank()]
        try:
            customer = services.customer_create(
                actor=actor, data=form.create_data(), contacts=[row.create_data() for row in sent]
            )
        except ValidationFailed as exc:
            for key, msgs in exc.field_errors.items():
                parts = key.split(".", 2)
                if parts[0] == "contacts" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(sent):
                    sent[int(parts[1])].apply_service_errors({parts[2]: msgs})
                else:
                    form.apply_service_errors({key: msgs})
            alert = _validation_alert(exc, bool(exc.field_errors))
        except Conflict as exc:  # e.g. a mobile that already belongs to another customer
            alert, status = {"message": exc.message}, exc.status
        else:
            messages.success(request, _("Customer “%(name)s” created.") % {"name": customer})
            return redirect("customers:customer_detail", pk=customer.pk)
    else:
        alert = {"message": _("Please correct the marked fields.")}
    return _form_page(request, form, rows, alert=alert, status=status)


def _form_page(
    request: HttpRequest, form: CustomerForm, rows: list[ContactForm] | None,
    alert: dict[str, Any] | None = None, status: int = 200,
) -> HttpResponse:
    next_index = max((r.row_index or 0 for r in rows), default=-1) + 1 if rows is not None else 0
    context = {
        "nav": "customers", "form": form, "customer": form.customer, "rows": rows, "alert": alert,
        "next_index": next_index,
    }
    return render(request, "customers/customer_form.html", context, status=status)


@page
@require_GET
def contact_row(request: HttpRequest) -> HttpResponse:
    """One more empty contact row for the create page (htmx appends it)."""
    actor = _actor(request)
    require(actor, "create")
    index = _whole_number(request.GET.get("index")) or 0
    index = index if index < 1000 else 0
    row = _contact_row(None, index, contact_form_options(actor))
    return render(request, "customers/_contact-fields.html", {"row": row, "next_index": index + 1, "oob": True})


@page
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    require(actor, "edit")
    if request.method == "GET":
        return _form_page(request, CustomerForm(actor=actor, customer=customer), None)
    form = CustomerForm(request.POST, actor=actor, customer=customer)
    alert: dict[str, Any] | None = {"message": _("Please correct the marked fields.")}
    status = 422
    if form.is_valid():
        data = form.update_data()
        try:
            services.customer_update(
                actor=actor, customer_id=pk, data=data, expected_version=form.cleaned_data.get("version")
            )
        except ValidationFailed as exc:
            form.apply_service_errors(exc.field_errors)
            alert = _validation_alert(exc, bool(exc.field_errors))
        except PreconditionFailed as exc:
            # Keep what the user typed; from now on a save replaces the newer values deliberately.
            alert = {
                "message": exc.message,
                "hint": _("Your input is kept below. Saving again will overwrite the other change."),
                "link": reverse("customers:customer_detail", args=[pk]),
                "link_text": _("See the current version (new tab)"),
                "new_tab": True,
            }
            data = request.POST.copy()
            data["version"] = str(exc.extra.get("version", ""))
            form.data = data
            status = exc.status
        except Conflict as exc:
            alert, status = {"message": exc.message}, exc.status
        else:
            messages.success(
                request, _("Saved.") if data else _("Nothing was changed."),
            )
            return redirect("customers:customer_detail", pk=pk)
    return _form_page(request, form, None, alert=alert, status=status)


@page
@require_http_methods(["GET", "POST"])
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    require(actor, "delete")
    error, status = None, 200
    if request.method == "POST":
        try:
            services.customer_delete(
                actor=actor, customer_id=pk, expected_version=_version(request.POST.get("version"))
            )
        except (Conflict, PreconditionFailed, ValidationFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Customer “%(name)s” deleted.") % {"name": customer})
            return redirect("customers:customer_list")
    context = {"nav": "customers", "customer": customer, "error": error}
    return render(request, "customers/customer_confirm_delete.html", context, status=status)


# --- detail, contacts ------------------------------------------------------------------------------

def _contacts_context(
    actor: User, customer: Customer, *, add_form: ContactForm | None = None,
    notice: str | None = None, error: Any = None,
) -> dict[str, Any]:
    positions, definitions = contact_form_options(actor)
    cards = []
    for contact in customer.contacts.all():
        custom = [
            (d.label, custom_display(d, contact.custom_fields.get(d.key))) for d in definitions
            if custom_display(d, contact.custom_fields.get(d.key))
        ]
        cards.append({"contact": contact, "custom": custom})
    return {
        "customer": customer, "contact_cards": cards, "contacts_notice": notice, "contacts_error": error,
        "add_form": add_form or ContactForm(prefix="new", positions=positions, definitions=definitions),
    }


def _detail_context(actor: User, customer: Customer, tab: str) -> dict[str, Any]:
    definitions = selectors.custom_field_list(actor=actor, object_type=CustomFieldObject.CUSTOMER)
    custom = [(d.label, custom_display(d, customer.custom_fields.get(d.key))) for d in definitions]
    return {"nav": "customers", "customer": customer, "tab": tab, "custom_rows": custom}


@page
@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    context = {**_detail_context(actor, customer, "profile"), **_contacts_context(actor, customer)}
    return render(request, "customers/customer_detail.html", context)


@page
@require_GET
def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    logs = selectors.customer_history(actor=actor, customer_id=pk)
    number, page_error = _page_number(request.GET.get("page"))
    rows, pager = _paginate(logs, number, logs.count(), False, HISTORY_PAGE_SIZE)
    context = {
        **_detail_context(actor, customer, "history"),
        "entries": history_entries(actor, rows), "pager": pager, "page_error": page_error,
    }
    return render(request, "customers/customer_detail.html", context)


def _contact_of(customer: Customer, contact_id: int) -> Contact:
    for contact in customer.contacts.all():
        if contact.pk == contact_id:
            return contact
    raise NotFound(_("Contact not found."))


def _contacts_section(request: HttpRequest, actor: User, pk: int, **kwargs: Any) -> HttpResponse:
    """The contacts section re-read after a change, swapped in place of the old one."""
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    response = render(request, "customers/_contacts.html", _contacts_context(actor, customer, **kwargs))
    return reswap(retarget(response, "#contacts"), "outerHTML")


def _detail_url(pk: int) -> str:
    return reverse("customers:customer_detail", args=[pk]) + "#contacts"


@page
@require_GET
def contact_list(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    selectors.customer_get(actor=actor, customer_id=pk)
    if not _is_htmx(request):
        return redirect(_detail_url(pk))
    return _contacts_section(request, actor, pk)


@page
@require_POST
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    positions, definitions = contact_form_options(actor)
    form = ContactForm(request.POST, prefix="new", positions=positions, definitions=definitions)
    error: Any = None
    if form.is_valid():
        try:
            contact = services.contact_create(actor=actor, customer_id=pk, data=form.create_data())
        except ValidationFailed as exc:
            form.apply_service_errors(exc.field_errors)
            error = None if exc.field_errors else exc.message
        except Conflict as exc:
            error = exc.message
        else:
            notice = _("Contact %(name)s added.") % {"name": contact.name}
            if _is_htmx(request):
                return _contacts_section(request, actor, pk, notice=notice)
            messages.success(request, notice)
            return redirect(_detail_url(pk))
    if _is_htmx(request):
        return _contacts_section(request, actor, pk, add_form=form, error=error)
    context = {
        **_detail_context(actor, customer, "profile"),
        **_contacts_context(actor, customer, add_form=form, error=error),
    }
    return render(request, "customers/customer_detail.html", context, status=422)


@page
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    contact = _contact_of(customer, contact_id)
    require(actor, "edit")
    positions, definitions = contact_form_options(actor)
    form = ContactForm(
        request.POST if request.method == "POST" else None, prefix=f"c{contact.pk}", positions=positions,
        definitions=definitions, contact=contact,
    )
    error: Any = None
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.contact_update(
                    actor=actor, contact_id=contact.pk, data=form.update_data(),
                    expected_version=form.cleaned_data.get("version"),
                )
            except ValidationFailed as exc:
                form.apply_service_errors(exc.field_errors)
                error = None if exc.field_errors else exc.message
            except (Conflict, PreconditionFailed) as exc:
                error, status = exc.message, exc.status
            else:
                notice = _("Contact %(name)s saved.") % {"name": form.cleaned_data.get("name") or contact.name}
                if _is_htmx(request):
                    return _contacts_section(request, actor, pk, notice=notice)
                messages.success(request, notice)
                return redirect(_detail_url(pk))
    context = {"nav": "customers", "customer": customer, "contact": contact, "form": form, "error": error}
    if _is_htmx(request):
        return render(request, "customers/_contact-edit.html", context)  # htmx swaps only 2xx answers
    return render(request, "customers/contact_form.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    contact = _contact_of(customer, contact_id)
    require(actor, "edit")
    if request.method == "GET":
        context = {"nav": "customers", "customer": customer, "contact": contact}
        return render(request, "customers/contact_confirm_delete.html", context)
    try:
        services.contact_delete(
            actor=actor, contact_id=contact.pk, expected_version=_version(request.POST.get("version"))
        )
    except (Conflict, PreconditionFailed, ValidationFailed) as exc:
        if _is_htmx(request):
            return _contacts_section(request, actor, pk, error=exc.message)
        messages.error(request, str(exc.message))
        return redirect(_detail_url(pk))
    notice = _("Contact %(name)s deleted.") % {"name": contact.name}
    if _is_htmx(request):
        return _contacts_section(request, actor, pk, notice=notice)
    messages.success(request, notice)
    return redirect(_detail_url(pk))


# --- history ---------------------------------------------------------------------------------------

FIELD_LABELS = {
    "kind": gettext_lazy("Kind"), "name": gettext_lazy("Name"), "short_name": gettext_lazy("Short name"),
    "customer_type": gettext_lazy("Customer type"), "industry": gettext_lazy("Industry"),
    "source": gettext_lazy("Source channel"), "province": gettext_lazy("Province"), "city": gettext_lazy("City"),
    "district": gettext_lazy("District"), "address": gettext_lazy("Street address"),
    "grade": gettext_lazy("Grade"), "status": gettext_lazy("Status"), "owner": gettext_lazy("Owner"),
    "team": gettext_lazy("Team"), "tags": gettext_lazy("Tags"), "mobile": gettext_lazy("Mobile / phone"),
    "email": gettext_lazy("Email"), "wechat": gettext_lazy("WeChat id"), "position": gettext_lazy("Position"),
    "is_primary": gettext_lazy("Primary contact"),
}
_FIELD_ORDER = {key: i for i, key in enumerate([*FIELD_LABELS, "custom_fields"])}
_OPTION_FIELDS = {"customer_type", "industry", "source", "position"}
_CUSTOMER_TYPE = "customers.customer"


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    log: ChangeLog
    who: str
    object_kind: str
    object_name: str
    changes: list[FieldChange]


class _Lookups:
    """Readable names for the ids a change log holds (options, users, teams), read once per page."""

    def __init__(self, actor: User, logs: list[ChangeLog]) -> None:
        wanted: dict[str, set[int]] = {"option": set(), "owner": set(), "team": set()}
        for log in logs:
            for key, pair in log.changes.items():
                bucket = "option" if key in _OPTION_FIELDS else key
                if bucket in wanted and isinstance(pair, list):
                    wanted[bucket].update(v for v in pair if isinstance(v, int))
        self.names: dict[str, dict[int, str]] = {"option": {}, "owner": {}, "team": {}}
        if wanted["option"]:
            for list_name in ChoiceList.values:
                options = selectors.choice_options(list_name=list_name, include_inactive=True)
                self.names["option"].update({o.pk: o.label for o in options.filter(pk__in=wanted["option"])})
        if wanted["owner"]:
            users = user_list(actor=actor).filter(pk__in=wanted["owner"])
            self.names["owner"] = {u.pk: str(u) for u in users}
        if wanted["team"]:
            self.names["team"] = {t.pk: t.name for t in team_list(actor=actor).filter(pk__in=wanted["team"])}
        self.definitions = {
            (d.object_type, d.key): d for d in selectors.custom_field_list(actor=actor)
        }

    def show(self, key: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return "—"
        bucket = "option" if key in _OPTION_FIELDS else key
        if bucket in self.names and isinstance(value, int):
            return self.names[bucket].get(value, f"#{value}")
        if key == "kind" and value in CustomerKind.values:
            return str(CustomerKind(value).label)
        if key == "status" and value in CustomerStatus.values:
            return str(CustomerStatus(value).label)
        if key == "mobile":
            return format_phone(str(value))
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        return str(value)

    def changes(self, object_type: str, changes: dict[str, Any]) -> list[FieldChange]:
        out: list[FieldChange] = []
        for key, pair in sorted(changes.items(), key=lambda kv: _FIELD_ORDER.get(kv[0], len(_FIELD_ORDER))):
            before, after = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
            if key == "custom_fields":
                out += self._custom(object_type, before or {}, after or {})
                continue
            label = FIELD_LABELS.get(key, key)
            if key == "name" and object_type == CustomFieldObject.CUSTOMER:
                label = gettext_lazy("Full name")
            out.append(FieldChange(str(label), self.show(key, before), self.show(key, after)))
        return out

    def _custom(self, object_type: str, before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
        out = []
        for key in sorted(set(before) | set(after)):
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            definition = self.definitions.get((object_type, key))
            if definition is None:  # the field was deleted since: show its key
                out.append(FieldChange(key, self.show(key, old), self.show(key, new)))
            else:
                out.append(FieldChange(
                    definition.label, custom_display(definition, old) or "—", custom_display(definition, new) or "—"
                ))
        return out


def history_entries(actor: User, logs: list[ChangeLog]) -> list[HistoryEntry]:
    lookups = _Lookups(actor, logs)
    entries = []
    for log in logs:
        object_type = CustomFieldObject.CUSTOMER if log.object_type == _CUSTOMER_TYPE else CustomFieldObject.CONTACT
        entries.append(HistoryEntry(
            log=log,
            who=str(log.actor) if log.actor else log.actor_label,
            object_kind=str(CustomFieldObject(object_type).label),
            object_name=log.object_repr,
            changes=lookups.changes(object_type, log.changes),
        ))
    return entries
