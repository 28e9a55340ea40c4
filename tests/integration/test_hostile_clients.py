"""
Clients that misbehave at the HTTP level: slow or idle connections,
disconnects in the middle of a request, pipelining, oversized heads. The
gateway must keep answering everyone else and never crash.
"""

import json
import socket
import threading
import time

from harness import (Gateway, RedisServer, check, check_eq, expect_error, expect_status, free_port,
                     raw_http, rand_id, timeout, wait_until)
from noticia import event


def _post_bytes(t, body, extra=b""):
    return (b"POST /v1/sales-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-api-key: "
            + t.key.encode() + b"\r\nContent-Length: %d\r\n" % len(body) + extra + b"\r\n" + body)


def test_idle_and_partial_connections_do_not_block_others(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    socks = []
    try:
        for i in range(40):
            s = socket.create_connection(("127.0.0.1", stack.gateway.port), timeout=5)
            if i % 3 == 0:
                s.sendall(b"POST /v1/sales-events HTTP/1.1\r\nHost: x\r\n")  # head never finished
            elif i % 3 == 1:
                s.sendall(_post_bytes(t, b'{"type":"PURCHASE"')[:-5])  # body never finished
            socks.append(s)  # i % 3 == 2: connected, silent
        t0 = time.monotonic()
        for _ in range(10):
            expect_status(t.api.post("/v1/sales-events", event("s1", external_id="OK-" + rand_id())), 201)
        took = time.monotonic() - t0
        check(took < 3, "10 requests took %.1fs beside 40 stalled connections", took)
    finally:
        for s in socks:
            s.close()


def test_client_disconnects_mid_request_storm(stack):
    """Clients that vanish before, during and right after sending: no crash, no stuck state."""
    t = stack.new_tenant()
    t.create_store("s1")
    n = 0
    for i in range(150):
        body = json.dumps(event("s1", external_id="DC-%d-%s" % (i, rand_id(4)))).encode()
        req = _post_bytes(t, body)
        s = socket.create_connection(("127.0.0.1", stack.gateway.port), timeout=5)
        try:
            mode = i % 3
            if mode == 0:
                s.sendall(req[: len(req) // 2])
            else:
                s.sendall(req)
            if mode == 2:
                # RST instead of FIN, right after the request: the answer is in flight
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            n += 1
        finally:
            s.close()
    time.sleep(0.5)
    check(stack.gateway.proc.alive(), "gateway died after %d abrupt disconnects: %s", n,
          stack.gateway.proc.log_tail())
    # the ones that were fully sent were either stored or not, but the gateway still answers exactly
    expect_status(t.api.post("/v1/sales-events", event("s1", external_id="after-dc")), 201)
    expect_status(t.api.post("/v1/sales-events", event("s1", external_id="after-dc")), 200)


def test_pipelined_requests_answered_in_order(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    reqs = b""
    exts = ["PIPE-%d-%s" % (i, rand_id(4)) for i in range(5)]
    for e in exts:
        reqs += _post_bytes(t, json.dumps(event("s1", external_id=e)).encode())
    reqs += b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", stack.gateway.port), timeout=10)
    buf = b""
    try:
        s.sendall(reqs)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    finally:
        s.close()
    # split the responses by their Content-Length
    got = []
    while buf:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        hdr = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        n = int(hdr.get("content-length", "0"))
        got.append((int(lines[0].split()[1]), rest[:n]))
        buf = rest[n:]
    check_eq([g[0] for g in got], [201] * 5 + [200], "statuses of 6 pipelined requests")
    check_eq([json.loads(b)["external_id"] for _, b in got[:5]], exts, "order of pipelined answers")


def test_too_many_headers_431(stack):
    # README: at most 100 headers, 431 beyond
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(120))
    status, _, body = raw_http(stack.gateway.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many
                               + b"Connection: close\r\n\r\n")
    check_eq(status, 431, "status for 120 headers (%r)" % body[:200])
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(90))
    status, _, _ = raw_http(stack.gateway.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many
                            + b"Connection: close\r\n\r\n")
    check_eq(status, 200, "status for 90 headers")


def test_oversized_head_survives(stack):
    for what, raw in (("a 200 KB URL", b"GET /v1/stores/" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
                      ("a 200 KB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 200000
                       + b"\r\n\r\n")):
        try:
            raw_http(stack.gateway.port, raw, timeout=5)
        except (AssertionError, OSError):
            pass
    check(stack.gateway.proc.alive(), "gateway died on an oversized head: %s", stack.gateway.proc.log_tail())
    expect_status(stack.client().get("/healthz"), 200)


def test_oversized_head_answered_4xx(stack):
    t = stack.new_tenant()
    for what, raw in (("a 9 KB URL", b"GET /v1/stores/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nx-api-key: "
                       + t.key.encode() + b"\r\nConnection: close\r\n\r\n"),
                      ("a 200 KB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 200000
                       + b"\r\nConnection: close\r\n\r\n")):
        try:
            status, _, _ = raw_http(stack.gateway.port, raw, timeout=5)
        except AssertionError as e:
            raise AssertionError("%s: %s (expected 414/431/400)" % (what, e))
        check(400 <= status < 500, "%s got %d", what, status)


def test_garbage_and_odd_requests(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    for raw in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 200,  # a TLS ClientHello
                b"GARBAGE\r\n\r\n",
                b"GET / HTTP/9.9\r\n\r\n",
                b"POST /v1/sales-events HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                b"POST /v1/sales-events HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
                b"POST /v1/sales-events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                b"GET /v1/stores/%zz%00 HTTP/1.1\r\nHost: x\r\nx-api-key: " + t.key.encode() + b"\r\n\r\n"):
        try:
            raw_http(stack.gateway.port, raw, timeout=3)
        except (AssertionError, OSError):
            pass  # closing without an answer is fine for garbage
    check(stack.gateway.proc.alive(), "gateway died on garbage input: %s", stack.gateway.proc.log_tail())
    expect_status(t.api.post("/v1/sales-events", event("s1", external_id="after-garbage")), 201)
    # HTTP/1.0 without Host still gets an answer
    status, _, body = raw_http(stack.gateway.port, b"GET /healthz HTTP/1.0\r\n\r\n")
    check_eq(status, 200, "HTTP/1.0 /healthz (%r)" % body[:100])


@timeout(60)
def test_gateway_started_before_redis_recovers():
    """Redis absent at start: the gateway runs, says 503 / not ready, and serves once Redis appears."""
    rport = free_port()
    gw = Gateway(rport, name="early-gateway")
    try:
        gw.start(wait_ready=False)
        r = gw.client().get("/readyz")
        check_eq(r.status, 503, "/readyz with no Redis (%s)" % r.describe())
        r = gw.admin().post("/admin/v1/tenants", {"id": "early", "timezone": "Europe/Paris",
                                                  "default_currency": "EUR"})
        expect_error(r, 503, "SERVICE_UNAVAILABLE")
        check(r.header("Retry-After") is not None, "503 without Retry-After")
        redis = RedisServer("early-redis", port=rport).start()
        try:
            wait_until(lambda: gw.client().get("/readyz").status == 200, 15, 0.2, what="/readyz 200")
            expect_status(gw.admin().post("/admin/v1/tenants", {"id": "early", "timezone": "Europe/Paris",
                                                                "default_currency": "EUR"}), 201)
        finally:
            gw.stop()
            redis.destroy()
    finally:
        gw.stop()


@timeout(60)
def test_worker_survives_poison_stream_entry(stack):
    """
    A stream entry that is not a valid event (written straight into Redis)
    must not stop the worker: later events are applied, the worker lives.
    Uses the key layout of common/keys.h.
    """
    t = stack.new_tenant()
    t.create_store("s1")
    expect_status(t.api.post("/v1/sales-events", event("s1", external_id="P-0", lines=[(None, 1, 100)])), 201)
    stream = "sg:{%s}:stream" % t.id
    stack.redis.command("XADD", stream, "*", "e", b"\xc1\xff garbage", "q", "999999")
    stack.redis.command("XADD", stream, "*", "e", b"\x81\xa1v\x01", "q", "1000000")  # msgpack {"v":1}
    stack.redis.command("XADD", stream, "*", "nothing", "here")
    expect_status(t.api.post("/v1/sales-events", event("s1", external_id="P-1", lines=[(None, 2, 300)])), 201)
    want = [{"start": "2026-04-25T00:00:00Z", "currency": "EUR", "gross_cents": 400, "returns_cents": 0,
             "net_cents": 400, "transactions": 2, "units": 3}]
    from noticia import analytics, normalize_buckets
    wait_until(lambda: normalize_buckets(expect_status(analytics(
        t.api, "day", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"), 200).json) == want, 10,
        what="events around the poison entries applied")
    check(stack.worker.proc.alive() and len(stack.worker.pids()) >= 3,
          "worker pool damaged by a poison entry: %s", stack.worker.proc.log_tail())


def test_header_flood_cut_off_with_431(stack):
    # past twice the header limit the gateway stops reading at once (libevhtp
    # keeps every header in memory) and still answers 431
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(400))
    status, _, body = raw_http(stack.gateway.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many
                               + b"\r\n", timeout=5)
    check_eq(status, 431, "status for 400 headers (%r)" % body[:200])
    check(b"HEADERS_TOO_LARGE" in body, "431 body names the problem: %r", body[:200])
    expect_status(stack.client().get("/healthz"), 200)


def test_endless_chunked_body_answered_413(stack):
    # a chunked body that never ends is answered 413 once it passes 16 x the
    # limit, without waiting for an end that never comes
    gw = Gateway(stack.redis.port, stack.admin_token, max_body=1024, name="tiny-gateway").start()
    try:
        t = stack.new_tenant()
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        try:
            s.sendall(b"POST /v1/sales-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"x-api-key: " + t.key.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (1000, b"x" * 1000)
            got = b""
            for _ in range(40):  # 40 KB, more than 16 x 1024, never terminated
                try:
                    s.sendall(chunk)
                except OSError:
                    break
            deadline = time.monotonic() + 5
            while b"\r\n\r\n" not in got and time.monotonic() < deadline:
                try:
                    part = s.recv(4096)
                except OSError:
                    break
                if not part:
                    break
                got += part
        finally:
            s.close()
        check(got.startswith(b"HTTP/1.1 413"), "an endless chunked body gets 413 (got %r)", got[:120])
        expect_status(gw.client().get("/healthz"), 200)
    finally:
        gw.stop()
