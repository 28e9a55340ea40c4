"""Stores: upsert, lookup by external id and canonical id, validation."""

import re

from harness import check, check_eq, expect_error, expect_status, rand_id


def test_store_create_201_update_200_get(stack):
    t = stack.new_tenant()
    body = {"external_id": "paris-rivoli-01", "name": "Paris Rivoli", "timezone": "Europe/Paris",
            "address": "10 rue de Rivoli, 75004 Paris", "geo": {"lat": 48.8556, "lon": 2.3601}}
    r = expect_status(t.api.post("/v1/stores", body), 201)
    sid = r.json.get("id")
    check(isinstance(sid, str) and re.fullmatch(r"store_[0-9A-Za-z]+", sid), "store id %r", sid)
    check_eq(r.json.get("external_id"), "paris-rivoli-01", "external_id")
    check_eq(r.json.get("name"), "Paris Rivoli", "name")
    check_eq(r.json.get("timezone"), "Europe/Paris", "timezone")

    body2 = dict(body, name="Paris Rivoli (renovated)")
    r = expect_status(t.api.post("/v1/stores", body2), 200)
    check_eq(r.json.get("id"), sid, "id after update")
    check_eq(r.json.get("name"), "Paris Rivoli (renovated)", "name after update")

    for ref in ("paris-rivoli-01", sid):
        g = expect_status(t.api.get("/v1/stores/" + ref), 200)
        check_eq(g.json.get("id"), sid, "GET %s id" % ref)
        check_eq(g.json.get("external_id"), "paris-rivoli-01", "GET %s external_id" % ref)
        check_eq(g.json.get("name"), "Paris Rivoli (renovated)", "GET %s name" % ref)
        geo = g.json.get("geo") or {}
        check(abs(geo.get("lat", 0) - 48.8556) < 1e-6 and abs(geo.get("lon", 0) - 2.3601) < 1e-6,
              "geo not kept: %r", g.json)


def test_store_unknown_404(stack):
    t = stack.new_tenant()
    expect_error(t.api.get("/v1/stores/nowhere-" + rand_id()), 404, "NOT_FOUND")
    expect_error(t.api.get("/v1/stores/store_" + "A" * 20), 404, "NOT_FOUND")


def test_store_external_id_with_slash_and_unicode(stack):
    t = stack.new_tenant()
    ext = "Boutique Zoë #7"
    r = expect_status(t.api.post("/v1/stores", {"external_id": ext, "name": "Zoë"}), 201)
    from urllib.parse import quote
    g = expect_status(t.api.get("/v1/stores/" + quote(ext, safe="")), 200)
    check_eq(g.json.get("id"), r.json["id"], "id by percent-encoded external id")
    check_eq(g.json.get("name"), "Zoë", "unicode name")


def test_store_validation_400(stack):
    t = stack.new_tenant()
    expect_error(t.api.post("/v1/stores", {"name": "No id"}), 400, "VALIDATION_ERROR", ["external_id"])
    expect_error(t.api.post("/v1/stores", {"external_id": "s-" + rand_id()}), 400, "VALIDATION_ERROR", ["name"])
    expect_error(t.api.post("/v1/stores", {"external_id": "", "name": "x"}), 400, "VALIDATION_ERROR",
                 ["external_id"])
    expect_error(t.api.post("/v1/stores", {"external_id": 12, "name": "x"}), 400, "VALIDATION_ERROR",
                 ["external_id"])
    expect_error(t.api.post("/v1/stores", {"external_id": "s-" + rand_id(), "name": "x",
                                           "geo": {"lat": "north", "lon": 2}}),
                 400, "VALIDATION_ERROR", ["geo.lat"])


def test_store_validation_ranges_400(stack):
    # not spelled out by the contract: an impossible latitude or time zone is a bad field
    t = stack.new_tenant()
    expect_error(t.api.post("/v1/stores", {"external_id": "s-" + rand_id(), "name": "x",
                                           "geo": {"lat": 91, "lon": 2}}),
                 400, "VALIDATION_ERROR", ["geo.lat"])
    expect_error(t.api.post("/v1/stores", {"external_id": "s-" + rand_id(), "name": "x",
                                           "timezone": "Mars/Olympus_Mons"}),
                 400, "VALIDATION_ERROR", ["timezone"])


def test_store_external_id_reserved_prefix_400(stack):
    # a store_ external id would be ambiguous with canonical references
    t = stack.new_tenant()
    expect_error(t.api.post("/v1/stores", {"external_id": "store_abc", "name": "x"}), 400, "VALIDATION_ERROR",
                 ["external_id"])
