/* error_set / error_add / error_code_name. */
#include <string.h>

#include "check.h"
#include "error.h"

static struct sg_error err; /* ~19 KB: not on the stack */

static void
test_set(void)
{
	char longmsg[400];

	error_clear(&err);
	CHECK(err.code == SG_OK && err.message[0] == '\0' && err.ndetails == 0, "cleared");
	CHECK_INT_EQ(error_set(&err, SG_ENOTFOUND, "store %s not found", "S1"), SG_ENOTFOUND,
	             "error_set returns the code");
	CHECK_STR_EQ(err.message, "store S1 not found", "formatted message");
	CHECK_INT_EQ(error_set(NULL, SG_EAUTH, "x"), SG_EAUTH, "NULL record accepted");
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	error_set(&err, SG_EINVAL, "%s", longmsg);
	CHECK_INT_EQ(strlen(err.message), sizeof(err.message) - 1, "long message truncated");
	/* 198 ASCII bytes then a 2-byte character that does not fit */
	memset(longmsg, 'a', 198);
	strcpy(longmsg + 198, "\xc3\xa4tail");
	error_set(&err, SG_EINVAL, "%s", longmsg);
	CHECK_INT_EQ(strlen(err.message), 198, "a character cut in half is dropped");
	memset(longmsg, 'a', 197);
	strcpy(longmsg + 197, "\xc3\xa4tail");
	error_set(&err, SG_EINVAL, "%s", longmsg);
	CHECK(strlen(err.message) == 199 && strcmp(err.message + 197, "\xc3\xa4") == 0,
	      "a character that fits is kept");
	memset(longmsg, 'a', 197);
	strcpy(longmsg + 197, "\xe2\x82\xac!");
	error_set(&err, SG_EINVAL, "%s", longmsg);
	CHECK_INT_EQ(strlen(err.message), 197, "a 3-byte character cut after 2 bytes is dropped");
}

static void
test_add(void)
{
	char longfield[300];

	error_clear(&err);
	error_add(&err, "line_items[0].quantity", "must be positive, got %d", -1);
	CHECK_INT_EQ(err.code, SG_EINVAL, "add sets the code when unset");
	CHECK_INT_EQ(err.ndetails, 1, "one detail");
	CHECK_STR_EQ(err.details[0].field, "line_items[0].quantity", "field");
	CHECK_STR_EQ(err.details[0].issue, "must be positive, got -1", "issue");
	error_set(&err, SG_ECONFLICT, "conflict");
	error_add(&err, "x", "y");
	CHECK_INT_EQ(err.code, SG_ECONFLICT, "add keeps a code already set");
	for (int i = 0; i < 100; i++) {
		error_add(&err, "f", "issue %d", i);
	}
	CHECK_INT_EQ(err.ndetails, SG_ERROR_MAX_DETAILS, "details capped");
	CHECK_INT_EQ(err.dropped, 2 + 100 - SG_ERROR_MAX_DETAILS, "the rest counted as dropped");
	error_clear(&err);
	memset(longfield, 'f', sizeof(longfield) - 1);
	longfield[sizeof(longfield) - 1] = '\0';
	error_add(&err, longfield, "%s", longfield);
	CHECK(strlen(err.details[0].field) == sizeof(err.details[0].field) - 1 &&
	          strlen(err.details[0].issue) == sizeof(err.details[0].issue) - 1,
	      "long field and issue truncated safely");
	error_add(&err, NULL, "no field");
	CHECK_STR_EQ(err.details[1].field, "", "NULL field is empty");
	error_clear(&err);
	CHECK(err.ndetails == 0 && err.dropped == 0 && err.code == SG_OK, "clear resets details");
}

static void
test_names(void)
{
	static const struct {
		int code;
		const char *name;
	} cases[] = {
	    {SG_OK, "OK"},
	    {SG_EINVAL, "VALIDATION_ERROR"},
	    {SG_ENOTFOUND, "NOT_FOUND"},
	    {SG_ECONFLICT, "CONFLICT"},
	    {SG_ENOMEM, "INTERNAL_ERROR"},
	    {SG_EUNAVAIL, "SERVICE_UNAVAILABLE"},
	    {SG_ETOOLARGE, "PAYLOAD_TOO_LARGE"},
	    {SG_EAUTH, "UNAUTHORIZED"},
	    {SG_EFORBIDDEN, "FORBIDDEN"},
	    {SG_EINTERNAL, "INTERNAL_ERROR"},
	    {SG_EINFLIGHT, "IDEMPOTENCY_IN_FLIGHT"},
	    {-999, "INTERNAL_ERROR"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_STR_EQ(error_code_name(cases[i].code), cases[i].name, "name of %d",
		             cases[i].code);
	}
}

int
main(void)
{
	test_set();
	test_add();
	test_names();
	return check_done();
}
