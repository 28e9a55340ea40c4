"""
Single events without Idempotency-Key share ingest script calls (per loop
iteration and tenant): under a concurrent burst every request still gets its
own outcome, and /metrics shows more than one event per call.
"""

import http.client
import json
import re
import socket
import struct
import threading
import time
import uuid

from harness import check, check_eq, expect_error, expect_status, note, rand_id, timeout
from noticia import event

THREADS = 12
UNKNOWN_PROFILE = "prof_" + "B" * 20


def _metric(client, name):
    text = expect_status(client.get("/metrics"), 200).text
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    check(m, "metric %s missing from /metrics", name)
    return int(m.group(1))


def _body(ev):
    return json.dumps(ev).encode()


class Req:
    """One request of the burst and the outcome it must get."""

    def __init__(self, tenant, ev, kind, status, same_as=None, headers=None, field=None,
                 code=None, disconnect=False):
        self.tenant = tenant
        self.ev = ev
        self.body = _body(ev)
        self.kind = kind
        self.status = status        # expected status (None: either of a racing pair)
        self.same_as = same_as      # expected JSON answer (a re-send, a replay)
        self.headers = headers or {}
        self.field = field          # 404: the field the error names
        self.code = code
        self.disconnect = disconnect
        self.resp = None            # (status, headers, json) once answered
        self.error = None


def _setup_tenant(stack, plan):
    """A tenant with one store and one profile, its first events stored, and its burst in plan."""
    t = stack.new_tenant(prefix="co")
    t.create_store("s1")
    prof = expect_status(t.api.post("/v1/profiles", {"external_id": "crm-" + rand_id()}), 201)
    prof_id = prof.json["id"]
    stored = []
    for _ in range(10):
        ev = event("s1", external_id="K-" + rand_id())
        stored.append((ev, expect_status(t.api.post("/v1/sales-events", ev), 201).json))
    key_ok, key_other = str(uuid.uuid4()), str(uuid.uuid4())
    idem_ev = event("s1", external_id="IK-" + rand_id())
    first = expect_status(t.api.post("/v1/sales-events", idem_ev, headers={"Idempotency-Key": key_ok}),
                          201).json
    expect_status(t.api.post("/v1/sales-events", event("s1", external_id="IO-" + rand_id()),
                             headers={"Idempotency-Key": key_other}), 201)

    for _ in range(94):
        plan.append(Req(t, event("s1", external_id="F-" + rand_id()), "fresh", 201))
    for _ in range(10):  # two identical fresh posts: one 201, one 200, one id
        ev = event("s1", external_id="P-" + rand_id())
        plan.append(Req(t, ev, "pair", None))
        plan.append(Req(t, ev, "pair", None))
    for ev, answer in stored:
        plan.append(Req(t, ev, "resend", 200, same_as=answer))
    for _ in range(10):
        plan.append(Req(t, event("no-such-store-" + rand_id(), external_id="NS-" + rand_id()),
                        "unknown store", 404, field="store_id", code="NOT_FOUND"))
    for _ in range(2):
        plan.append(Req(t, event("s1", external_id="PR-" + rand_id(), profile=prof_id),
                        "known profile", 201))
        plan.append(Req(t, event("s1", external_id="NP-" + rand_id(), profile=UNKNOWN_PROFILE),
                        "unknown profile", 404, field="profile_id", code="NOT_FOUND"))
    for _ in range(2):
        plan.append(Req(t, event("s1", external_id="IF-" + rand_id()), "idempotent fresh", 201,
                        headers={"Idempotency-Key": str(uuid.uuid4())}))
    plan.append(Req(t, idem_ev, "idempotent replay", 201, same_as=first,
                    headers={"Idempotency-Key": key_ok}))
    plan.append(Req(t, event("s1", external_id="IC-" + rand_id()), "idempotent conflict", 409,
                    headers={"Idempotency-Key": key_other}, code="IDEMPOTENCY_CONFLICT"))
    for _ in range(6):
        plan.append(Req(t, event("s1", external_id="D-" + rand_id()), "disconnect", None,
                        disconnect=True))
    return t, len(stored) + 2


def _wire(req, port):
    """The whole request as bytes, built before the burst so sending is one syscall."""
    h = {"Host": "127.0.0.1:%d" % port, "Content-Type": "application/json",
         "Content-Length": str(len(req.body)), "x-api-key": req.tenant.key}
    h.update(req.headers)
    head = "".join("%s: %s\r\n" % kv for kv in h.items())
    return ("POST /v1/sales-events HTTP/1.1\r\n%s\r\n" % head).encode() + req.body


def _read(q, sock):
    try:
        r = http.client.HTTPResponse(sock)
        r.begin()
        data = r.read()
        q.resp = (r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(data))
    except (OSError, http.client.HTTPException, ValueError) as e:
        q.error = repr(e)


def _fire(reqs, port, barrier):
    """Connects a socket per request, waits for the other threads, sends all, then reads."""
    socks = []
    try:
        wires = [_wire(q, port) for q in reqs]
        for _ in reqs:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=30))
        barrier.wait(30)
        for q, s, w in zip(reqs, socks, wires):
            s.sendall(w)
            if q.disconnect:
                # reset, not a polite close: the gateway may have the event queued
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
        for q, s in zip(reqs, socks):
            if not q.disconnect:
                _read(q, s)
    finally:
        for s in socks:
            s.close()


def _check_outcome(q):
    """Failures of one request, as text ([] when it got what it should)."""
    if q.error or not q.resp:
        return ["%s %s: no answer (%s)" % (q.kind, q.ev.get("external_id"), q.error)]
    status, headers, body = q.resp
    what = "%s %s → %d %s" % (q.kind, q.ev.get("external_id"), status, json.dumps(body)[:300])
    bad = []
    if q.status is not None and status != q.status:
        bad.append("expected %d: %s" % (q.status, what))
    elif q.status is None and status not in (200, 201):
        bad.append("expected 201 or 200: %s" % what)
    elif status in (200, 201):
        if body.get("external_id") != q.ev["external_id"]:
            bad.append("answer of another event: %s" % what)
        if q.same_as is not None and body != q.same_as:
            bad.append("expected the first answer %s: %s" % (json.dumps(q.same_as)[:200], what))
        if q.kind == "idempotent replay" and headers.get("idempotent-replayed") != "true":
            bad.append("replay without Idempotent-Replayed: %s" % what)
    else:
        err = body.get("error") or {}
        fields = {d.get("field") for d in err.get("details") or []}
        if err.get("code") != q.code or (q.field and q.field not in fields):
            bad.append("expected %s naming %s: %s" % (q.code, q.field, what))
    return bad


def _check_stored(stack, t, reqs, first_201s):
    """Each answer matches what is stored; Redis holds exactly the accepted events."""
    bad, accepted = [], first_201s
    pairs = {}
    for q in reqs:
        ext = q.ev["external_id"]
        g = t.api.get("/v1/sales-events/" + ext)
        if q.disconnect:
            expect_status(g, 200, 404)  # its outcome was never seen: stored or not
            accepted += g.status == 200
            continue
        status, _, body = q.resp
        if status not in (200, 201):
            if g.status != 404:
                bad.append("%s %s was refused but is stored: %s" % (q.kind, ext, g.describe()))
            continue
        if g.status != 200 or g.json != (q.same_as or body):
            bad.append("%s %s: stored %s, answered %s" % (q.kind, ext, g.describe(), json.dumps(body)[:200]))
        if q.kind == "pair":
            pairs.setdefault(ext, []).append((status, body["id"]))
        elif status == 201 and q.kind != "idempotent replay":
            accepted += 1
    for ext, got in pairs.items():
        if sorted(s for s, _ in got) != [200, 201] or got[0][1] != got[1][1]:
            bad.append("racing pair %s: %s (want one 201 and one 200, same id)" % (ext, got))
        accepted += 1
    check(not bad, "%d stored-state mismatches:\n%s", len(bad), "\n".join(bad[:20]))
    seq = int(stack.redis.command("GET", "sg:{%s}:seq" % t.id) or 0)
    evx = stack.redis.command("HLEN", "sg:{%s}:evx" % t.id)
    check_eq((seq, evx), (accepted, accepted), "tenant %s: (seq, dedupe records) vs accepted" % t.id)


@timeout(120)
def test_concurrent_single_events_coalesced_per_request_outcomes(stack):
    plan = []
    tenants = [_setup_tenant(stack, plan) for _ in range(2)]
    # shuffle tenants and kinds (a fixed permutation), so calls mix outcomes
    plan = [plan[i] for i in sorted(range(len(plan)), key=lambda i: (i * 7919) % len(plan))]
    c = stack.client()
    calls0 = _metric(c, "salesgate_ingest_calls_total")
    events0 = _metric(c, "salesgate_ingest_events_total")

    port = stack.gateway.port
    # released once every socket is connected and accepted: then all send at once
    barrier = threading.Barrier(THREADS, action=lambda: time.sleep(0.2))
    groups = [plan[i::THREADS] for i in range(THREADS)]
    threads = [threading.Thread(target=_fire, args=(g, port, barrier)) for g in groups]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    check(not any(th.is_alive() for th in threads), "burst threads did not finish")

    bad = [b for q in plan if not q.disconnect for b in _check_outcome(q)]
    check(not bad, "%d of %d requests got a wrong outcome:\n%s", len(bad), len(plan), "\n".join(bad[:20]))
    for t, first_201s in tenants:
        _check_stored(stack, t, [q for q in plan if q.tenant is t], first_201s)

    calls = _metric(c, "salesgate_ingest_calls_total") - calls0
    events = _metric(c, "salesgate_ingest_events_total") - events0
    note("%d requests: %d events in %d script calls (%.1f per call)"
         % (len(plan), events, calls, events / max(calls, 1)))
    resets = sum(q.disconnect for q in plan)
    check(len(plan) - resets <= events <= len(plan), "%d events sent for %d requests (%d reset)",
          events, len(plan), resets)
    check(calls > 0 and events / calls > 1, "no coalescing: %d events in %d calls", events, calls)
    # the gateway lived through the clients that reset their connection
    expect_status(stack.client().get("/healthz"), 200)
    check(not stack.dead(), "a process died: %s", stack.dead())
    for ext in ("NS", "NP"):
        refused = [q for q in plan if q.ev["external_id"].startswith(ext + "-")]
        check(refused, "no %s requests in the plan", ext)
        expect_error(refused[0].tenant.api.get("/v1/sales-events/" + refused[0].ev["external_id"]),
                     404, "NOT_FOUND")
