"""The issue's "done when", end to end through the real interfaces: a customer created through the
API (bearer token) shows up on the pages with its change history, within the owner's scope only."""

from __future__ import annotations

import json

from django.test import Client

from pearl.accounts.services import token_create


def test_api_created_customer_shows_on_the_page_with_its_history(org, client: Client) -> None:
    _token, secret = token_create(actor=None, user=org.owner)
    response = client.post(
        "/api/v1/customers",
        data=json.dumps({"name": "广州鑫海海鲜酒楼有限公司", "short_name": "鑫海酒楼",
                         "contacts": [{"name": "张伟", "mobile": "13800138000"}]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}", "Accept-Language": "en"},
    )
    assert response.status_code == 201, response.content
    customer_id = response.json()["id"]

    client.force_login(org.owner)
    listing = client.get("/customers/", {"q": "hxjl"}, headers={"Accept-Language": "en"})
    assert "鑫海酒楼" in listing.content.decode()
    history = client.get(f"/customers/{customer_id}/history/", headers={"Accept-Language": "en"}).content.decode()
    assert "via API" in history and "张伟" in history and "owner" in history

    client.force_login(org.manager)
    assert client.get(f"/customers/{customer_id}/").status_code == 200
    client.force_login(org.outsider)
    assert client.get(f"/customers/{customer_id}/").status_code == 404
    assert "鑫海酒楼" not in client.get("/customers/", {"q": "hxjl"}).content.decode()
