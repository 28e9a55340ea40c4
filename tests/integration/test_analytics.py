"""GET /v1/analytics/sales basics, RETURN netting, filters, validation; GET /v1/products."""

from harness import check, check_eq, expect_error, expect_status, qs, rand_id, wait_until
from noticia import analytics, event, fixture, normalize_buckets, parse_time

APR = ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")


def _wait_buckets(api, want, gran="day", frm=APR[0], to=APR[1], **filters):
    def ok():
        r = expect_status(analytics(api, gran, frm, to, **filters), 200)
        got = normalize_buckets(r.json)
        check_eq(got, want, "%s buckets %s" % (gran, filters or ""))
        check_eq(r.json.get("granularity"), gran, "granularity echoed")
        return True

    return wait_until(ok, 10, what="analytics %s %s" % (gran, filters))


def test_return_nets_in_analytics(stack):
    t = stack.new_tenant()
    t.create_store("paris-rivoli-01")
    expect_status(t.api.post("/v1/sales-events", fixture("purchase_example")), 201)
    expect_status(t.api.post("/v1/sales-events", fixture("return_example")), 201)
    _wait_buckets(t.api, [
        {"start": "2026-04-25T00:00:00Z", "currency": "EUR", "gross_cents": 12500, "returns_cents": 0,
         "net_cents": 12500, "transactions": 1, "units": 3},
        {"start": "2026-04-26T00:00:00Z", "currency": "EUR", "gross_cents": 0, "returns_cents": 2500,
         "net_cents": -2500, "transactions": 0, "units": -1},
    ])
    _wait_buckets(t.api, [
        {"start": "2026-04-01T00:00:00Z", "currency": "EUR", "gross_cents": 12500, "returns_cents": 2500,
         "net_cents": 10000, "transactions": 1, "units": 2},
    ], gran="month")
    _wait_buckets(t.api, [
        {"start": "2026-04-25T12:00:00Z", "currency": "EUR", "gross_cents": 12500, "returns_cents": 0,
         "net_cents": 12500, "transactions": 1, "units": 3},
        {"start": "2026-04-26T08:00:00Z", "currency": "EUR", "gross_cents": 0, "returns_cents": 2500,
         "net_cents": -2500, "transactions": 0, "units": -1},
    ], gran="hour", frm="2026-04-25T00:00:00Z", to="2026-04-27T00:00:00Z")


def test_product_store_profile_filters(stack):
    t = stack.new_tenant()
    paris = t.create_store("paris-rivoli-01")
    t.create_store("lyon-part-dieu-02")
    buy = expect_status(t.api.post("/v1/sales-events", fixture("purchase_example")), 201).json
    expect_status(t.api.post("/v1/sales-events", fixture("return_example")), 201)
    expect_status(t.api.post("/v1/sales-events", event(
        "lyon-part-dieu-02", external_id="LY-1", occurred_at="2026-04-25T09:00:00+02:00",
        lines=[("SKU-67890", 3, 7500), ("SKU-OTHER", 1, 990)], profile="crm-other")), 201)
    tote = [li["product"]["id"] for li in buy["line_items"] if li["product"]["external_id"] == "SKU-67890"][0]
    d25 = "2026-04-25T00:00:00Z"
    d26 = "2026-04-26T00:00:00Z"
    want_tote = [
        {"start": d25, "currency": "EUR", "gross_cents": 2500 + 7500, "returns_cents": 0,
         "net_cents": 10000, "transactions": 2, "units": 4},
        {"start": d26, "currency": "EUR", "gross_cents": 0, "returns_cents": 2500,
         "net_cents": -2500, "transactions": 0, "units": -1},
    ]
    _wait_buckets(t.api, want_tote, product_id="SKU-67890")
    _wait_buckets(t.api, want_tote, product_id=tote)
    want_lyon = [{"start": d25, "currency": "EUR", "gross_cents": 8490, "returns_cents": 0,
                  "net_cents": 8490, "transactions": 1, "units": 4}]
    _wait_buckets(t.api, want_lyon, store_id="lyon-part-dieu-02")
    want_paris = [
        {"start": d25, "currency": "EUR", "gross_cents": 12500, "returns_cents": 0,
         "net_cents": 12500, "transactions": 1, "units": 3},
        {"start": d26, "currency": "EUR", "gross_cents": 0, "returns_cents": 2500,
         "net_cents": -2500, "transactions": 0, "units": -1},
    ]
    _wait_buckets(t.api, want_paris, store_id="paris-rivoli-01")
    _wait_buckets(t.api, want_paris, store_id=paris["id"])
    _wait_buckets(t.api, want_paris, profile_id="crm-customer-4815")
    _wait_buckets(t.api, want_paris, profile_id=buy["profile_id"])
    _wait_buckets(t.api, want_lyon, profile_id="crm-other")
    # two filters at once: either refused (400) or answered exactly, never one filter silently dropped
    r = analytics(t.api, "day", *APR, store_id="lyon-part-dieu-02", product_id="SKU-67890")
    if r.status == 400:
        expect_error(r, 400, "VALIDATION_ERROR")
    else:
        _wait_buckets(t.api, [{"start": d25, "currency": "EUR", "gross_cents": 7500, "returns_cents": 0,
                               "net_cents": 7500, "transactions": 1, "units": 3}],
                      store_id="lyon-part-dieu-02", product_id="SKU-67890")
    # unknown filter values give no buckets (or 404), never someone else's figures
    for f in ({"store_id": "nowhere"}, {"product_id": "SKU-NONE"}, {"profile_id": "crm-none"}):
        r = analytics(t.api, "day", *APR, **f)
        if r.status == 200:
            check_eq(r.json.get("buckets"), [], "buckets for %s" % f)
        else:
            expect_error(r, 404, "NOT_FOUND")


def test_range_is_from_inclusive_to_exclusive(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    for i, ts in enumerate(("2026-04-10T00:00:00Z", "2026-04-10T23:59:59.999Z", "2026-04-11T00:00:00Z")):
        expect_status(t.api.post("/v1/sales-events", event("s1", external_id="R-%d" % i, occurred_at=ts,
                                                           lines=[(None, 1, 100 * (i + 1))])), 201)
    one = [{"start": "2026-04-10T00:00:00Z", "currency": "EUR", "gross_cents": 300, "returns_cents": 0,
            "net_cents": 300, "transactions": 2, "units": 2}]
    _wait_buckets(t.api, one, frm="2026-04-10T00:00:00Z", to="2026-04-11T00:00:00Z")
    # the same instants written with an offset
    _wait_buckets(t.api, one, frm="2026-04-10T02:00:00+02:00", to="2026-04-11T02:00:00+02:00")
    _wait_buckets(t.api, [], frm="2026-04-12T00:00:00Z", to="2026-04-13T00:00:00Z")
    _wait_buckets(t.api, [{"start": "2026-04-10T23:00:00Z", "currency": "EUR", "gross_cents": 200,
                           "returns_cents": 0, "net_cents": 200, "transactions": 1, "units": 1}],
                  gran="hour", frm="2026-04-10T23:00:00Z", to="2026-04-11T00:00:00Z")


def test_currencies_are_separate_buckets(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    for i, cur in enumerate(("GBP", "EUR", "USD", "CHF")):
        expect_status(t.api.post("/v1/sales-events", event("s1", external_id="C-%d" % i, currency=cur,
                                                           occurred_at="2026-04-05T10:00:00Z",
                                                           lines=[(None, 1, 1000 + i)])), 201)
    want = [{"start": "2026-04-05T00:00:00Z", "currency": c, "gross_cents": 1000 + i, "returns_cents": 0,
             "net_cents": 1000 + i, "transactions": 1, "units": 1}
            for c, i in sorted((c, i) for i, c in enumerate(("GBP", "EUR", "USD", "CHF")))]
    _wait_buckets(t.api, want)


def test_analytics_validation_400(stack):
    t = stack.new_tenant()
    base = {"granularity": "day", "from": APR[0], "to": APR[1]}
    for missing in ("granularity", "from", "to"):
        q = dict(base)
        del q[missing]
        expect_error(t.api.get("/v1/analytics/sales?" + qs(**q)), 400, "VALIDATION_ERROR", [missing])
    for field, bad in (("granularity", "week"), ("granularity", ""), ("from", "2026-04-01"),
                       ("from", "yesterday"), ("to", "2026-13-01T00:00:00Z"), ("to", "2026-04-01T00:00:00")):
        q = dict(base, **{field: bad})
        expect_error(t.api.get("/v1/analytics/sales?" + qs(**q)), 400, "VALIDATION_ERROR", [field])


def test_analytics_huge_range_is_bounded(stack):
    """A decade of hours must be refused or answered quickly, never hang or crash."""
    t = stack.new_tenant()
    t.create_store("s1")
    expect_status(t.api.post("/v1/sales-events", event("s1", external_id="H-1")), 201)
    r = analytics(t.api, "hour", "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
    check(r.status in (200, 400), "unexpected answer: %s", r.describe())
    if r.status == 400:
        expect_error(r, 400, "VALIDATION_ERROR")
    r = analytics(t.api, "day", "2026-05-01T00:00:00Z", "2026-04-01T00:00:00Z")  # from > to
    check(r.status in (200, 400), "from > to: %s", r.describe())
    if r.status == 200:
        check_eq(r.json.get("buckets"), [], "buckets for from > to")


def test_products_created_by_worker(stack):
    t = stack.new_tenant()
    t.create_store("paris-rivoli-01")
    ev = expect_status(t.api.post("/v1/sales-events", fixture("purchase_example")), 201).json
    pid = ev["line_items"][0]["product"]["id"]

    def ready():
        return expect_status(t.api.get("/v1/products/SKU-12345"), 200)

    p = wait_until(ready, 10, what="product SKU-12345").json
    check_eq(p.get("id"), pid, "product id")
    check_eq(p.get("external_id"), "SKU-12345", "external_id")
    check_eq(p.get("name"), "White T-shirt M", "name")
    check_eq(p.get("properties"), {"category": "Menswear", "size": "M", "color": "white"}, "properties")
    for k in ("first_seen_at", "last_seen_at"):
        check(isinstance(p.get(k), str), "%s missing: %r", k, p)
        parse_time(p[k])
    check(parse_time(p["first_seen_at"]) <= parse_time(p["last_seen_at"]), "first_seen_at > last_seen_at")
    check_eq(expect_status(t.api.get("/v1/products/" + pid), 200).json.get("external_id"), "SKU-12345",
             "GET by prod_ id")
    expect_error(t.api.get("/v1/products/SKU-NOPE-" + rand_id()), 404, "NOT_FOUND")
    wait_until(lambda: expect_status(t.api.get("/v1/products/SKU-67890"), 200), 10, what="product SKU-67890")
