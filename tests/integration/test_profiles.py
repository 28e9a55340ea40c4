"""Profiles: upsert, uniqueness of email/phone, stats, auto-creation by the worker."""

import re

from harness import check, check_eq, expect_error, expect_status, rand_id, wait_until
from noticia import event, parse_time


def _stats(resp):
    s = resp.json.get("stats")
    check(isinstance(s, dict), "no stats object: %s", resp.describe())
    return s


def test_profile_create_201_update_200_get(stack):
    t = stack.new_tenant()
    body = {"external_id": "crm-1", "email": "ada@example.com", "phone_number": "+33612345678",
            "first_name": "Ada", "last_name": "Lovelace"}
    r = expect_status(t.api.post("/v1/profiles", body), 201)
    pid = r.json.get("id")
    check(isinstance(pid, str) and re.fullmatch(r"prof_[0-9A-Za-z]+", pid), "profile id %r", pid)
    for k, v in body.items():
        check_eq(r.json.get(k), v, "created profile " + k)
    r = expect_status(t.api.post("/v1/profiles", dict(body, first_name="Augusta Ada")), 200)
    check_eq(r.json.get("id"), pid, "id after update")
    check_eq(r.json.get("first_name"), "Augusta Ada", "first_name after update")
    for ref in ("crm-1", pid):
        g = expect_status(t.api.get("/v1/profiles/" + ref), 200)
        check_eq(g.json.get("id"), pid, "GET %s id" % ref)
        check_eq(g.json.get("external_id"), "crm-1", "GET %s external_id" % ref)
        check_eq(g.json.get("email"), "ada@example.com", "GET %s email" % ref)
        check_eq(g.json.get("first_name"), "Augusta Ada", "GET %s first_name" % ref)
        s = _stats(g)
        check_eq((s.get("first_purchase_at"), s.get("last_purchase_at"), s.get("orders")),
                 (None, None, 0), "stats of a profile without sales")
        check(not s.get("net_spend_cents"), "net_spend_cents of a profile without sales: %r", s)


def test_profile_unknown_404(stack):
    t = stack.new_tenant()
    expect_error(t.api.get("/v1/profiles/nobody-" + rand_id()), 404, "NOT_FOUND")
    expect_error(t.api.get("/v1/profiles/prof_" + "B" * 20), 404, "NOT_FOUND")


def test_profile_email_phone_conflict_409(stack):
    t = stack.new_tenant()
    expect_status(t.api.post("/v1/profiles", {"external_id": "a", "email": "same@example.com",
                                              "phone_number": "+441234567890"}), 201)
    expect_error(t.api.post("/v1/profiles", {"external_id": "b", "email": "same@example.com"}), 409, "CONFLICT")
    expect_error(t.api.post("/v1/profiles", {"external_id": "c", "phone_number": "+441234567890"}),
                 409, "CONFLICT")
    # the refused profiles were not created
    expect_error(t.api.get("/v1/profiles/b"), 404, "NOT_FOUND")
    expect_error(t.api.get("/v1/profiles/c"), 404, "NOT_FOUND")
    # the owner itself may re-send its own email
    expect_status(t.api.post("/v1/profiles", {"external_id": "a", "email": "same@example.com"}), 200)
    # once the owner changes its email, the old one is free for someone else
    expect_status(t.api.post("/v1/profiles", {"external_id": "a", "email": "new@example.com"}), 200)
    expect_status(t.api.post("/v1/profiles", {"external_id": "b", "email": "same@example.com"}), 201)
    expect_error(t.api.post("/v1/profiles", {"external_id": "d", "email": "new@example.com"}), 409, "CONFLICT")


def test_profile_validation_400(stack):
    t = stack.new_tenant()
    expect_error(t.api.post("/v1/profiles", {"email": "x@example.com"}), 400, "VALIDATION_ERROR", ["external_id"])
    expect_error(t.api.post("/v1/profiles", {"external_id": "prof_123"}), 400, "VALIDATION_ERROR",
                 ["external_id"])
    expect_error(t.api.post("/v1/profiles", {"external_id": "p-" + rand_id(), "email": 42}), 400,
                 "VALIDATION_ERROR", ["email"])


def test_profile_auto_created_by_sale_then_upsert_keeps_history(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    ext = "crm-auto-" + rand_id()
    r1 = expect_status(t.api.post("/v1/sales-events", event(
        "s1", external_id="A1-" + rand_id(), occurred_at="2026-04-20T10:00:00+02:00", profile=ext,
        lines=[("SKU-A", 2, 3000)])), 201)
    pid = r1.json.get("profile_id")
    check(isinstance(pid, str) and pid.startswith("prof_"), "event profile_id %r: %s", pid, r1.describe())
    if "profile_external_id" in r1.json:
        check_eq(r1.json["profile_external_id"], ext, "event profile_external_id")
    expect_status(t.api.post("/v1/sales-events", event(
        "s1", external_id="A2-" + rand_id(), occurred_at="2026-04-22T18:30:00Z", profile=ext,
        currency="GBP", lines=[("SKU-B", 1, 1500)])), 201)
    expect_status(t.api.post("/v1/sales-events", event(
        "s1", type="RETURN", external_id="A3-" + rand_id(), occurred_at="2026-04-23T09:00:00Z",
        profile=ext, lines=[("SKU-A", 1, 1000)])), 201)

    def stats_done():
        g = t.api.get("/v1/profiles/" + ext)
        expect_status(g, 200)
        s = _stats(g)
        check_eq(s.get("orders"), 2, "orders")
        check_eq(s.get("net_spend_cents"), {"EUR": 2000, "GBP": 1500}, "net_spend_cents")
        return g

    g = wait_until(stats_done, 10, what="auto-created profile with stats")
    check_eq(g.json.get("id"), pid, "auto-created profile id")
    s = _stats(g)
    check_eq(parse_time(s["first_purchase_at"]), parse_time("2026-04-20T08:00:00Z"), "first_purchase_at")
    check_eq(parse_time(s["last_purchase_at"]), parse_time("2026-04-22T18:30:00Z"), "last_purchase_at")
    expect_status(t.api.get("/v1/profiles/" + pid), 200)

    # the CRM now upserts the full profile: same id, stats intact
    u = expect_status(t.api.post("/v1/profiles", {"external_id": ext, "email": ext + "@example.com",
                                                  "first_name": "Late"}), 200)
    check_eq(u.json.get("id"), pid, "id after CRM upsert")
    g = expect_status(t.api.get("/v1/profiles/" + ext), 200)
    check_eq(g.json.get("email"), ext + "@example.com", "email after upsert")
    check_eq(g.json.get("first_name"), "Late", "first_name after upsert")
    s = _stats(g)
    check_eq((s.get("orders"), s.get("net_spend_cents")), (2, {"EUR": 2000, "GBP": 1500}), "stats after upsert")

    # and later sales keep adding to the same history
    expect_status(t.api.post("/v1/sales-events", event(
        "s1", external_id="A4-" + rand_id(), occurred_at="2026-04-24T12:00:00Z", profile=ext,
        lines=[("SKU-A", 1, 700)])), 201)
    wait_until(lambda: _stats(expect_status(t.api.get("/v1/profiles/" + ext), 200)).get("orders") == 3,
               10, what="orders == 3 after a sale following the upsert")


def test_profile_created_first_then_sales_by_prof_id(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    p = expect_status(t.api.post("/v1/profiles", {"external_id": "crm-first-" + rand_id()}), 201).json
    r = expect_status(t.api.post("/v1/sales-events", event("s1", external_id="P-" + rand_id(),
                                                           profile=p["id"], lines=[("SKU", 1, 990)])), 201)
    check_eq(r.json.get("profile_id"), p["id"], "profile_id of a sale referencing prof_ id")
    wait_until(lambda: _stats(t.api.get("/v1/profiles/" + p["id"])).get("orders") == 1, 10,
               what="orders == 1")


def test_sale_with_unknown_prof_id_404(stack):
    t = stack.new_tenant()
    t.create_store("s1")
    ext = "P-" + rand_id()
    r = t.api.post("/v1/sales-events", event("s1", external_id=ext, profile="prof_" + "Z" * 20))
    expect_error(r, 404, "NOT_FOUND")
    expect_error(t.api.get("/v1/sales-events/" + ext), 404, "NOT_FOUND")
