"""Merging two duplicates from the list, field by field on the side-by-side page, then undoing it from
the survivor's merge history: the old number leads to the survivor meanwhile, and both come back."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pearl.core.testing.personas import PASSWORD
from pearl.customers.models import Customer
from pearl.customers.services import customer_update
from pearl.customers.tests.factories import make_customer

pytestmark = pytest.mark.browser


def test_merge_side_by_side_alias_and_unmerge(page: Any, live_server: Any, org: Any, log_in: Any) -> None:
    keeper = make_customer(org.manager, name="广州市海鲜酒楼有限公司", city="广州市", grade="B",
                           contacts=[{"name": "张伟", "mobile": "13800138000"}])  # fmt: skip
    older = make_customer(org.manager, name="广州海鲜酒楼", short_name="海鲜酒楼", city="广州市", grade="A",
                          contacts=[{"name": "李娜", "mobile": "13900139000"}])  # fmt: skip
    # The first record is the one kept up to date since; the list (newest number first) and the
    # merge page propose the other as the survivor.
    customer_update(actor=org.manager, customer_id=keeper.pk, data={"address": "天河路385号"})
    detail = lambda pk: live_server.url + reverse("customers:customer_detail", args=[pk])  # noqa: E731
    log_in(page, "manager", PASSWORD)

    # Tick both in the list and open the side-by-side page.
    results = page.locator("#results")
    results.get_by_role("checkbox", name=f"Select {keeper.name} for merging", exact=True).check()
    results.get_by_role("checkbox", name="Select 海鲜酒楼 for merging", exact=True).check()
    page.get_by_role("button", name="Merge selected").click()
    page.wait_for_url(re.compile(r"/customers/merge/\?"))
    head = page.locator("#merge-form .merge-fields thead")
    expect(head).to_contain_text(f"#{older.pk}")
    expect(head).to_contain_text(f"#{keeper.pk}")
    expect(page.locator(f"#merge-form input[name=survivor][value='{older.pk}']")).to_be_checked()

    # Choose the other survivor: htmx fetches the plan again and swaps the whole form.
    merge_url = live_server.url + reverse("customers:customer_merge")
    with page.expect_response(lambda r: r.url.startswith(merge_url) and r.request.method == "GET"):
        page.locator(f"#merge-form input[name=survivor][value='{keeper.pk}']").check()
    form = page.locator("#merge-form")
    cancel = form.get_by_role("link", name="Cancel", exact=True)
    expect(cancel).to_have_attribute("href", reverse("customers:customer_detail", args=[keeper.pk]))
    expect(form.locator(f"input[name=survivor][value='{keeper.pk}']")).to_be_checked()

    # Keep the merged-away record's grade by its radio in the side-by-side table.
    grade_row = form.locator(".merge-fields tbody tr", has=page.get_by_role("rowheader", name="Grade", exact=True))
    take_older = grade_row.locator(f"input[name=choice_grade][value='{older.pk}']")
    expect(grade_row.locator(f"input[name=choice_grade][value='{keeper.pk}']")).to_be_checked()  # most recent
    expect(take_older).not_to_be_checked()
    take_older.check()
    form.locator("input[name=confirm]").check()
    form.get_by_role("button", name="Merge 1 customer into the survivor").click()

    # Landed on the survivor: the other's contact moved over and the picked grade kept.
    page.wait_for_url(re.compile(re.escape(detail(keeper.pk)) + r"(#merges)?$"))
    expect(page.locator(".messages")).to_contain_text("Merged")
    contacts = page.locator("#contacts")
    expect(contacts).to_contain_text("张伟")
    expect(contacts).to_contain_text("李娜")
    expect(page.locator(".detail-head .grade")).to_have_text("Grade A")  # the picked value
    merges = page.locator("#merges")
    expect(merges).to_contain_text(f"#{older.pk}")
    assert not Customer.objects.filter(pk=older.pk).exists()
    keeper.refresh_from_db()
    assert keeper.grade == "A" and keeper.contacts.count() == 2

    # The merged-away number still works: it leads to the survivor.
    response = page.goto(detail(older.pk))
    assert response is not None and response.ok
    assert page.url == detail(keeper.pk)
    assert response.request.redirected_from is not None
    assert response.request.redirected_from.url == detail(older.pk)

    # Undo from the survivor's merge history: both customers are back as they were.
    page.locator("#merges").get_by_role("link", name="Undo merge…").click()
    page.wait_for_url(re.compile(r"/customers/merges/\d+/unmerge/$"))
    page.get_by_role("button", name="Undo merge").click()
    page.wait_for_url(detail(keeper.pk))
    expect(page.locator(".messages")).to_contain_text("Merge undone")
    expect(page.locator(".detail-head .grade")).to_have_text("Grade B")  # the value the merge replaced
    expect(page.locator("#contacts")).to_contain_text("张伟")
    expect(page.locator("#contacts")).not_to_contain_text("李娜")
    page.goto(detail(older.pk))
    assert page.url == detail(older.pk)
    expect(page.locator("h1")).to_have_text("海鲜酒楼")
    expect(page.locator("#contacts")).to_contain_text("李娜")
    page.locator("header").get_by_role("link", name="Customers", exact=True).click()
    expect(page.locator("#result-count")).to_have_text("2 customers")
    expect(page.locator("#results").get_by_role("link", name=keeper.name, exact=True)).to_be_visible()
    expect(page.locator("#results").get_by_role("link", name="海鲜酒楼", exact=True)).to_be_visible()
    older_back = Customer.objects.get(pk=older.pk)
    assert older_back.grade == "A" and list(older_back.contacts.values_list("name", flat=True)) == ["李娜"]
