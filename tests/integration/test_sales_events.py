"""POST /v1/sales-events and GET /v1/sales-events/{id}: the stored event, dedupe, validation."""

import copy
import json
import re
import threading
import time

from harness import check, check_eq, expect_error, expect_status, rand_id
from noticia import event, fixture, parse_time

EVT_RE = re.compile(r"evt_[0-9A-HJKMNP-TV-Z]{26}", re.IGNORECASE)


def _tenant_with_store(stack, store="paris-rivoli-01"):
    t = stack.new_tenant()
    st = t.create_store(store, "Paris Rivoli")
    return t, st


def test_vendor_example_201_stored_event(stack):
    t, st = _tenant_with_store(stack)
    ev = fixture("purchase_example")
    r = expect_status(t.api.post("/v1/sales-events", ev), 201)
    b = r.json
    check(EVT_RE.fullmatch(b.get("id") or ""), "event id %r is not evt_ + 26 Crockford chars", b.get("id"))
    for k in ("external_id", "type", "occurred_at", "currency", "total_amount_cents", "total_discount_cents",
              "total_tax_cents", "source"):
        check_eq(b.get(k), ev[k], "stored " + k)
    check_eq(b.get("store_id"), st["id"], "store_id (canonical)")
    if "store_external_id" in b:
        check_eq(b["store_external_id"], "paris-rivoli-01", "store_external_id")
    check(str(b.get("profile_id", "")).startswith("prof_"), "profile_id %r", b.get("profile_id"))
    if "profile_external_id" in b:
        check_eq(b["profile_external_id"], "crm-customer-4815", "profile_external_id")
    check(isinstance(b.get("received_at"), str), "received_at missing")
    parse_time(b["received_at"])
    lines = b.get("line_items")
    check(isinstance(lines, list) and len(lines) == 2, "line_items: %r", lines)
    for got, sent in zip(lines, ev["line_items"]):
        for k in ("external_id", "quantity", "unit_price_cents", "total_price_cents", "tax_cents"):
            check_eq(got.get(k), sent[k], "line %s %s" % (sent["external_id"], k))
        p = got.get("product") or {}
        check(str(p.get("id", "")).startswith("prod_"), "product id %r", p.get("id"))
        check_eq(p.get("external_id"), sent["product"]["external_id"], "product external_id")
        check_eq(p.get("name"), sent["product"]["name"], "product name")
        if "properties" in sent["product"]:
            check_eq(p.get("properties"), sent["product"]["properties"], "product properties")
    check(lines[0]["product"]["id"] != lines[1]["product"]["id"], "two products share an id")


def test_resend_same_external_id_200_same_event(stack):
    t, _ = _tenant_with_store(stack)
    ev = fixture("purchase_example")
    first = expect_status(t.api.post("/v1/sales-events", ev), 201).json
    again = expect_status(t.api.post("/v1/sales-events", ev), 200).json
    check_eq(again.get("id"), first["id"], "id on re-send")
    check_eq(again, first, "stored event on re-send")
    changed = copy.deepcopy(ev)
    changed["total_amount_cents"] = 99999
    third = expect_status(t.api.post("/v1/sales-events", changed), 200).json
    check_eq(third.get("id"), first["id"], "id on re-send with other amounts")
    check_eq(third.get("total_amount_cents"), 12500, "the first version stays stored")


def test_get_event_by_id_and_external_id(stack):
    t, _ = _tenant_with_store(stack)
    ev = fixture("purchase_example")
    created = expect_status(t.api.post("/v1/sales-events", ev), 201).json
    from urllib.parse import quote
    for ref in (created["id"], quote(ev["external_id"], safe="")):
        g = expect_status(t.api.get("/v1/sales-events/" + ref), 200)
        check_eq(g.json, created, "GET /v1/sales-events/%s" % ref)
    expect_error(t.api.get("/v1/sales-events/evt_" + "0" * 26), 404, "NOT_FOUND")
    expect_error(t.api.get("/v1/sales-events/no-such-ticket"), 404, "NOT_FOUND")


def test_optional_fields_round_trip(stack):
    t, _ = _tenant_with_store(stack)
    ev = fixture("full_optional")
    b = expect_status(t.api.post("/v1/sales-events", ev), 201).json
    check_eq(parse_time(b["occurred_at"]), parse_time(ev["occurred_at"]), "occurred_at instant")
    check(b["occurred_at"].endswith("-05:00"), "occurred_at lost its offset: %r", b["occurred_at"])
    for k in ("payments", "loyalty", "metadata", "total_tax_cents", "source", "currency"):
        check_eq(b.get(k), ev[k], "stored " + k)
    check_eq(b["line_items"][0]["product"]["name"], "Café crème ☕ 250g", "unicode product name")
    check_eq(b["line_items"][0]["product"]["properties"], ev["line_items"][0]["product"]["properties"],
             "typed scalar properties (string/int/bool/real)")
    check("product" not in b["line_items"][1] or not b["line_items"][1]["product"],
          "a line without product got one: %r", b["line_items"][1])
    check("profile_id" not in b or b["profile_id"] in (None, ""), "anonymous sale got a profile: %r",
          b.get("profile_id"))
    g = expect_status(t.api.get("/v1/sales-events/" + b["id"]), 200)
    check_eq(g.json, b, "GET of the stored event")


def test_store_alias_and_canonical_store_id(stack):
    t, st = _tenant_with_store(stack)
    ev = event("unused", external_id="AL-" + rand_id())
    del ev["store_id"]
    ev["store"] = "paris-rivoli-01"
    r = expect_status(t.api.post("/v1/sales-events", ev), 201)
    check_eq(r.json.get("store_id"), st["id"], "store_id via the 'store' alias")
    ev2 = event(st["id"], external_id="CS-" + rand_id())
    r = expect_status(t.api.post("/v1/sales-events", ev2), 201)
    check_eq(r.json.get("store_id"), st["id"], "store_id via canonical store_ id")


def test_unknown_store_404(stack):
    t, _ = _tenant_with_store(stack)
    ext = "NS-" + rand_id()
    expect_error(t.api.post("/v1/sales-events", event("lyon-part-dieu-02", external_id=ext)), 404, "NOT_FOUND")
    expect_error(t.api.post("/v1/sales-events", event("store_" + "Q" * 20, external_id=ext)), 404, "NOT_FOUND")
    expect_error(t.api.get("/v1/sales-events/" + ext), 404, "NOT_FOUND")
    # once the store exists the same event goes through
    t.create_store("lyon-part-dieu-02")
    expect_status(t.api.post("/v1/sales-events", event("lyon-part-dieu-02", external_id=ext)), 201)


def test_events_without_external_id_are_distinct(stack):
    t, _ = _tenant_with_store(stack)
    ev = event("paris-rivoli-01")
    a = expect_status(t.api.post("/v1/sales-events", ev), 201).json
    time.sleep(0.005)
    b = expect_status(t.api.post("/v1/sales-events", ev), 201).json
    check(a["id"] != b["id"], "two events without external_id got the same id %s", a["id"])
    check(a["id"] < b["id"], "event ids are not time-sortable: %s then %s", a["id"], b["id"])


def test_return_event_201(stack):
    t, _ = _tenant_with_store(stack)
    b = expect_status(t.api.post("/v1/sales-events", fixture("return_example")), 201).json
    check_eq(b.get("type"), "RETURN", "type")
    check_eq(b.get("total_amount_cents"), 2500, "RETURN amount is kept positive")


def test_validation_names_every_bad_field(stack):
    t, _ = _tenant_with_store(stack)
    r = t.api.post("/v1/sales-events", fixture("invalid_many"))
    expect_error(r, 400, "VALIDATION_ERROR",
                 ["external_id", "type", "occurred_at", "currency", "total_amount_cents",
                  "total_discount_cents", "line_items[0].quantity", "line_items[1].total_price_cents"])
    for d in r.json["error"]["details"]:
        check(isinstance(d.get("issue"), str) and d["issue"], "detail without issue text: %r", d)


def _one_bad(t, mutate, field, code="VALIDATION_ERROR", prefix=False):
    ev = fixture("purchase_example")
    ev["external_id"] = "V-" + rand_id()
    mutate(ev)
    r = t.api.post("/v1/sales-events", ev)
    try:
        expect_error(r, 400, code, [field], prefix=prefix)
    except AssertionError as e:
        raise AssertionError("%s (sent %s)" % (e, json.dumps(ev)[:300]))


def test_each_required_field_missing_400(stack):
    t, _ = _tenant_with_store(stack)
    for f in ("type", "occurred_at", "currency", "total_amount_cents", "total_discount_cents", "line_items"):
        _one_bad(t, lambda ev: ev.pop(f), f)
    _one_bad(t, lambda ev: ev.pop("store_id"), "store_id")
    _one_bad(t, lambda ev: ev.update(line_items=[]), "line_items")
    _one_bad(t, lambda ev: ev["line_items"][1].pop("quantity"), "line_items[1].quantity")
    _one_bad(t, lambda ev: ev["line_items"][0].pop("total_price_cents"), "line_items[0].total_price_cents")


def test_bad_values_400(stack):
    t, _ = _tenant_with_store(stack)
    cases = [
        (lambda ev: ev.update(type="SALE"), "type"),
        (lambda ev: ev.update(type=1), "type"),
        (lambda ev: ev.update(currency="JPY"), "currency"),
        (lambda ev: ev.update(currency="eur"), "currency"),
        (lambda ev: ev.update(occurred_at="2026-04-25T14:32:00"), "occurred_at"),
        (lambda ev: ev.update(occurred_at="2026-02-30T10:00:00Z"), "occurred_at"),
        (lambda ev: ev.update(occurred_at="yesterday"), "occurred_at"),
        (lambda ev: ev.update(total_amount_cents=125.5), "total_amount_cents"),
        (lambda ev: ev.update(total_amount_cents="12500"), "total_amount_cents"),
        (lambda ev: ev.update(total_amount_cents=0), "total_amount_cents"),
        (lambda ev: ev.update(total_amount_cents=-12500), "total_amount_cents"),
        (lambda ev: ev.update(total_amount_cents=9223372036854775808), "total_amount_cents"),
        (lambda ev: ev.update(total_discount_cents=-1), "total_discount_cents"),
        (lambda ev: ev.update(total_discount_cents=0.5), "total_discount_cents"),
        (lambda ev: ev.update(total_tax_cents=20.83), "total_tax_cents"),
        (lambda ev: ev["line_items"][0].update(quantity=1.5), "line_items[0].quantity"),
        (lambda ev: ev["line_items"][0].update(total_price_cents=100.5), "line_items[0].total_price_cents"),
        (lambda ev: ev["line_items"][1].update(unit_price_cents=25.0001), "line_items[1].unit_price_cents"),
        (lambda ev: ev["line_items"][1].update(tax_cents="416"), "line_items[1].tax_cents"),
        (lambda ev: ev.update(line_items={"quantity": 1}), "line_items"),
        (lambda ev: ev.update(external_id="evt_01HZZZ"), "external_id"),
        (lambda ev: ev.update(external_id="prof_123"), "external_id"),
        (lambda ev: ev.update(external_id="store_123"), "external_id"),
    ]
    bad = []
    for mutate, field in cases:
        try:
            _one_bad(t, mutate, field)
        except AssertionError as e:
            bad.append(str(e))
    check(not bad, "%d of %d bad values not refused as expected:\n%s", len(bad), len(cases), "\n".join(bad))


def test_product_properties_limits_400(stack):
    t, _ = _tenant_with_store(stack)
    path = "line_items[0].product.properties"
    # the field named may be the bag or the offending key inside it
    _one_bad(t, lambda ev: ev["line_items"][0]["product"].update(
        properties={"k%02d" % i: i for i in range(51)}), path, prefix=True)
    _one_bad(t, lambda ev: ev["line_items"][0]["product"].update(
        properties={"big": "x" * 4200}), path, prefix=True)
    _one_bad(t, lambda ev: ev["line_items"][0]["product"].update(
        properties={"a%d" % i: "y" * 100 for i in range(45)}), path, prefix=True)
    _one_bad(t, lambda ev: ev["line_items"][0]["product"].update(
        properties={"nested": {"a": 1}}), path, prefix=True)
    _one_bad(t, lambda ev: ev["line_items"][0]["product"].update(
        properties={"list": [1, 2]}), path, prefix=True)
    _one_bad(t, lambda ev: ev["line_items"][0]["product"].update(
        properties={"nothing": None}), path, prefix=True)
    # exactly 50 small keys is fine
    ev = fixture("purchase_example")
    ev["external_id"] = "P50-" + rand_id()
    ev["line_items"][0]["product"]["properties"] = {"k%02d" % i: i for i in range(50)}
    expect_status(t.api.post("/v1/sales-events", ev), 201)


def test_concurrent_same_external_id_one_201(stack):
    t, _ = _tenant_with_store(stack)
    ev = fixture("purchase_example")
    ev["external_id"] = "RACE-" + rand_id()
    results = []

    def go():
        try:
            r = t.api.post("/v1/sales-events", ev)
            results.append((r.status, r.json.get("id")))
        except Exception as e:  # noqa: BLE001 - reported below
            results.append(("error", str(e)))

    threads = [threading.Thread(target=go) for _ in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(20)
    statuses = sorted(str(s) for s, _ in results)
    check_eq(statuses.count("201"), 1, "number of 201s among 16 concurrent identical posts (%s)" % statuses)
    check_eq(statuses.count("200"), 15, "number of 200s (%s)" % statuses)
    check_eq(len({i for _, i in results}), 1, "distinct ids among concurrent posts")


def test_resend_is_200_even_if_references_changed(stack):
    # README: 200 when the external_id was already ingested -- whatever the
    # resent body now references (the dedupe answer comes first)
    t = stack.new_tenant()
    t.create_store("s1")
    api = t.api
    ext = "E-" + rand_id()
    first = expect_status(api.post("/v1/sales-events", event("s1", external_id=ext)), 201)
    again = event("s1", external_id=ext)
    again["store_id"] = "no-such-store-" + rand_id()
    r = expect_status(api.post("/v1/sales-events", again), 200)
    check_eq(r.json.get("id"), first.json.get("id"), "same stored event")
