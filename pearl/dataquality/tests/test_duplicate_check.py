"""The matcher everywhere: match keys kept in step, the check while typing (page and API), and the
refusal of a confident duplicate on create unless confirmed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from pearl.accounts.services import token_create
from pearl.core.duplicates import Candidate, DuplicateSuspected
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.services import contact_create, customer_delete, customer_merge, customer_unmerge, customer_update
from pearl.customers.tests.factories import make_customer, make_dupe
from pearl.dataquality import selectors
from pearl.dataquality.models import MatchKey, MatchRecord
from pearl.dataquality.services import matchkeys
from pearl.dataquality.services.matchkeys import match_keys_rebuild

XINHAI: dict[str, Any] = {"name": "广州鑫海海鲜酒楼有限公司", "address": "广州市天河区天河路100号"}
XINHAI_AGAIN: dict[str, Any] = {"name": "鑫海酒楼", "city": "广州市", "address": "天河区天河路100号"}


def _keys(customer: Customer) -> set[str]:
    return set(MatchKey.objects.filter(customer=customer).values_list("key", flat=True))


def _all_keys() -> set[tuple[str, int]]:
    return set(MatchKey.objects.values_list("key", "customer_id"))


def test_keys_follow_every_write(org: Org) -> None:
    customer = make_customer(org.owner, **XINHAI, contacts=[{"name": "张伟", "mobile": "138 0013 8000"}])
    keys = _keys(customer)
    assert "m:13800138000" in keys and any(k.startswith("nc:广州") for k in keys)
    customer_update(actor=org.owner, customer_id=customer.pk, data={"name": "广州蓝湾贸易有限公司"})
    renamed = _keys(customer)
    assert renamed != keys and "m:13800138000" in renamed
    contact_create(actor=org.owner, customer_id=customer.pk, data={"name": "陈静", "mobile": "13755556666"})
    assert "m:13755556666" in _keys(customer)
    customer_delete(actor=org.admin, customer_id=customer.pk)
    assert not MatchKey.objects.exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_rebuild_gives_the_keys_the_services_kept(org: Org, workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # One customer per chunk: with two workers the chunks really go through the pipeline, in order.
    monkeypatch.setattr(matchkeys, "PIPE_CHUNK", 1)
    make_customer(org.owner, name="佛山海旺水产行", city="佛山市")
    make_customer(org.owner, **XINHAI, contacts=[{"name": "张伟", "mobile": "13800138000"}])
    make_customer(
        org.teammate, name="深圳金湾贸易有限公司", city="深圳市", contacts=[{"name": "陈静", "email": "c@x.cn"}]
    )
    kept = _all_keys()
    features = dict(MatchRecord.objects.values_list("customer_id", "features"))
    MatchKey.objects.all().delete()
    MatchRecord.objects.all().delete()
    assert match_keys_rebuild(workers=workers) == len(kept)
    assert _all_keys() == kept
    assert dict(MatchRecord.objects.values_list("customer_id", "features")) == features


def test_check_finds_the_existing_customer_with_reasons_and_keeps_traps_apart(org: Org) -> None:
    existing = make_customer(org.owner, **XINHAI, contacts=[{"name": "张伟", "mobile": "13800138000"}])
    make_customer(org.owner, name="永辉超市（五一店）", city="福州市")
    check = selectors.duplicate_check(actor=org.owner, candidate=Candidate(**XINHAI_AGAIN))
    assert [(h.customer_id, h.band, h.visible, h.name) for h in check.hits] == [
        (existing.pk, "duplicate", True, existing.name)
    ]
    fields = {r["field"]: r["outcome"] for r in check.hits[0].reasons}
    assert fields["name"] in {"core", "pinyin", "legal"} and fields["address"] != "different"
    by_phone = selectors.duplicate_check(actor=org.owner, candidate=Candidate(mobiles=("+86 138-0013-8000",)))
    assert [(h.customer_id, h.band) for h in by_phone.hits] == [(existing.pk, "possible")]
    branch = selectors.duplicate_check(actor=org.owner, candidate=Candidate(name="永辉超市（万达店）", city="福州市"))
    assert all(h.band != "duplicate" for h in branch.hits)  # another shop of the chain
    assert selectors.duplicate_check(actor=org.owner, candidate=Candidate(name="深圳完全不同科技有限公司")).hits == ()


def test_check_many_answers_each_candidate_as_the_single_check_does(org: Org) -> None:
    """The batch form (channel events) shares its reads across candidates and gives the same answers,
    in order; an empty list costs nothing."""
    make_customer(org.owner, **XINHAI, contacts=[{"name": "张伟", "mobile": "13800138000"}])
    make_customer(org.owner, name="永辉超市（五一店）", city="福州市")
    make_customer(org.outsider, name="深圳金湾贸易有限公司", city="深圳市", contacts=[{"name": "陈静"}])
    candidates = [
        Candidate(**XINHAI_AGAIN),
        Candidate(name="深圳完全不同科技有限公司"),
        Candidate(mobiles=("+86 138-0013-8000",)),
        Candidate(name="永辉超市（万达店）", city="福州市"),
        Candidate(name="金湾贸易", city="深圳市", contact_names=("陈静",)),
    ]

    def seen(check: Any) -> list[tuple[Any, ...]]:
        return [(h.customer_id, h.score, h.band, h.visible, h.name, h.reasons) for h in check.hits]

    one_by_one = [seen(selectors.duplicate_check(actor=org.owner, candidate=c)) for c in candidates]
    together = [seen(c) for c in selectors.duplicate_check_many(actor=org.owner, candidates=candidates)]
    assert together == one_by_one
    assert one_by_one[0] and not one_by_one[1] and one_by_one[4] and one_by_one[4][0][3] is False
    assert selectors.duplicate_check_many(actor=org.owner, candidates=[]) == []


def test_check_hides_customers_outside_the_scope(org: Org) -> None:
    make_customer(org.owner, **XINHAI)
    hit = selectors.duplicate_check(actor=org.outsider, candidate=Candidate(**XINHAI_AGAIN)).hits[0]
    assert (hit.visible, hit.name, hit.reasons) == (False, "", ())


def test_create_refuses_a_confident_duplicate_unless_confirmed(org: Org) -> None:
    existing = make_customer(org.owner, **XINHAI)
    with pytest.raises(DuplicateSuspected) as refused:
        make_customer(org.owner, **XINHAI_AGAIN, contacts=[{"name": "李四", "mobile": "13900001111"}])
    assert existing.name in str(refused.value.message)
    assert refused.value.extra["duplicates"][0]["customer"] == existing.pk
    assert Customer.objects.count() == 1 and MatchKey.objects.filter(key="m:13900001111").count() == 0
    twin = make_customer(org.owner, allow_duplicate=True, **XINHAI_AGAIN)
    assert Customer.objects.count() == 2 and _keys(twin)
    make_customer(org.owner, name="永辉超市（五一店）", city="福州市")
    make_customer(org.owner, name="永辉超市（万达店）", city="福州市")  # a chain's other shop is not refused


def test_merge_and_unmerge_keep_the_keys(org: Org) -> None:
    a = make_customer(org.owner, **XINHAI, contacts=[{"name": "张伟", "mobile": "13800138000"}])
    b = make_dupe(org.owner, **XINHAI_AGAIN, contacts=[{"name": "李四", "mobile": "13900001111"}])
    before = _all_keys()
    merge = customer_merge(actor=org.admin, survivor_id=a.pk, other_ids=[b.pk])
    assert {"m:13800138000", "m:13900001111"} <= _keys(a) and not _keys(b)
    customer_unmerge(actor=org.admin, merge_id=merge.pk)
    assert _all_keys() == before


def _api(user: Any) -> Client:
    _token, secret = token_create(actor=user, user=user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")


def test_api_check_and_create(org: Org) -> None:
    existing = make_customer(org.owner, **XINHAI)
    api = _api(org.owner)
    check = api.post("/api/v1/duplicates/check", {**XINHAI_AGAIN, "contacts": [{"name": "张伟"}]},
                     content_type="application/json")  # fmt: skip
    assert check.status_code == 200, check.content
    body = check.json()
    assert body["hidden"] == 0 and body["items"][0]["customer"] == existing.pk
    assert body["items"][0]["band"] == "duplicate" and body["items"][0]["reasons"]
    bad = api.post("/api/v1/duplicates/check", {"kind": "robot", "name": "x" * 300}, content_type="application/json")
    assert bad.status_code == 422 and bad["Content-Type"].startswith("application/problem+json")
    refused = api.post("/api/v1/customers", XINHAI_AGAIN, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "duplicate_suspected"
    assert refused.json()["duplicates"][0]["customer"] == existing.pk
    assert Customer.objects.count() == 1
    created = api.post("/api/v1/customers?allow_duplicate=true", XINHAI_AGAIN, content_type="application/json")
    assert created.status_code == 201 and Customer.objects.count() == 2


def test_page_panel_and_confirmed_create(en: Any, org: Org) -> None:
    existing = make_customer(org.owner, **XINHAI)
    en.force_login(org.owner)
    form = {"kind": "company", "status": "active", "contact_rows": "0", "contact-0-name": "", "contact-0-mobile": "",
            **XINHAI_AGAIN}  # fmt: skip
    panel = en.post(reverse("dataquality:duplicate_check"), form).content.decode()
    assert existing.name in panel and "Duplicate" in panel and "Name" in panel
    assert en.post(reverse("dataquality:duplicate_check"), {"name": ""}).content.decode().strip() == ""
    refused = en.post(reverse("customers:customer_create"), form)
    html = refused.content.decode()
    assert refused.status_code == 409 and existing.name in html and 'name="allow_duplicate"' in html
    assert Customer.objects.count() == 1
    created = en.post(reverse("customers:customer_create"), {**form, "allow_duplicate": "1"})
    assert created.status_code == 302 and Customer.objects.count() == 2


def test_import_on_the_matcher_updates_the_customer_it_recognises(org: Org) -> None:
    from pearl.dataquality.services.imports import job_create, job_preview, job_run, job_start
    from pearl.dataquality.tests.test_import_jobs import xlsx

    existing = make_customer(org.owner, **XINHAI)
    rows = [["鑫海酒楼", "广州市", "天河区天河路100号", "王五", "13700001111"],
            ["深圳蓝湾贸易有限公司", "深圳市", "南山区科技路8号", "陈静", "13755556666"]]  # fmt: skip
    data = xlsx(rows, headers=["客户名称", "城市", "地址", "联系人", "手机"], title=None)
    job = job_create(actor=org.owner, file=io.BytesIO(data), filename="客户.xlsx", key="matcher")
    preview = job_preview(actor=org.owner, job_id=job.pk).preview["counts"]
    assert (preview["created"], preview["updated"]) == (1, 1)
    job_start(actor=org.owner, job_id=job.pk)
    job = job_run(job_id=job.pk)
    assert job.counts == preview and Customer.objects.count() == 2
    assert existing.contacts.filter(name="王五", mobile="13700001111").exists()
    assert MatchKey.objects.filter(key="m:13755556666").exists()  # the new customer is keyed too


def test_features_are_kept_and_the_scan_reads_them(org: Org) -> None:
    from pearl.dataquality.matching import chinese_config, prepare, scan
    from pearl.dataquality.matching.columns import stored
    from pearl.dataquality.services.duplicates import duplicates_scan

    config = chinese_config()
    a = make_customer(org.owner, **XINHAI, contacts=[{"name": "张伟", "mobile": "13800138000"}])
    make_dupe(org.owner, **XINHAI_AGAIN, contacts=[{"name": "张伟"}])
    make_dupe(org.owner, name="金湾贸易有限公司", city="深圳市", address="南山区科技路8号")
    make_dupe(org.owner, name="金湾贸易", city="深圳市", address="南山区科技路8号")
    kept = MatchRecord.objects.get(customer=a).features
    assert kept == stored(prepare(selectors.match_records([a.pk])[0], config).features, config)
    # The scan of the kept features finds what a scan that parses every record again finds.
    parsed = scan(selectors.customer_match_records(actor=org.owner), config)
    fresh = {(*sorted((int(m.left), int(m.right))), m.score, m.band) for m in parsed}
    summary = duplicates_scan(actor=org.owner)
    found = {(p.left_id, p.right_id, p.score, p.band) for p in selectors.pair_list(actor=org.owner)}
    assert summary.pairs == len(fresh) == 2 and found == fresh
    # A customer whose kept features are missing (or were kept for another configuration) still counts.
    MatchRecord.objects.filter(customer=a).update(features=["stale"])
    assert duplicates_scan(actor=org.owner).pairs == 2
    MatchRecord.objects.filter(customer=a).delete()
    assert duplicates_scan(actor=org.owner).pairs == 2
    hits = selectors.duplicate_check(actor=org.owner, candidate=Candidate(**XINHAI_AGAIN)).hits
    assert a.pk in {h.customer_id for h in hits}


def test_reindex_command_and_against_db_reads_the_keys(org: Org, tmp_path: Any) -> None:
    from django.core.management import call_command

    from pearl.dataquality.tests.test_import_jobs import xlsx

    existing = make_customer(org.owner, **XINHAI, contacts=[{"name": "张伟", "mobile": "13800138000"}])
    MatchKey.objects.all().delete()
    MatchRecord.objects.all().delete()
    out = io.StringIO()
    call_command("dedupe", "--reindex", stdout=out)
    assert MatchKey.objects.filter(customer=existing).exists() and MatchRecord.objects.filter(customer=existing)
    path = tmp_path / "rows.xlsx"
    row = ["7", "鑫海酒楼", "广州市", "天河区天河路100号"]
    path.write_bytes(xlsx([row], headers=["编号", "客户名称", "城市", "地址"], title=None))
    pairs = io.StringIO()
    call_command("dedupe", str(path), "--against-db", "--user", "owner", stdout=pairs, stderr=io.StringIO())
    lines = pairs.getvalue().splitlines()
    assert lines[0] == "left_id,right_id,score,band,reasons" and lines[1].startswith(f"7,{existing.pk},")
