"""The catalogue pages: products (list, search, category filter, create / edit / delete), categories (add,
delete), import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.core.errors import Conflict, PreconditionFailed, ValidationFailed
from pearl.core.pages import actor_of, add_service_errors, htmx_target
from pearl.core.paging import form_version, page_number, paginate
from pearl.core.permissions import require
from pearl.sales import selectors, services
from pearl.sales.forms import CategoryForm, ProductFilterPageForm, ProductForm, ProductImportForm
from pearl.sales.views.common import count_text, labelled, page, render


@page
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    params = request.GET.dict()
    number, page_error = page_number(params.pop("page", None))
    tree = selectors.category_tree(actor=actor)
    form = ProductFilterPageForm(request.GET or None, tree=tree)
    context: dict[str, Any] = {"form": form, "errors": [], "rows": [], "pager": None, "tree": tree}
    try:
        qs = selectors.product_list(actor=actor, filters=params)
    except ValidationFailed as exc:
        context["errors"] = labelled(exc.field_errors, form.fields) or [str(exc.message)]
    else:
        count = qs.count()
        context["rows"], context["pager"] = paginate(qs, number, count, False)
        context["count_text"] = count_text(count, False, ngettext("%(n)s product", "%(n)s products", count))
    if page_error:
        context["errors"].append(page_error)
    context["category_form"] = CategoryForm(tree=tree)
    template = "sales/_product-results.html" if htmx_target(request) == "results" else "sales/product_list.html"
    return render(request, template, context)


def _product_form(request: HttpRequest, product_id: int | None) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "manage_settings")
    tree = selectors.category_tree(actor=actor)
    product = selectors.product_get(actor=actor, product_id=product_id) if product_id else None
    if request.method == "GET":
        form = ProductForm(tree=tree, product=product)
        return render(request, "sales/product_form.html", {"form": form, "product": product})
    form = ProductForm(request.POST, tree=tree, product=product)
    status = 422
    if form.is_valid():
        try:
            if product is None:
                saved = services.product_create(actor=actor, data=form.data_for_service())
            else:
                saved = services.product_update(
                    actor=actor, product_id=product.pk, data=form.data_for_service(),
                    expected_version=form.cleaned_data.get("version"),
                )  # fmt: skip
        except (ValidationFailed, Conflict, PreconditionFailed) as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Product “%(name)s” saved.") % {"name": saved.name})
            return redirect("sales:product_list")
    return render(request, "sales/product_form.html", {"form": form, "product": product}, status=status)


@page
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest) -> HttpResponse:
    return _product_form(request, None)


@page
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _product_form(request, pk)


@page
@require_POST
def category_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "manage_settings")
    form = CategoryForm(request.POST, tree=selectors.category_tree(actor=actor))
    if form.is_valid():
        try:
            category = services.category_create(
                actor=actor, data={"name": form.cleaned_data["name"], "parent": form.cleaned_data["parent"] or None}
            )
        except ValidationFailed as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Category “%(name)s” added.") % {"name": category.name})
    else:
        messages.error(request, _("Choose a parent category from the list."))
    return redirect("sales:product_list")


@page
@require_http_methods(["GET", "POST"])
def product_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page, then the service's delete; its refusal (the product is on orders, or was
    changed meanwhile) is shown on the same page, like the order and customer deletes."""
    actor = actor_of(request)
    require(actor, "manage_settings")  # the catalogue's right (the service checks it again), as on the edit page
    product = selectors.product_get(actor=actor, product_id=pk)
    error, status = None, 200
    if request.method == "POST":
        try:
            services.product_delete(
                actor=actor, product_id=product.pk, expected_version=form_version(request.POST.get("version"))
            )
        except (Conflict, PreconditionFailed, ValidationFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Product “%(name)s” deleted.") % {"name": product.name})
            return redirect("sales:product_list")
    return render(request, "sales/product_confirm_delete.html", {"product": product, "error": error}, status=status)


@page
@require_http_methods(["GET", "POST"])
def category_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then delete; a category still holding products or subcategories is refused on the page."""
    actor = actor_of(request)
    require(actor, "manage_settings")
    category = selectors.category_get(actor=actor, category_id=pk)
    error, status = None, 200
    if request.method == "POST":
        try:
            services.category_delete(actor=actor, category_id=category.pk)
        except (Conflict, ValidationFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Category “%(name)s” deleted.") % {"name": category.name})
            return redirect("sales:product_list")
    context = {"category": category, "error": error}
    return render(request, "sales/category_confirm_delete.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def product_import(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "manage_settings")
    if request.method == "GET":
        return render(request, "sales/product_import.html", {"form": ProductImportForm()})
    form = ProductImportForm(request.POST, request.FILES)
    context: dict[str, Any] = {"form": form}
    status = 422
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = services.import_products(
                actor=actor, source=upload, filename=upload.name or "", dry_run=form.cleaned_data["dry_run"]
            )
        except ValidationFailed as exc:
            form.add_error("file", str(exc.message))
        else:
            context["report"] = report
            status = 200
    return render(request, "sales/product_import.html", context, status=status)
