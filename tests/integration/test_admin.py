"""Admin API: tenants and API keys, and the admin token."""

import re

from harness import check, check_eq, expect_error, expect_status, rand_id


def test_tenant_create_201_then_same_200(stack):
    adm = stack.admin()
    tid = "acme-" + rand_id()
    body = {"id": tid, "timezone": "Europe/Paris", "default_currency": "EUR"}
    r = expect_status(adm.post("/admin/v1/tenants", body), 201)
    check_eq({k: r.json.get(k) for k in body}, body, "created tenant body")
    r = expect_status(adm.post("/admin/v1/tenants", body), 200)
    check_eq({k: r.json.get(k) for k in body}, body, "re-posted tenant body")


def test_tenant_same_id_different_settings_409(stack):
    adm = stack.admin()
    tid = "acme-" + rand_id()
    expect_status(adm.post("/admin/v1/tenants", {"id": tid, "timezone": "Europe/Paris",
                                                 "default_currency": "EUR"}), 201)
    r = adm.post("/admin/v1/tenants", {"id": tid, "timezone": "Europe/London", "default_currency": "GBP"})
    expect_error(r, 409, "CONFLICT")


def test_tenant_invalid_body_400(stack):
    adm = stack.admin()
    expect_error(adm.post("/admin/v1/tenants", {"timezone": "Europe/Paris", "default_currency": "EUR"}),
                 400, "VALIDATION_ERROR", ["id"])
    # tenant ids are [a-z0-9_-]{1,64} (common/keys.h)
    expect_error(adm.post("/admin/v1/tenants", {"id": "Bad Id!", "timezone": "Europe/Paris",
                                                "default_currency": "EUR"}), 400, "VALIDATION_ERROR", ["id"])
    expect_error(adm.post("/admin/v1/tenants", {"id": "x" * 65, "timezone": "Europe/Paris",
                                                "default_currency": "EUR"}), 400, "VALIDATION_ERROR", ["id"])


def test_key_explicit_201_repeat_200_other_tenant_409(stack):
    adm = stack.admin()
    tid = "keys-" + rand_id()
    expect_status(adm.post("/admin/v1/tenants", {"id": tid, "timezone": "Europe/Paris",
                                                 "default_currency": "EUR"}), 201)
    key = "ntca_" + rand_id(32)
    r = expect_status(adm.post("/admin/v1/tenants/%s/keys" % tid, {"key": key, "label": "till 7"}), 201)
    check_eq(r.json.get("key"), key, "key")
    check_eq(r.json.get("label"), "till 7", "label")
    check_eq(r.json.get("tenant"), tid, "tenant")
    # the same key again for the same tenant: 200 (a retry is safe), label updated
    r = expect_status(adm.post("/admin/v1/tenants/%s/keys" % tid, {"key": key, "label": "again"}), 200)
    check_eq(r.json.get("tenant"), tid, "tenant on repeat")
    # the same key for another tenant: 409, it stays the first tenant's
    other = "keys-" + rand_id()
    expect_status(adm.post("/admin/v1/tenants", {"id": other, "timezone": "Europe/Paris",
                                                 "default_currency": "EUR"}), 201)
    expect_error(adm.post("/admin/v1/tenants/%s/keys" % other, {"key": key}), 409)
    # the key works on the Noticia API
    api = stack.client(headers={"x-api-key": key})
    expect_error(api.get("/v1/stores/nope-" + rand_id()), 404, "NOT_FOUND")


def test_key_generated_format(stack):
    adm = stack.admin()
    tid = "gen-" + rand_id()
    expect_status(adm.post("/admin/v1/tenants", {"id": tid, "timezone": "Europe/Paris",
                                                 "default_currency": "EUR"}), 201)
    r = expect_status(adm.post("/admin/v1/tenants/%s/keys" % tid, {"label": "generated"}), 201)
    key = r.json.get("key")
    check(isinstance(key, str) and re.fullmatch(r"ntca_[A-Za-z0-9]{26,}", key or ""),
          "generated key %r is not ntca_ + >= 26 chars", key)
    r2 = expect_status(adm.post("/admin/v1/tenants/%s/keys" % tid, {"label": "generated 2"}), 201)
    check(r2.json.get("key") != key, "two generated keys are equal: %s", key)


def test_key_unknown_tenant_404(stack):
    r = stack.admin().post("/admin/v1/tenants/no-such-%s/keys" % rand_id(), {"label": "x"})
    expect_error(r, 404, "NOT_FOUND")


def test_admin_token_missing_or_wrong_401(stack):
    body = {"id": "nope-" + rand_id(), "timezone": "Europe/Paris", "default_currency": "EUR"}
    expect_error(stack.client().post("/admin/v1/tenants", body), 401, "UNAUTHORIZED")
    expect_error(stack.admin(token="wrong-" + rand_id(16)).post("/admin/v1/tenants", body), 401, "UNAUTHORIZED")
    # a prefix of the real token is not the token
    expect_error(stack.admin(token=stack.admin_token[:-1]).post("/admin/v1/tenants", body), 401, "UNAUTHORIZED")
    c = stack.client(headers={"Authorization": "Basic " + stack.admin_token})
    expect_error(c.post("/admin/v1/tenants", body), 401, "UNAUTHORIZED")
    t = stack.new_tenant()
    # a tenant API key is no admin token, in either header
    expect_error(stack.admin(token=t.key).post("/admin/v1/tenants", body), 401, "UNAUTHORIZED")
    expect_error(t.api.post("/admin/v1/tenants", body), 401, "UNAUTHORIZED")
    expect_error(stack.client().post("/admin/v1/tenants/%s/keys" % t.id, {"label": "x"}), 401, "UNAUTHORIZED")
    # and nothing was created by the refused calls
    r = stack.admin().post("/admin/v1/tenants", dict(body, timezone="Europe/London"))
    expect_status(r, 201)


def test_admin_token_is_not_an_api_key(stack):
    c = stack.client(headers={"x-api-key": stack.admin_token})
    expect_error(c.get("/v1/stores/anything"), 401, "UNAUTHORIZED")
