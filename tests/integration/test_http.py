"""HTTP plumbing: health, metrics, routing, auth, request ids, body limits, signals."""

import json
import re
import signal
import subprocess
import time

from harness import (Gateway, check, check_eq, expect_error, expect_status, gateway_bin, raw_http,
                     rand_id, timeout, worker_bin)
from noticia import event, fixture


def test_healthz(stack):
    r = expect_status(stack.client().get("/healthz"), 200)
    check_eq(r.json.get("status"), "ok", "healthz status")
    check((r.header("Content-Type") or "").startswith("application/json"),
          "healthz Content-Type is %r", r.header("Content-Type"))


def test_readyz(stack):
    expect_status(stack.client().get("/readyz"), 200)


def test_unknown_route_404(stack):
    t = stack.new_tenant()
    expect_error(stack.client().get("/nope"), 404, "NOT_FOUND")
    expect_error(t.api.get("/v1/nope"), 404, "NOT_FOUND")
    expect_error(t.api.post("/v1/sales-eventsX", {}), 404, "NOT_FOUND")


def test_wrong_method_405(stack):
    t = stack.new_tenant()
    expect_error(t.api.delete("/v1/sales-events"), 405, "METHOD_NOT_ALLOWED")
    expect_error(t.api.get("/v1/sales-events/batch"), 405, "METHOD_NOT_ALLOWED")
    expect_error(t.api.put("/v1/stores", {"external_id": "x", "name": "x"}), 405, "METHOD_NOT_ALLOWED")
    expect_error(stack.client().post("/healthz", {}), 405, "METHOD_NOT_ALLOWED")


def test_api_key_missing_or_wrong_401(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    ev = event("s1", external_id="E-" + rand_id())
    for c in (stack.client(), stack.client(headers={"x-api-key": "ntca_" + rand_id(32)}),
              stack.client(headers={"x-api-key": ""}), stack.client(headers={"x-api-key": t.key + "x"})):
        expect_error(c.post("/v1/sales-events", ev), 401, "UNAUTHORIZED")
        expect_error(c.get("/v1/stores/s1"), 401, "UNAUTHORIZED")
        expect_error(c.get("/v1/analytics/sales?granularity=day&from=2026-04-01T00:00:00Z"
                           "&to=2026-05-01T00:00:00Z"), 401, "UNAUTHORIZED")
    # the header name is case-insensitive, as all HTTP header names
    c = stack.client(headers={"X-API-KEY": t.key})
    expect_status(c.get("/v1/stores/s1"), 200)
    # the refused event was not stored
    expect_error(t.api.get("/v1/sales-events/" + ev["external_id"]), 404, "NOT_FOUND")


def test_request_id_echoed_and_generated(stack):
    c = stack.client()
    r = c.get("/healthz", headers={"X-Request-Id": "test-req-abc-123"})
    check_eq(r.header("X-Request-Id"), "test-req-abc-123", "echoed X-Request-Id")
    r1, r2 = c.get("/healthz"), c.get("/healthz")
    a, b = r1.header("X-Request-Id"), r2.header("X-Request-Id")
    check(a and b, "no generated X-Request-Id (got %r, %r)", a, b)
    check(a != b, "generated X-Request-Id repeats: %r", a)
    # also on errors
    r = stack.client().get("/v1/nope", headers={"X-Request-Id": "err-req-1"})
    check_eq(r.header("X-Request-Id"), "err-req-1", "X-Request-Id on a 401/404")


def test_unsupported_media_type_415(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    body = json.dumps(event("s1", external_id="E-" + rand_id()))
    expect_error(t.api.post("/v1/sales-events", body, content_type="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")
    expect_error(t.api.post("/v1/stores", json.dumps({"external_id": "x", "name": "y"}),
                            content_type="application/x-www-form-urlencoded"), 415, "UNSUPPORTED_MEDIA_TYPE")
    # parameters on application/json are fine
    r = t.api.post("/v1/sales-events", body, content_type="application/json; charset=utf-8")
    expect_status(r, 201)


def test_invalid_json_400(stack):
    t = stack.new_tenant()
    for bad in ('{"type": "PURCHASE",', "not json", "", "[1,2,3]", '"a string"', "{} {}", '{"a":1}x',
                '{"type":"PURCHASE"\x00}', b'{"name":"\xff\xfe"}'):
        r = t.api.post("/v1/sales-events", bad)
        expect_error(r, 400)
    expect_error(t.api.post("/v1/stores", "{bad"), 400)
    expect_error(stack.admin().post("/admin/v1/tenants", "{bad"), 400)


def test_duplicate_json_keys_400(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    ev = json.dumps(event("s1", external_id="E-" + rand_id()))
    dup = ev[:-1] + ', "currency": "GBP"}'
    expect_error(t.api.post("/v1/sales-events", dup), 400, "VALIDATION_ERROR")
    inner = ev.replace('"quantity": 1', '"quantity": 1, "quantity": 2', 1)
    check(inner != ev, "fixture changed")
    expect_error(t.api.post("/v1/sales-events", inner), 400, "VALIDATION_ERROR")
    expect_error(t.api.post("/v1/stores", '{"external_id":"a","name":"x","name":"y"}'), 400, "VALIDATION_ERROR")


def test_nesting_deeper_than_32_400(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    ev = event("s1", external_id="E-" + rand_id())
    deep = "1"
    for _ in range(40):
        deep = '{"a":%s}' % deep
    body = json.dumps(ev)[:-1] + ', "metadata": %s}' % deep
    expect_error(t.api.post("/v1/sales-events", body), 400)
    # pathological depth must not crash the parser
    expect_error(t.api.post("/v1/sales-events", "[" * 100000 + "]" * 100000), 400)
    expect_error(t.api.post("/v1/sales-events", '{"a":' * 50000 + "1" + "}" * 50000), 400)
    expect_status(t.api.get("/v1/stores/s1"), 200)


def test_body_over_default_max_413(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    ev = event("s1", external_id="E-" + rand_id())
    ev["metadata"] = {"pad": "x" * (1024 * 1024 + 10)}
    body = json.dumps(ev).encode()
    req = (b"POST /v1/sales-events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"x-api-key: " + t.key.encode() + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    status, headers, rbody = raw_http(stack.gateway.port, req + body)
    check_eq(status, 413, "status for a %d-byte body (body %r)" % (len(body), rbody[:300]))
    check_eq(json.loads(rbody)["error"]["code"], "PAYLOAD_TOO_LARGE", "error code")
    # just under the limit passes the HTTP layer (the API may still refuse a huge metadata)
    ev["metadata"] = {"pad": "x" * (1024 * 1024 - 2048)}
    ev["external_id"] = "E-" + rand_id()
    r = t.api.post("/v1/sales-events", ev)
    if r.status != 201:
        expect_error(r, 400, "VALIDATION_ERROR", ["metadata"])


def test_max_body_flag_413(stack):
    gw = Gateway(stack.redis.port, stack.admin_token, max_body=2048, name="small-gateway").start()
    try:
        t = stack.new_tenant()
        t.create_store("s1")
        api = gw.client(headers={"x-api-key": t.key})
        small = event("s1", external_id="E-" + rand_id())
        expect_status(api.post("/v1/sales-events", small), 201)
        big = event("s1", external_id="E-" + rand_id())
        big["metadata"] = {"pad": "y" * 3000}
        expect_error(api.post("/v1/sales-events", big), 413, "PAYLOAD_TOO_LARGE")
        # a chunked body over the limit too (no Content-Length to check up front)
        data = json.dumps(big).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 500]), data[i:i + 500]) for i in range(0, len(data), 500))
        req = (b"POST /v1/sales-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-api-key: "
               + t.key.encode() + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
        status, _, body = raw_http(gw.port, req)
        check_eq(status, 413, "chunked over-limit status (body %r)" % body[:200])
        expect_status(gw.client().get("/healthz"), 200)
    finally:
        gw.stop()


def test_chunked_request_body_accepted(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    data = json.dumps(event("s1", external_id="E-" + rand_id())).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 100]), data[i:i + 100]) for i in range(0, len(data), 100))
    req = (b"POST /v1/sales-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-api-key: "
           + t.key.encode() + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    status, _, body = raw_http(stack.gateway.port, req)
    check_eq(status, 201, "chunked POST status (body %r)" % body[:300])


def test_keep_alive_many_requests(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    api = stack.gateway.client(headers={"x-api-key": t.key}, keep_alive=True)
    try:
        for i in range(50):
            expect_status(api.get("/v1/stores/s1"), 200)
            expect_error(api.get("/v1/stores/none-%d" % i), 404, "NOT_FOUND")
    finally:
        api.close()


def test_metrics(stack):
    c = stack.client()
    c.get("/healthz")
    c.get("/v1/definitely-not-a-route")
    t = stack.new_tenant()
    t.create_store("s1")
    expect_status(t.api.post("/v1/sales-events", event("s1", external_id="M-" + rand_id())), 201)
    r = expect_status(c.get("/metrics"), 200)
    check((r.header("Content-Type") or "").startswith("text/plain"),
          "metrics Content-Type is %r", r.header("Content-Type"))
    text = r.text
    for name in ("salesgate_http_requests_total", "salesgate_http_request_duration_seconds_bucket",
                 "salesgate_redis_roundtrip_seconds", "salesgate_stream_length",
                 "salesgate_consumer_group_lag"):
        check(name in text, "metric %s missing from /metrics:\n%s", name, text[:1500])
    reqs = [ln for ln in text.splitlines() if ln.startswith("salesgate_http_requests_total{")]
    check(any('route="' in ln and 'status="201"' in ln for ln in reqs),
          "no requests_total line with route and status=\"201\": %s", reqs[:20])
    check(any('status="404"' in ln for ln in reqs), "no requests_total line with status=\"404\": %s", reqs[:20])
    for ln in reqs:
        check(re.fullmatch(r'salesgate_http_requests_total\{[^}]*\} [0-9.e+]+', ln), "malformed line %r", ln)
    check(re.search(r'salesgate_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+', text),
          "no le=\"+Inf\" bucket in the latency histogram")
    check("salesgate_http_request_duration_seconds_count" in text, "no _count for the latency histogram")
    # counters count: five more /healthz answers add exactly five
    def healthz_count():
        m = re.search(r'^salesgate_http_requests_total\{[^}]*route="/healthz"[^}]*status="200"[^}]*\} (\d+)',
                      c.get("/metrics").text, re.M)
        check(m, "no requests_total sample for route=\"/healthz\" status=\"200\"")
        return int(m.group(1))

    before = healthz_count()
    for _ in range(5):
        c.get("/healthz")
    check_eq(healthz_count() - before, 5, "requests_total{route=/healthz,status=200} increase after 5 requests")
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            check(re.fullmatch(r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfa]+( \d+)?', ln),
                  "malformed Prometheus sample line %r", ln)


@timeout(40)
def test_sigterm_gateway_exits_0(stack):
    gw = Gateway(stack.redis.port, stack.admin_token, name="term-gateway").start()
    expect_status(gw.client().get("/healthz"), 200)
    t0 = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    rc = gw.proc.wait(10)
    gw.stop()
    check(rc is not None, "gateway still running 10 s after SIGTERM")
    check_eq(rc, 0, "gateway exit code after SIGTERM (log: %s)" % gw.proc.log_tail(10))
    check(time.monotonic() - t0 < 10, "slow exit")


@timeout(40)
def test_sigterm_worker_exits_0(stack):
    from harness import Worker
    w = Worker(stack.redis.port, processes=2, consumer="term-" + rand_id(), name="term-worker").start()
    time.sleep(0.5)
    check(w.proc.alive(), "worker died on its own: %s", w.proc.log_tail())
    pids = w.pids()
    w.proc.send_signal(signal.SIGTERM)
    rc = w.proc.wait(10)
    w.stop()
    check_eq(rc, 0, "worker supervisor exit code after SIGTERM (log: %s)" % w.proc.log_tail(10))
    check(len(pids) >= 3, "expected a supervisor + 2 worker processes, saw pids %s" % pids)


def test_help_flags():
    for b, flags in ((gateway_bin(), ["--listen", "--redis", "--threads", "--max-body"]),
                     (worker_bin(), ["--redis", "--processes", "--consumer"])):
        p = subprocess.run([b, "--help"], capture_output=True, timeout=10)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        check_eq(p.returncode, 0, "%s --help exit code (output %r)" % (b, out[:300]))
        for f in flags:
            check(f in out, "%s --help does not mention %s:\n%s", b, f, out)
        p = subprocess.run([b, "--no-such-flag"], capture_output=True, timeout=10)
        check(p.returncode != 0, "%s accepts an unknown flag", b)


def test_robustness_mutations(stack):
    """Type-confused and extreme values never yield a 5xx or kill the gateway."""
    t = stack.new_tenant()
    t.create_store("paris-rivoli-01")
    base = fixture("purchase_example")
    weird = [None, True, [], {}, "", "x" * 5000, -1, 0, 1.5, 1e308, 9223372036854775807,
             9223372036854775808, -9223372036854775809, "\u0000", "évt ☕", [1, [2, [3]]]]
    paths = [("type",), ("occurred_at",), ("store_id",), ("currency",), ("total_amount_cents",),
             ("total_discount_cents",), ("total_tax_cents",), ("external_id",), ("profile_id",),
             ("line_items",), ("line_items", 0), ("line_items", 0, "quantity"),
             ("line_items", 0, "total_price_cents"), ("line_items", 0, "product"),
             ("line_items", 0, "product", "properties"), ("line_items", 0, "product", "external_id"),
             ("metadata",), ("payments",)]
    bad = []
    n = 0
    for p in paths:
        for w in weird:
            ev = json.loads(json.dumps(base))
            ev["external_id"] = "MUT-%d-%s" % (n, rand_id(4))
            n += 1
            obj = ev
            for k in p[:-1]:
                obj = obj[k]
            obj[p[-1]] = w
            try:
                r = t.api.post("/v1/sales-events", json.dumps(ev))
            except OSError as e:
                bad.append("%s=%r: connection error %s" % (".".join(map(str, p)), w, e))
                continue
            if r.status >= 500 or r.status < 200:
                bad.append("%s=%r: %s" % (".".join(map(str, p)), str(w)[:40], r.describe()))
    check(not bad, "%d mutated requests got no clean answer:\n%s", len(bad), "\n".join(bad[:15]))
    expect_status(stack.client().get("/healthz"), 200)


@timeout(60)
def test_sigterm_under_load_every_2xx_is_stored(stack):
    """SIGTERM while requests are in flight: exit 0, and every 201 answered is really stored."""
    import threading
    t = stack.new_tenant()
    t.create_store("s1")
    gw = Gateway(stack.redis.port, stack.admin_token, name="drain-gateway").start()
    api = gw.client(headers={"x-api-key": t.key}, timeout=10)
    answers, stop = [], threading.Event()

    def go(k):
        i = 0
        while not stop.is_set() and i < 400:
            ext = "TERM-%d-%d" % (k, i)
            i += 1
            try:
                r = api.post("/v1/sales-events", event("s1", external_id=ext))
                answers.append((ext, r.status))
            except OSError:
                answers.append((ext, "conn"))
                if not gw.proc.alive():
                    break

    ths = [threading.Thread(target=go, args=(k,)) for k in range(4)]
    for th in ths:
        th.start()
    time.sleep(0.3)
    gw.proc.send_signal(signal.SIGTERM)
    rc = gw.proc.wait(15)
    stop.set()
    for th in ths:
        th.join(15)
    gw.stop()
    check_eq(rc, 0, "exit code after SIGTERM under load (log: %s)" % gw.proc.log_tail(8))
    ok = [e for e, s in answers if s == 201]
    odd = [(e, s) for e, s in answers if s not in (201, 503, "conn")]
    check(ok, "no request was answered before the SIGTERM")
    check(not odd, "unexpected answers during shutdown: %s", odd[:10])
    missing = [e for e in ok if t.api.get("/v1/sales-events/" + e).status != 200]
    check(not missing, "%d events answered 201 are not stored: %s", len(missing), missing[:10])
