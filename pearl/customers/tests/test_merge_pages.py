"""Merge pages: side by side, merging, old ids redirecting, undo from the survivor's page."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from pearl.core.testing.personas import Org
from pearl.customers.models import Contact, Customer, CustomerMerge
from pearl.customers.services import customer_merge
from pearl.customers.tests.factories import make_customer, mobile

MERGE_URL = reverse("customers:customer_merge")


@pytest.fixture
def pair(org: Org) -> tuple[Customer, Customer]:
    s = make_customer(org.owner, short_name="鑫海", city="广州市", contacts=[{"name": "张伟", "mobile": mobile(1)}])
    a = make_customer(org.owner, short_name="鑫海酒楼", city="深圳市", contacts=[{"name": "李娜"}])
    return s, a


@pytest.fixture
def manager(en: Any, org: Org) -> Any:
    en.force_login(org.manager)
    return en


def test_the_merge_page_shows_values_side_by_side_with_the_winner_preselected(manager: Any, pair: Any) -> None:
    s, a = pair
    response = manager.get(MERGE_URL, {"ids": [s.pk, a.pk]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "广州市" in html and "深圳市" in html
    # a was created last, so its city is the most recent value and is preselected
    assert f'name="choice_city" value="{a.pk}" checked' in html
    assert f'name="choice_city" value="{s.pk}">' in html
    assert f'name="survivor" value="{s.pk}" checked' in html
    assert "Merge 1 customer into the survivor" in html


def test_the_rule_and_survivor_change_the_preselection(manager: Any, pair: Any) -> None:
    s, a = pair
    Customer.objects.filter(pk=s.pk).update(address="天河路 1 号金融大厦")
    Customer.objects.filter(pk=a.pk).update(address="天河路 1 号")
    html = manager.get(MERGE_URL, {"ids": [s.pk, a.pk], "rule": "complete", "survivor": a.pk}).content.decode()
    assert f'name="choice_address" value="{s.pk}" checked' in html
    assert f'name="survivor" value="{a.pk}" checked' in html


def test_posting_the_form_merges_and_goes_to_the_survivor(manager: Any, pair: Any) -> None:
    s, a = pair
    data = {"ids": [s.pk, a.pk], "survivor": s.pk, "rule": "recent", "choice_city": s.pk, "confirm": "1"}
    response = manager.post(MERGE_URL, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_detail", args=[s.pk]) + "#merges"
    s.refresh_from_db()
    assert s.city == "广州市"  # picked by hand against the rule
    assert not Customer.objects.filter(pk=a.pk).exists()
    assert Contact.objects.filter(customer=s).count() == 2
    page = manager.get(response["Location"]).content.decode()
    merge = CustomerMerge.objects.get()
    assert 'id="merges"' in page and reverse("customers:customer_unmerge", args=[merge.pk]) in page


def test_the_merge_needs_the_confirmation_box(manager: Any, pair: Any) -> None:
    s, a = pair
    response = manager.post(MERGE_URL, {"ids": [s.pk, a.pk], "survivor": s.pk})
    assert response.status_code == 422
    assert "Tick the box" in response.content.decode()
    assert Customer.objects.filter(pk=a.pk).exists()


def test_bad_choices_are_shown_on_the_page(manager: Any, pair: Any) -> None:
    s, a = pair
    response = manager.post(MERGE_URL, {"ids": [s.pk, a.pk], "survivor": s.pk, "choice_colour": s.pk, "confirm": "1"})
    assert response.status_code == 422
    assert "There is no field colour to merge." in response.content.decode()
    assert Customer.objects.filter(pk=a.pk).exists()


def test_a_survivor_outside_the_list_and_a_single_id(manager: Any, pair: Any) -> None:
    s, a = pair
    response = manager.get(MERGE_URL, {"ids": [s.pk, a.pk], "survivor": 999})
    assert response.status_code == 422 and "The survivor must be one of" in response.content.decode()
    response = manager.get(MERGE_URL, {"ids": [s.pk]})
    assert response.status_code == 200 and "Add at least one more customer" in response.content.decode()


def test_adding_a_customer_by_name_offers_candidates(manager: Any, pair: Any) -> None:
    s, a = pair
    html = manager.get(MERGE_URL, {"ids": [s.pk], "add": "鑫海酒楼"}).content.decode()
    assert f"ids={s.pk}&amp;ids={a.pk}" in html
    html = manager.get(MERGE_URL, {"ids": [s.pk], "add": str(a.pk)}).content.decode()
    assert 'id="merge-form"' in html  # a number adds the customer straight away
    response = manager.get(MERGE_URL, {"ids": [s.pk, a.pk], "add": "999999"})
    assert response.status_code == 200  # a wrong number does not lose the customers already chosen
    assert "Customer #999999 not found." in response.content.decode() and 'id="merge-form"' in response.content.decode()


def test_entry_points_on_the_detail_and_list_pages(manager: Any, en: Any, org: Org, pair: Any) -> None:
    s, a = pair
    detail = manager.get(reverse("customers:customer_detail", args=[s.pk])).content.decode()
    assert "Merge with…" in detail and f'name="ids" value="{s.pk}"' in detail
    listing = manager.get(reverse("customers:customer_list")).content.decode()
    assert 'id="merge-select"' in listing and f'value="{a.pk}" form="merge-select"' in listing
    en.force_login(org.owner)  # may edit, may not delete: no merge buttons
    assert "Merge with…" not in en.get(reverse("customers:customer_detail", args=[s.pk])).content.decode()
    assert 'id="merge-select"' not in en.get(reverse("customers:customer_list")).content.decode()


def test_an_old_id_redirects_permanently_to_the_survivor(manager: Any, en: Any, org: Org, pair: Any) -> None:
    s, a = pair
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    response = manager.get(reverse("customers:customer_detail", args=[a.pk]))
    assert response.status_code == 301
    assert response["Location"] == reverse("customers:customer_detail", args=[s.pk])
    assert "no-store" in response["Cache-Control"]  # an unmerge brings the old id back
    en.force_login(org.outsider)
    assert en.get(reverse("customers:customer_detail", args=[a.pk])).status_code == 404


def test_the_unmerge_button_undoes_the_merge(manager: Any, pair: Any, org: Org) -> None:
    s, a = pair
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    url = reverse("customers:customer_unmerge", args=[merge.pk])
    confirm = manager.get(url)
    assert confirm.status_code == 200 and "Undo merge" in confirm.content.decode()
    response = manager.post(url)
    assert response.status_code == 302
    assert Customer.objects.filter(pk=a.pk).exists()
    assert Contact.objects.get(name="李娜").customer_id == a.pk
    again = manager.post(url)
    assert again.status_code == 409 and "already undone" in again.content.decode()


def test_merge_pages_deny_the_outsider_and_who_may_not_delete(en: Any, org: Org, pair: Any) -> None:
    s, a = pair
    en.force_login(org.outsider)
    assert en.get(MERGE_URL, {"ids": [s.pk, a.pk]}).status_code == 403  # a sales role may not delete
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    assert en.get(reverse("customers:customer_unmerge", args=[merge.pk])).status_code == 404
    en.force_login(org.admin)
    hq = make_customer(org.admin)
    en.force_login(org.manager)
    assert en.get(MERGE_URL, {"ids": [s.pk, hq.pk]}).status_code == 404
    en.force_login(org.owner)
    assert en.post(reverse("customers:customer_unmerge", args=[merge.pk])).status_code == 403
