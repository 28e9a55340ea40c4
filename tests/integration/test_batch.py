"""POST /v1/sales-events/batch: per-item results in order, replay safety, size limit."""

from harness import check, check_eq, expect_error, expect_status, rand_id, wait_until
from noticia import Ledger, analytics, event, normalize_buckets


def _items(t):
    p = "B-" + rand_id()
    first = event("s1", external_id=p + "-0", lines=[("SKU-1", 1, 1000)])
    expect_status(t.api.post("/v1/sales-events", first), 201)  # makes item 1 a duplicate
    return p, [
        event("s1", external_id=p + "-new", lines=[("SKU-1", 2, 2000)]),  # 201
        first,                                                           # 200
        dict(event("s1", external_id=p + "-bad"), currency="XYZ"),       # 400
        event("no-such-store", external_id=p + "-nostore"),               # 404
        event("s1", lines=[("SKU-2", 1, 500)]),                           # 201, no external_id
    ]


def test_batch_mixed_results_in_order(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    p, items = _items(t)
    r = expect_status(t.api.post("/v1/sales-events/batch", {"events": items}), 200)
    res = r.json.get("results")
    check(isinstance(res, list) and len(res) == 5, "results: %s", r.describe())
    check_eq([x.get("index") for x in res], [0, 1, 2, 3, 4], "indexes")
    check_eq([x.get("status") for x in res], [201, 200, 400, 404, 201], "statuses")
    check(str(res[0].get("id", "")).startswith("evt_"), "id of item 0: %r", res[0])
    old = expect_status(t.api.get("/v1/sales-events/" + p + "-0"), 200).json["id"]
    check_eq(res[1].get("id"), old, "id of the duplicate")
    check_eq(res[2].get("error", {}).get("code"), "VALIDATION_ERROR", "error code of item 2")
    check("currency" in {d.get("field") for d in res[2]["error"].get("details", [])},
          "item 2 error does not name currency: %r", res[2])
    check_eq(res[3].get("error", {}).get("code"), "NOT_FOUND", "error code of item 3")
    check("id" not in res[2] and "id" not in res[3], "failed items carry an id: %r", res)
    g = expect_status(t.api.get("/v1/sales-events/" + res[0]["id"]), 200)
    check_eq(g.json.get("external_id"), p + "-new", "stored item 0")
    expect_error(t.api.get("/v1/sales-events/" + p + "-nostore"), 404, "NOT_FOUND")


def test_batch_replay_is_safe(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    p, items = _items(t)
    items = items[:4]  # the item without external_id cannot be deduplicated
    first = expect_status(t.api.post("/v1/sales-events/batch", {"events": items}), 200).json["results"]
    again = expect_status(t.api.post("/v1/sales-events/batch", {"events": items}), 200).json["results"]
    check_eq([x["status"] for x in again], [200, 200, 400, 404], "statuses on replay")
    check_eq([x.get("id") for x in again], [x.get("id") for x in first], "ids on replay")
    # and the analytics count each accepted event once
    led = Ledger()
    led.accept(items[1])
    led.accept(items[0])
    want = led.buckets("day", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")
    wait_until(lambda: normalize_buckets(expect_status(analytics(
        t.api, "day", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"), 200).json) == want,
        10, what="analytics == %s" % want)


def test_batch_over_1000_400(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    items = [event("s1", external_id="O-%d" % i, lines=[(None, 1, 100)]) for i in range(1001)]
    expect_error(t.api.post("/v1/sales-events/batch", {"events": items}), 400, "VALIDATION_ERROR", ["events"])
    expect_error(t.api.get("/v1/sales-events/O-0"), 404, "NOT_FOUND")


def test_batch_of_1000_accepted(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    p = "K-" + rand_id()
    items = [event("s1", external_id="%s-%d" % (p, i), lines=[(None, 1, 100)]) for i in range(1000)]
    r = expect_status(t.api.post("/v1/sales-events/batch", {"events": items}), 200)
    res = r.json["results"]
    check_eq(len(res), 1000, "number of results")
    bad = [x for x in res if x.get("status") != 201]
    check(not bad, "%d items not 201, first: %r", len(bad), bad[:3])
    check_eq(len({x["id"] for x in res}), 1000, "distinct ids")


def test_batch_shape_errors_400(stack):
    t = stack.new_tenant()
    expect_error(t.api.post("/v1/sales-events/batch", {}), 400, "VALIDATION_ERROR", ["events"])
    expect_error(t.api.post("/v1/sales-events/batch", {"events": {}}), 400, "VALIDATION_ERROR", ["events"])
    r = t.api.post("/v1/sales-events/batch", {"events": []})
    if r.status == 200:
        check_eq(r.json.get("results"), [], "results of an empty batch")
    else:
        expect_error(r, 400, "VALIDATION_ERROR", ["events"])
    r = expect_status(t.api.post("/v1/sales-events/batch", {"events": [42]}), 200)
    check_eq(r.json["results"][0].get("status"), 400, "status of a non-object item")


def test_batch_same_external_id_twice_counts_once(stack):
    """Within one batch (one script call) the second event with an external_id answers 200 with the first."""
    t = stack.new_tenant()
    t.create_store("s1")
    p = "D-" + rand_id()
    a = event("s1", external_id=p, lines=[("SKU-1", 1, 1000)])
    b = event("s1", external_id=p, lines=[("SKU-9", 5, 9999)])  # same id, other content
    c = event("s1", external_id=p + "-other", lines=[("SKU-2", 1, 300)])
    r = expect_status(t.api.post("/v1/sales-events/batch", {"events": [a, b, c, a]}), 200)
    res = r.json["results"]
    check_eq([x.get("status") for x in res], [201, 200, 201, 200], "statuses")
    check_eq(res[1].get("id"), res[0].get("id"), "id of the second with the same external_id")
    check_eq(res[3].get("id"), res[0].get("id"), "id of the exact replay")
    stored = expect_status(t.api.get("/v1/sales-events/" + p), 200).json
    check_eq(stored.get("id"), res[0]["id"], "stored event")
    check_eq([ln.get("quantity") for ln in stored.get("line_items", [])], [1], "the first event is the one stored")
    led = Ledger()
    led.accept(a)
    led.accept(c)
    want = led.buckets("day", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")
    wait_until(lambda: normalize_buckets(expect_status(analytics(
        t.api, "day", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"), 200).json) == want,
        10, what="analytics == %s" % want)
