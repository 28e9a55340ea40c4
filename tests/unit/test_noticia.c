/*
 * Noticia sales-event parsing: every validation rule names its field, the
 * vendor's example parses into the canonical event, and what is rendered
 * back is what was sent. The parser runs on a request state with an arena
 * and a tenant only (no HTTP is involved).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "check.h"
#include "dialects/noticia.h"
#include "error.h"
#include "event.h"
#include "ids.h"
#include "jsonw.h"
#include "request.h"

static const char example[] =
	"{\"external_id\":\"TICKET-2026-04-25-001234:PURCHASE\",\"type\":\"PURCHASE\","
	"\"occurred_at\":\"2026-04-25T14:32:00+02:00\",\"store_id\":\"paris-rivoli-01\","
	"\"currency\":\"EUR\",\"profile_id\":\"crm-customer-4815\",\"total_amount_cents\":12500,"
	"\"total_discount_cents\":0,\"total_tax_cents\":2083,\"source\":\"Cegid POS v3\","
	"\"line_items\":[{\"external_id\":\"LINE-001\",\"product\":{\"external_id\":\"SKU-12345\","
	"\"name\":\"White T-shirt M\",\"properties\":{\"category\":\"Menswear\",\"size\":\"M\","
	"\"organic\":true,\"weight_kg\":0.25,\"pack\":3}},\"quantity\":2,\"unit_price_cents\":5000,"
	"\"total_price_cents\":10000,\"tax_cents\":1667},{\"external_id\":\"LINE-002\",\"product\":"
	"{\"external_id\":\"SKU-67890\",\"name\":\"Tote bag\"},\"quantity\":1,"
	"\"unit_price_cents\":2500,\"total_price_cents\":2500,\"tax_cents\":416}],"
	"\"payments\":[{\"method\":\"card\",\"amount_cents\":12500}],\"metadata\":{\"till\":7}}";

static struct sg_req req;

static json_t *
example_json(void)
{
	return json_loads(example, JSON_REJECT_DUPLICATES, NULL);
}

/* Parses root; returns the result code and leaves err filled. */
static int
parse(json_t *root, struct sg_event *ev, int *check, struct sg_error *err)
{
	error_clear(err);
	arena_reset(&req.arena);
	return noticia_parse_event(root, &req, ev, check, err);
}

static int
names_field(const struct sg_error *err, const char *field)
{
	size_t i;

	for (i = 0; i < err->ndetails; i++) {
		if (strcmp(err->details[i].field, field) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Sets key of the example (or of a nested object found by path) to a JSON value. */
static void
expect_refused(const char *path, const char *key, const char *json_value, const char *field)
{
	json_t *root = example_json(), *obj = root, *v;
	struct sg_event ev;
	struct sg_error err;
	int check = 0, rc;
	char copy[128], *tok, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", path);
	for (tok = strtok_r(copy, ".", &save); tok && obj; tok = strtok_r(NULL, ".", &save)) {
		obj = tok[0] >= '0' && tok[0] <= '9' ? json_array_get(obj, (size_t)atoi(tok))
						     : json_object_get(obj, tok);
	}
	if (json_value) {
		v = json_loads(json_value, JSON_DECODE_ANY, NULL);
		json_object_set_new(obj, key, v);
	} else {
		json_object_del(obj, key);
	}
	rc = parse(root, &ev, &check, &err);
	CHECK(rc == SG_EINVAL && names_field(&err, field), "%s%s%s = %s refused naming %s",
	      path, path[0] ? "." : "", key, json_value ? json_value : "(absent)", field);
	json_decref(root);
}

static void
test_example_parses(void)
{
	json_t *root = example_json();
	struct sg_event ev;
	struct sg_error err;
	char store[SG_ID_MAX], prof[SG_ID_MAX], prod[SG_ID_MAX];
	int check = 1;

	CHECK(parse(root, &ev, &check, &err) == 0, "vendor example parses (%s)", err.message);
	ids_derived("store_", "acme", "paris-rivoli-01", store);
	ids_derived("prof_", "acme", "crm-customer-4815", prof);
	ids_derived("prod_", "acme", "SKU-12345", prod);
	CHECK(ev.kind == SG_KIND_PURCHASE, "type PURCHASE");
	CHECK(ev.occurred_ms == 1777120320000LL && ev.occurred_offset == 120,
	      "occurred_at 14:32+02:00 = 12:32Z, offset kept");
	CHECK_STR_EQ(ev.store_id, store, "store external id resolves to its derived store_ id");
	CHECK_STR_EQ(ev.store_external_id, "paris-rivoli-01", "store external id kept");
	CHECK_STR_EQ(ev.profile_id, prof, "CRM id maps to its derived prof_ id");
	CHECK_STR_EQ(ev.customer_external_id, "crm-customer-4815", "CRM id kept");
	CHECK(check == 0, "a CRM id need not exist (auto-created later)");
	CHECK_STR_EQ(ev.currency, "EUR", "currency");
	CHECK(ev.total == 12500 && ev.discount == 0 && ev.tax == 2083, "amounts in cents");
	CHECK(ev.nlines == 2 && ev.lines[0].quantity_milli == 2000 && ev.lines[0].total == 10000,
	      "lines: quantity fixed point, totals");
	CHECK_STR_EQ(ev.lines[0].product.product_id, prod, "product id derived from the SKU");
	CHECK(ev.lines[0].product.nprops == 5, "five scalar properties kept");
	CHECK(ev.ncustom == 2, "payments and metadata kept as free-form fields");
	json_decref(root);
}

static void
test_prof_id_must_exist(void)
{
	json_t *root = example_json();
	struct sg_event ev;
	struct sg_error err;
	int check = 0;

	json_object_set_new(root, "profile_id", json_string("prof_ABCDEFGHJKMNPQRSTVWX"));
	CHECK(parse(root, &ev, &check, &err) == 0 && check == 1, "a prof_ id is checked for existence");
	CHECK_STR_EQ(ev.profile_id, "prof_ABCDEFGHJKMNPQRSTVWX", "prof_ id used as is");
	CHECK(ev.customer_external_id == NULL, "no CRM id for a prof_ reference");
	json_object_del(root, "store_id");
	json_object_set_new(root, "store", json_string("store_ABCDEFGHJKMNPQRSTVWX"));
	CHECK(parse(root, &ev, &check, &err) == 0, "store accepted as alias of store_id");
	CHECK_STR_EQ(ev.store_id, "store_ABCDEFGHJKMNPQRSTVWX", "store_ id used as is");
	json_decref(root);
}

static void
test_required_fields(void)
{
	static const char *const required[] = {"type", "occurred_at", "currency",
					       "total_amount_cents", "total_discount_cents",
					       "line_items"};
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		expect_refused("", required[i], NULL, required[i]);
	}
	expect_refused("", "store_id", NULL, "store_id");
	expect_refused("line_items.0", "quantity", NULL, "line_items[0].quantity");
	expect_refused("line_items.1", "total_price_cents", NULL, "line_items[1].total_price_cents");
	expect_refused("line_items.0.product", "external_id", NULL,
		       "line_items[0].product.external_id");
}

static void
test_values(void)
{
	expect_refused("", "type", "\"SALE\"", "type");
	expect_refused("", "type", "1", "type");
	expect_refused("", "occurred_at", "\"2026-04-25T14:32:00\"", "occurred_at");
	expect_refused("", "occurred_at", "\"2026-02-30T10:00:00Z\"", "occurred_at");
	expect_refused("", "currency", "\"JPY\"", "currency");
	expect_refused("", "currency", "\"eur\"", "currency");
	expect_refused("", "total_amount_cents", "0", "total_amount_cents");
	expect_refused("", "total_amount_cents", "-1", "total_amount_cents");
	expect_refused("", "total_amount_cents", "125.5", "total_amount_cents");
	expect_refused("", "total_amount_cents", "\"12500\"", "total_amount_cents");
	expect_refused("", "total_discount_cents", "-1", "total_discount_cents");
	expect_refused("", "total_discount_cents", "0.5", "total_discount_cents");
	expect_refused("", "total_tax_cents", "-5", "total_tax_cents");
	expect_refused("", "line_items", "[]", "line_items");
	expect_refused("", "line_items", "{}", "line_items");
	expect_refused("line_items.0", "quantity", "0", "line_items[0].quantity");
	expect_refused("line_items.0", "quantity", "1.5", "line_items[0].quantity");
	expect_refused("line_items.0", "quantity", "\"2\"", "line_items[0].quantity");
	expect_refused("line_items.0", "total_price_cents", "99.9", "line_items[0].total_price_cents");
	expect_refused("line_items.0", "unit_price_cents", "-1", "line_items[0].unit_price_cents");
	expect_refused("line_items.0", "tax_cents", "1.5", "line_items[0].tax_cents");
	expect_refused("line_items.0", "product", "[]", "line_items[0].product");
	expect_refused("line_items.0.product", "properties", "{\"a\":{\"b\":1}}",
		       "line_items[0].product.properties.a");
	expect_refused("line_items.0.product", "properties", "{\"a\":[1]}",
		       "line_items[0].product.properties.a");
	expect_refused("line_items.0.product", "properties", "{\"a\":null}",
		       "line_items[0].product.properties.a");
	expect_refused("", "external_id", "\"evt_123\"", "external_id");
	expect_refused("", "external_id", "\"prof_1\"", "external_id");
	expect_refused("", "external_id", "\"store_1\"", "external_id");
	expect_refused("", "external_id", "\"\"", "external_id");
	expect_refused("", "store", "\"another-store\"", "store");
	expect_refused("", "store_id", "42", "store_id");
	expect_refused("", "profile_id", "[]", "profile_id");
}

static void
test_limits(void)
{
	json_t *root = example_json(), *props = json_object(), *lines = json_array();
	json_t *line = json_array_get(json_object_get(root, "line_items"), 0);
	struct sg_event ev;
	struct sg_error err;
	char key[16], big[300];
	int check, i;

	for (i = 0; i < 51; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(props, key, json_integer(i));
	}
	json_object_set_new(json_object_get(line, "product"), "properties", props);
	CHECK(parse(root, &ev, &check, &err) == SG_EINVAL &&
		      names_field(&err, "line_items[0].product.properties"),
	      "51 properties refused");
	props = json_object();
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 15; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(props, key, json_string(big));
	}
	json_object_set_new(json_object_get(line, "product"), "properties", props);
	CHECK(parse(root, &ev, &check, &err) == SG_EINVAL &&
		      names_field(&err, "line_items[0].product.properties"),
	      "properties over 4 KB refused");
	json_object_set_new(json_object_get(line, "product"), "properties", json_object());
	for (i = 0; i < 1001; i++) {
		json_array_append(lines, line);
	}
	json_object_set_new(root, "line_items", lines);
	CHECK(parse(root, &ev, &check, &err) == SG_EINVAL && names_field(&err, "line_items"),
	      "1001 line items refused");
	memset(big, 'y', 257);
	big[257] = '\0';
	json_object_set_new(root, "external_id", json_string(big));
	CHECK(parse(root, &ev, &check, &err) == SG_EINVAL && names_field(&err, "external_id"),
	      "external_id over 256 characters refused");
	json_decref(root);
}

static void
test_every_bad_field_reported(void)
{
	json_t *root = json_loads("{\"type\":\"X\",\"total_amount_cents\":1.5,\"line_items\":"
				  "[{\"quantity\":0},{\"total_price_cents\":-2}]}",
				  0, NULL);
	struct sg_event ev;
	struct sg_error err;
	int check;

	CHECK(parse(root, &ev, &check, &err) == SG_EINVAL, "a bad event is refused");
	CHECK(names_field(&err, "type") && names_field(&err, "occurred_at") &&
		      names_field(&err, "store_id") && names_field(&err, "currency") &&
		      names_field(&err, "total_amount_cents") &&
		      names_field(&err, "total_discount_cents") &&
		      names_field(&err, "line_items[0].quantity") &&
		      names_field(&err, "line_items[0].total_price_cents") &&
		      names_field(&err, "line_items[1].quantity") &&
		      names_field(&err, "line_items[1].total_price_cents"),
	      "every bad field is named at once (%zu details)", err.ndetails);
	json_decref(root);
}

static void
test_render_round_trip(void)
{
	json_t *root = example_json(), *out;
	struct sg_event ev;
	struct sg_error err;
	struct sg_buf b = {0};
	struct jsonw w;
	int check;

	parse(root, &ev, &check, &err);
	strcpy(ev.id, "evt_01M80000000000000000000000");
	ev.received_ms = 1777120330000LL;
	jsonw_init(&w, &b);
	noticia_render_event(&w, &ev);
	out = json_loads(b.data, JSON_REJECT_DUPLICATES, NULL);
	CHECK(out != NULL, "rendered event is valid JSON");
	CHECK_STR_EQ(json_string_value(json_object_get(out, "occurred_at")),
		     "2026-04-25T14:32:00+02:00", "occurred_at shown with its original offset");
	CHECK(json_integer_value(json_object_get(out, "total_amount_cents")) == 12500,
	      "amount rendered as sent");
	CHECK(json_equal(json_object_get(out, "payments"), json_object_get(root, "payments")),
	      "payments rendered as sent");
	CHECK(json_equal(json_object_get(json_object_get(json_array_get(
					     json_object_get(out, "line_items"), 0),
							 "product"),
					 "properties"),
			 json_object_get(json_object_get(json_array_get(
							     json_object_get(root, "line_items"), 0),
							     "product"),
					 "properties")),
	      "product properties rendered as sent (string, bool, real, integer)");
	json_decref(out);
	json_decref(root);
	buf_finish(&b);
}

int
main(void)
{
	arena_init(&req.arena, 8192);
	req.tenant = "acme";
	test_example_parses();
	test_prof_id_must_exist();
	test_required_fields();
	test_values();
	test_limits();
	test_every_bad_field_reported();
	test_render_round_trip();
	arena_finish(&req.arena);
	return check_done();
}
