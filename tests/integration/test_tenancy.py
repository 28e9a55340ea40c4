"""Tenant isolation: a key of tenant A never sees or touches tenant B's data."""

from harness import check, check_eq, expect_error, expect_status, rand_id, wait_until
from noticia import analytics, event, normalize_buckets


def test_tenant_a_cannot_read_tenant_b(stack):
    a, b = stack.new_tenant("ta"), stack.new_tenant("tb")
    sb = b.create_store("b-store-" + rand_id())
    pb = expect_status(b.api.post("/v1/profiles", {"external_id": "b-prof-" + rand_id()}), 201).json
    eb = expect_status(b.api.post("/v1/sales-events", event(sb["external_id"], external_id="B-" + rand_id(),
                                                            profile=pb["external_id"],
                                                            lines=[("B-SKU-" + rand_id(), 1, 5000)]))
                       , 201).json
    wait_until(lambda: expect_status(b.api.get("/v1/products/" + eb["line_items"][0]["product"]["external_id"]),
                                     200), 10, what="B's product")
    for path in ("/v1/sales-events/" + eb["id"], "/v1/sales-events/" + eb["external_id"],
                 "/v1/stores/" + sb["id"], "/v1/stores/" + sb["external_id"],
                 "/v1/profiles/" + pb["id"], "/v1/profiles/" + pb["external_id"],
                 "/v1/products/" + eb["line_items"][0]["product"]["id"],
                 "/v1/products/" + eb["line_items"][0]["product"]["external_id"]):
        r = a.api.get(path)
        check(r.status in (401, 404), "tenant A reads %s of tenant B: %s", path, r.describe())
    # A cannot sell through B's store, by either reference
    for ref in (sb["id"], sb["external_id"]):
        expect_error(a.api.post("/v1/sales-events", event(ref, external_id="A-" + rand_id())), 404, "NOT_FOUND")
    # nor reference B's profile by canonical id
    a.create_store("a-store")
    expect_error(a.api.post("/v1/sales-events", event("a-store", external_id="A-" + rand_id(), profile=pb["id"])),
                 404, "NOT_FOUND")
    # B's analytics are not A's
    r = expect_status(analytics(a.api, "day", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"), 200)
    check_eq(normalize_buckets(r.json), [], "tenant A analytics")


def test_same_external_ids_in_two_tenants_are_independent(stack):
    a, b = stack.new_tenant("ta"), stack.new_tenant("tb")
    a.create_store("shared-name")
    b.create_store("shared-name")
    ev = event("shared-name", external_id="SAME-1", lines=[("SKU-SAME", 1, 1000)])
    ra = expect_status(a.api.post("/v1/sales-events", ev), 201).json
    rb = expect_status(b.api.post("/v1/sales-events", ev), 201).json
    check(ra["id"] != rb["id"], "two tenants share an event id")
    check(ra["store_id"] != rb["store_id"], "two tenants' stores with one external id share a store_ id %s",
          ra["store_id"])
    check(ra["line_items"][0]["product"]["id"] != rb["line_items"][0]["product"]["id"],
          "two tenants share a prod_ id for one SKU")
    ev2 = dict(ev, total_amount_cents=2000)
    ev2["line_items"] = [dict(ev["line_items"][0], total_price_cents=2000, unit_price_cents=2000)]
    ev2["external_id"] = "SAME-2"
    expect_status(b.api.post("/v1/sales-events", ev2), 201)
    want_a = [{"start": "2026-04-25T00:00:00Z", "currency": "EUR", "gross_cents": 1000, "returns_cents": 0,
               "net_cents": 1000, "transactions": 1, "units": 1}]
    want_b = [dict(want_a[0], gross_cents=3000, net_cents=3000, transactions=2, units=2)]
    for t, want in ((a, want_a), (b, want_b)):
        wait_until(lambda: normalize_buckets(expect_status(analytics(
            t.api, "day", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"), 200).json) == want,
            10, what="analytics of %s == %s" % (t.id, want))
