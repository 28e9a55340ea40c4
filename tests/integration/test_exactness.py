"""
Exactness: a generated workload (several stores, products, profiles and
days, EUR and GBP, ~20 % re-sends of which some altered, ~15 % returns,
some events refused) is replayed; the analytics expected from what was
ACCEPTED (201) are compared exactly with the gateway's answers for every
granularity and every filter.
"""

import time

from harness import check, check_eq, expect_status, note, timeout, wait_until
from noticia import GRAN, Ledger, Workload, analytics, normalize_buckets, parse_time

STORES = ["paris-rivoli-01", "lyon-part-dieu-02", "london-soho-03"]
PRODUCTS = ["SKU-%02d" % i for i in range(1, 8)]
PROFILES = ["crm-%d" % i for i in range(1, 6)]
RANGES = {
    "hour": ("2026-03-29T00:00:00Z", "2026-04-05T00:00:00Z"),
    "day": ("2026-03-29T00:00:00Z", "2026-04-05T00:00:00Z"),
    "month": ("2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z"),
}

_state = {}


def _load(stack):
    """Sends the workload once per session; later tests reuse the result."""
    if _state.get("stack") is stack:
        return _state
    t = stack.new_tenant("exact")
    ids = {s: t.create_store(s)["id"] for s in STORES}
    w = Workload(seed=20260425, stores=STORES, products=PRODUCTS, profiles=PROFILES, n=320)
    led = Ledger()
    first_ids = {}
    counts = {201: 0, 200: 0, 404: 0}
    t0 = time.monotonic()
    api = stack.gateway.client(headers={"x-api-key": t.key}, keep_alive=True)
    sched = w.schedule()
    # a few events for a store that does not exist: refused, never counted
    for i in range(0, len(sched), 40):
        bad = dict(sched[i][0], store_id="ghost-store")
        bad.pop("external_id", None)
        sched.insert(i, (bad, "ghost"))
    for ev, kind in sched:
        r = api.post("/v1/sales-events", ev)
        ext = ev.get("external_id")
        if kind == "ghost":
            check_eq(r.status, 404, "status for an unknown store (%s)" % r.describe())
        elif kind:  # a re-send
            check_eq(r.status, 200, "status of a re-send of %s (%s)" % (ext, r.describe()))
            check_eq(r.json.get("id"), first_ids[ext], "id on re-send of %s" % ext)
        else:
            check_eq(r.status, 201, "status of a first send (%s)" % r.describe())
            led.accept(ev)
            if ext:
                first_ids[ext] = r.json["id"]
        counts[r.status] = counts.get(r.status, 0) + 1
    api.close()
    note("sent %d requests in %.1fs: %s" % (len(sched), time.monotonic() - t0, counts))
    _state.clear()
    _state.update(stack=stack, tenant=t, ledger=led, store_ids=ids)
    # wait for the worker to apply everything (the whole-range month view is the sum of all)
    want = led.buckets("month", *RANGES["month"])
    t1 = time.monotonic()
    wait_until(lambda: normalize_buckets(expect_status(analytics(t.api, "month", *RANGES["month"]), 200).json)
               == want, 20, 0.1, what="month totals == %s" % want)
    note("worker caught up %.1fs after the last send" % (time.monotonic() - t1))
    return _state


def _compare(t, led, gran, frm, to, ledger_filters=None, **f):
    """Compares one analytics answer with the ledger (ledger_filters: when the query uses other refs)."""
    r = expect_status(analytics(t.api, gran, frm, to, **f), 200)
    got = normalize_buckets(r.json)
    want = led.buckets(gran, frm, to, **(f if ledger_filters is None else ledger_filters))
    if got != want:
        gm = {(b["start"], b["currency"]): b for b in got}
        wm = {(b["start"], b["currency"]): b for b in want}
        diffs = []
        for k in sorted(set(gm) | set(wm)):
            if gm.get(k) != wm.get(k):
                diffs.append("  %s %s: got %s want %s" % (k[0], k[1], gm.get(k), wm.get(k)))
        raise AssertionError("%s %s..%s %s: %d of %d buckets differ:\n%s" % (
            gran, frm, to, f or "", len(diffs), len(set(gm) | set(wm)), "\n".join(diffs[:12])))


@timeout(120)
def test_exact_all_granularities(stack):
    s = _load(stack)
    for g in GRAN:
        _compare(s["tenant"], s["ledger"], g, *RANGES[g])
    # sub-ranges aligned on bucket starts, also written with an offset
    _compare(s["tenant"], s["ledger"], "day", "2026-03-31T00:00:00Z", "2026-04-02T00:00:00Z")
    _compare(s["tenant"], s["ledger"], "hour", "2026-04-01T05:00:00Z", "2026-04-01T17:00:00Z")
    _compare(s["tenant"], s["ledger"], "month", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")
    _compare(s["tenant"], s["ledger"], "day", "2026-03-31T02:00:00+02:00", "2026-04-02T02:00:00+02:00")


@timeout(120)
def test_exact_by_store(stack):
    s = _load(stack)
    bad = []
    for g in GRAN:
        for st in STORES:
            for ref in (st, s["store_ids"][st]):
                try:
                    _compare(s["tenant"], s["ledger"], g, *RANGES[g], ledger_filters={"store_id": st}, store_id=ref)
                except AssertionError as e:
                    bad.append(str(e))
    check(not bad, "%d store views differ:\n%s", len(bad), "\n".join(bad[:4]))


@timeout(120)
def test_exact_by_product(stack):
    s = _load(stack)
    bad = []
    for g in GRAN:
        for p in PRODUCTS:
            try:
                _compare(s["tenant"], s["ledger"], g, *RANGES[g], product_id=p)
            except AssertionError as e:
                bad.append(str(e))
    check(not bad, "%d product views differ:\n%s", len(bad), "\n".join(bad[:4]))


@timeout(120)
def test_exact_by_profile(stack):
    s = _load(stack)
    bad = []
    for g in GRAN:
        for p in PROFILES:
            try:
                _compare(s["tenant"], s["ledger"], g, *RANGES[g], profile_id=p)
            except AssertionError as e:
                bad.append(str(e))
    check(not bad, "%d profile views differ:\n%s", len(bad), "\n".join(bad[:4]))


@timeout(60)
def test_exact_profile_stats(stack):
    s = _load(stack)
    bad = []
    for p in PROFILES:
        want = s["ledger"].profile_stats(p)
        r = s["tenant"].api.get("/v1/profiles/" + p)
        if r.status != 200:
            bad.append(r.describe())
            continue
        st = r.json.get("stats") or {}
        got_spend = {k: v for k, v in (st.get("net_spend_cents") or {}).items() if v != 0}
        want_spend = {k: v for k, v in want["net_spend_cents"].items() if v != 0}
        if st.get("orders") != want["orders"] or got_spend != want_spend:
            bad.append("%s: orders %s spend %s, want orders %s spend %s" % (
                p, st.get("orders"), st.get("net_spend_cents"), want["orders"], want["net_spend_cents"]))
        for k, w in (("first_purchase_at", want["first"]), ("last_purchase_at", want["last"])):
            got = st.get(k)
            if (got and parse_time(got)) != w:
                bad.append("%s: %s %s, want %s" % (p, k, got, w and w.isoformat()))
    check(not bad, "profile stats differ:\n%s", "\n".join(bad))
