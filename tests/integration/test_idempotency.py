"""Idempotency-Key: replay, conflict, failures not recorded, in-flight."""

import json
import threading
import uuid

from harness import check, check_eq, expect_error, expect_status, rand_id
from noticia import event, fixture


def _setup(stack):
    t = stack.new_tenant()
    t.create_store("paris-rivoli-01")
    return t


def test_same_key_same_body_replays(stack):
    t = _setup(stack)
    key = str(uuid.uuid4())
    ev = fixture("purchase_example")
    body = json.dumps(ev)
    r1 = expect_status(t.api.post("/v1/sales-events", body, headers={"Idempotency-Key": key}), 201)
    check(r1.header("Idempotent-Replayed") in (None, "false"), "first answer marked replayed")
    r2 = expect_status(t.api.post("/v1/sales-events", body, headers={"Idempotency-Key": key}), 201)
    check_eq(r2.header("Idempotent-Replayed"), "true", "Idempotent-Replayed header")
    check_eq(r2.json, r1.json, "replayed body")
    # a replay of a 200 (dedupe) answer is a 200 again
    key2 = str(uuid.uuid4())
    r3 = expect_status(t.api.post("/v1/sales-events", body, headers={"Idempotency-Key": key2}), 200)
    r4 = expect_status(t.api.post("/v1/sales-events", body, headers={"Idempotency-Key": key2}), 200)
    check_eq(r4.header("Idempotent-Replayed"), "true", "Idempotent-Replayed on a replayed 200")
    check_eq(r3.json.get("id"), r1.json["id"], "dedupe id")


def test_same_key_different_body_409(stack):
    t = _setup(stack)
    key = str(uuid.uuid4())
    ev = fixture("purchase_example")
    expect_status(t.api.post("/v1/sales-events", ev, headers={"Idempotency-Key": key}), 201)
    ev2 = dict(ev, external_id="OTHER-" + rand_id())
    expect_error(t.api.post("/v1/sales-events", ev2, headers={"Idempotency-Key": key}), 409,
                 "IDEMPOTENCY_CONFLICT")
    expect_error(t.api.get("/v1/sales-events/" + ev2["external_id"]), 404, "NOT_FOUND")


def test_events_without_external_id_protected_by_key(stack):
    t = _setup(stack)
    key = str(uuid.uuid4())
    ev = event("paris-rivoli-01")  # no external_id: only the key protects a retry
    r1 = expect_status(t.api.post("/v1/sales-events", ev, headers={"Idempotency-Key": key}), 201)
    r2 = expect_status(t.api.post("/v1/sales-events", ev, headers={"Idempotency-Key": key}), 201)
    check_eq(r2.json.get("id"), r1.json.get("id"), "id of the replay")
    check_eq(r2.header("Idempotent-Replayed"), "true", "Idempotent-Replayed")


def test_failed_request_not_recorded(stack):
    t = _setup(stack)
    key = str(uuid.uuid4())
    ev = event("not-yet-synced-store", external_id="F-" + rand_id())
    expect_error(t.api.post("/v1/sales-events", ev, headers={"Idempotency-Key": key}), 404, "NOT_FOUND")
    t.create_store("not-yet-synced-store")
    r = expect_status(t.api.post("/v1/sales-events", ev, headers={"Idempotency-Key": key}), 201)
    check(r.header("Idempotent-Replayed") in (None, "false"), "a fresh success was marked replayed")
    # a 400 is not recorded either
    key2 = str(uuid.uuid4())
    bad = dict(ev, external_id="F2-" + rand_id(), currency="XXX")
    expect_error(t.api.post("/v1/sales-events", bad, headers={"Idempotency-Key": key2}), 400, "VALIDATION_ERROR")
    good = dict(bad, currency="EUR")
    expect_status(t.api.post("/v1/sales-events", good, headers={"Idempotency-Key": key2}), 201)


def test_keys_are_per_tenant(stack):
    a, b = _setup(stack), _setup(stack)
    key = str(uuid.uuid4())
    expect_status(a.api.post("/v1/sales-events", event("paris-rivoli-01", external_id="K-" + rand_id()),
                             headers={"Idempotency-Key": key}), 201)
    r = expect_status(b.api.post("/v1/sales-events", event("paris-rivoli-01", external_id="K-" + rand_id()),
                                 headers={"Idempotency-Key": key}), 201)
    check(r.header("Idempotent-Replayed") != "true", "tenant B got tenant A's replay")


def test_concurrent_same_key_best_effort(stack):
    """
    Racing requests with one key: each must be either the original outcome,
    a replay of it, or 409 IDEMPOTENCY_IN_FLIGHT with Retry-After; exactly
    one event is created.
    """
    t = _setup(stack)
    key = str(uuid.uuid4())
    ev = event("paris-rivoli-01")  # no external_id, so only the key can dedupe
    body = json.dumps(ev)
    out = []

    def go():
        try:
            out.append(t.api.post("/v1/sales-events", body, headers={"Idempotency-Key": key}))
        except Exception as e:  # noqa: BLE001
            out.append(e)

    ths = [threading.Thread(target=go) for _ in range(12)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(20)
    errors = [o for o in out if isinstance(o, Exception)]
    check(not errors, "connection errors: %s", errors)
    ids, inflight = set(), 0
    for r in out:
        if r.status == 201:
            ids.add(r.json.get("id"))
        elif r.status == 409:
            expect_error(r, 409, "IDEMPOTENCY_IN_FLIGHT")
            check(r.header("Retry-After") is not None, "409 IN_FLIGHT without Retry-After: %s", r.describe())
            inflight += 1
        else:
            raise AssertionError("unexpected answer in the race: " + r.describe())
    check_eq(len(ids), 1, "distinct event ids created under one key (in-flight answers: %d)" % inflight)
    fresh = [r for r in out if r.status == 201 and r.header("Idempotent-Replayed") != "true"]
    check_eq(len(fresh), 1, "non-replayed 201 answers")
