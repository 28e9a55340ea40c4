/*
 * GET /v1/analytics/sales: rollups written by the worker, read back for a
 * time range. Rollup hashes are split by period (a month of hours, a year
 * of days, all months), so a range reads a handful of keys, pipelined in one
 * round; buckets are UTC and a bucket is included when its start lies in
 * [from, to). One dimension filter at a time (store, product or profile):
 * the rollups are kept per single dimension. Profiles and products are
 * rolled up by the hour only (worker/rollup.c): their days and months are
 * summed here from the hours. Net is derived (gross - returns).
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gateway.h"
#include "handlers.h"
#include "jsonw.h"
#include "keys.h"
#include "redis_async.h"
#include "refs.h"
#include "request.h"
#include "timeutil.h"

#define MAX_KEYS 240
#define MS_PER_DAY 86400000LL

struct gran {
	const char *name;  /* query value */
	char code;         /* key letter */
	size_t bucket_len; /* yyyymmddhh = 10, yyyymmdd = 8, yyyymm = 6 */
};

static const struct gran grans[] = {
	{"hour", 'h', 10},
	{"day", 'd', 8},
	{"month", 'm', 6},
};

/* Measures as the worker writes them. */
enum { M_GROSS, M_RETURNS, M_TRANSACTIONS, M_RETURN_COUNT, M_UNITS, NMEASURES };
static const char *const measure_codes[NMEASURES] = {"g", "r", "t", "rc", "u"};

struct query {
	const struct gran *g;
	const struct gran *src; /* the granularity read: g, or hours summed into g */
	int64_t from_ms, to_ms;
	const char *dim;   /* "all", "store", "product", "profile" */
	const char *val;   /* "-" or canonical id */
	size_t nkeys;
	size_t pending;
	int failed;
	struct cell *cells; /* gathered fields */
	size_t ncells, capcells;
};

/* One field of one bucket: bucket|currency|measure = value. */
struct cell {
	char bucket[12];
	char cur[4];
	int measure; /* index into measures */
	int64_t value;
};

static int64_t
bucket_start_ms(const char *b, size_t len)
{
	int64_t y = 0;
	unsigned m = 1, d = 1, h = 0;

	if (sscanf(b, "%4lld", (long long *)&y) != 1) {
		return -1;
	}
	if (len >= 6) {
		m = (unsigned)((b[4] - '0') * 10 + (b[5] - '0'));
	}
	if (len >= 8) {
		d = (unsigned)((b[6] - '0') * 10 + (b[7] - '0'));
	}
	if (len >= 10) {
		h = (unsigned)((b[8] - '0') * 10 + (b[9] - '0'));
	}
	return time_days_from_civil(y, m, d) * MS_PER_DAY + (int64_t)h * 3600000LL;
}

static int
cell_cmp(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;
	int c = strcmp(x->bucket, y->bucket);

	return c ? c : strcmp(x->cur, y->cur);
}

static int
measure_index(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < NMEASURES; i++) {
		if (strlen(measure_codes[i]) == len && memcmp(measure_codes[i], s, len) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* Parses "bucket|CUR|m" and keeps it when the bucket is in range. */
static void
gather_field(struct query *q, const struct redisReply *f, const struct redisReply *v)
{
	const char *p1, *p2;
	struct cell *c;
	int64_t start;
	int mi;
	char num[32];

	if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || v->len >= sizeof(num)) {
		return;
	}
	p1 = memchr(f->str, '|', f->len);
	p2 = p1 ? memchr(p1 + 1, '|', f->len - (size_t)(p1 + 1 - f->str)) : NULL;
	if (!p1 || !p2 || (size_t)(p1 - f->str) != q->src->bucket_len || p2 - p1 != 4) {
		return;
	}
	mi = measure_index(p2 + 1, f->len - (size_t)(p2 + 1 - f->str));
	/* an hour read for a day or month counts in the bucket that holds it */
	start = bucket_start_ms(f->str, q->g->bucket_len);
	if (mi < 0 || start < q->from_ms || start >= q->to_ms) {
		return;
	}
	if (q->ncells == q->capcells) {
		size_t cap = q->capcells ? q->capcells * 2 : 256;
		struct cell *n = realloc(q->cells, cap * sizeof(*n));
		if (!n) {
			q->failed = 1;
			return;
		}
		q->cells = n;
		q->capcells = cap;
	}
	c = &q->cells[q->ncells++];
	memcpy(c->bucket, f->str, q->g->bucket_len);
	c->bucket[q->g->bucket_len] = '\0';
	memcpy(c->cur, p1 + 1, 3);
	c->cur[3] = '\0';
	c->measure = mi;
	memcpy(num, v->str, v->len);
	num[v->len] = '\0';
	c->value = strtoll(num, NULL, 10);
}

static void
write_bucket(struct jsonw *w, const struct query *q, const struct cell *c, const int64_t *vals)
{
	jsonw_obj_open(w);
	jsonw_key(w, "start");
	jsonw_time(w, bucket_start_ms(c->bucket, q->g->bucket_len), 0);
	jsonw_kstr(w, "currency", c->cur);
	jsonw_kint(w, "gross_cents", vals[M_GROSS]);
	jsonw_kint(w, "returns_cents", vals[M_RETURNS]);
	jsonw_kint(w, "net_cents", vals[M_GROSS] - vals[M_RETURNS]);
	jsonw_kint(w, "transactions", vals[M_TRANSACTIONS]);
	jsonw_kint(w, "return_count", vals[M_RETURN_COUNT]);
	jsonw_key(w, "units");
	jsonw_decimal(w, vals[M_UNITS], 3); /* units are stored in 1/1000 */
	jsonw_obj_close(w);
}

static void
reply_buckets(struct sg_req *r, struct query *q)
{
	struct sg_buf *out = &r->thr->out;
	struct jsonw w;
	int64_t vals[NMEASURES];
	size_t i = 0, j;

	if (q->ncells > 1) {
		qsort(q->cells, q->ncells, sizeof(*q->cells), cell_cmp);
	}
	buf_clear(out);
	jsonw_init(&w, out);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "granularity", q->g->name);
	jsonw_key(&w, "from");
	jsonw_time(&w, q->from_ms, 0);
	jsonw_key(&w, "to");
	jsonw_time(&w, q->to_ms, 0);
	jsonw_key(&w, "buckets");
	jsonw_arr_open(&w);
	while (i < q->ncells) {
		memset(vals, 0, sizeof(vals));
		for (j = i; j < q->ncells && cell_cmp(&q->cells[i], &q->cells[j]) == 0; j++) {
			vals[q->cells[j].measure] += q->cells[j].value;
		}
		write_bucket(&w, q, &q->cells[i], vals);
		i = j;
	}
	jsonw_arr_close(&w);
	jsonw_obj_close(&w);
	req_reply_json(r, 200, out->data, out->len);
}

struct key_call {
	struct sg_req *r;
	struct query *q;
};

/* Drops one pending count; the last one answers and frees the cells. */
static void
query_release(struct sg_req *r, struct query *q)
{
	if (--q->pending > 0) {
		return;
	}
	if (q->failed) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	} else {
		reply_buckets(r, q);
	}
	free(q->cells);
	q->cells = NULL;
}

static void
key_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct key_call *k = data;
	struct query *q = k->q;
	struct sg_req *r = k->r;
	size_t i;

	(void)errstr;
	if (!reply || reply->type != REDIS_REPLY_ARRAY) {
		q->failed = 1;
	} else {
		for (i = 0; i + 1 < reply->elements; i += 2) {
			gather_field(q, reply->element[i], reply->element[i + 1]);
		}
	}
	query_release(r, q);
	req_unref(r);
}

/* Writes the period suffix of the n-th key of the range into out. */
static int
period_of(const struct query *q, size_t n, char *out, size_t outlen)
{
	int64_t y, y0;
	unsigned m, m0, d;

	time_civil_from_days(q->from_ms / MS_PER_DAY - (q->from_ms % MS_PER_DAY < 0), &y0, &m0,
			     &d);
	if (q->src->code == 'm') {
		return snprintf(out, outlen, "all");
	}
	if (q->src->code == 'd') {
		return snprintf(out, outlen, "%04lld", (long long)(y0 + (int64_t)n));
	}
	y = y0 + (int64_t)((m0 - 1 + n) / 12);
	m = (unsigned)((m0 - 1 + n) % 12) + 1;
	return snprintf(out, outlen, "%04lld%02u", (long long)y, m);
}

static size_t
count_keys(const struct query *q)
{
	int64_t y0, y1;
	unsigned m0, m1, d;
	int64_t last = q->to_ms - 1;

	time_civil_from_days(q->from_ms / MS_PER_DAY - (q->from_ms % MS_PER_DAY < 0), &y0, &m0,
			     &d);
	time_civil_from_days(last / MS_PER_DAY - (last % MS_PER_DAY < 0), &y1, &m1, &d);
	if (q->src->code == 'm') {
		return 1;
	}
	if (q->src->code == 'd') {
		return (size_t)(y1 - y0 + 1);
	}
	return (size_t)((y1 - y0) * 12 + (int64_t)m1 - (int64_t)m0 + 1);
}

static int
send_keys(struct sg_req *r, struct query *q)
{
	char key[SG_KEY_MAX], name[SG_KEY_MAX], per[16];
	size_t i;

	q->pending = 1;
	for (i = 0; i < q->nkeys; i++) {
		struct key_call *k = arena_alloc(&r->arena, sizeof(*k));
		const char *argv[2] = {"HGETALL", key};
		size_t argvlen[2] = {7, 0};
		period_of(q, i, per, sizeof(per));
		snprintf(name, sizeof(name), "r:%c:%s:%s:%s", q->src->code, q->dim, q->val, per);
		argvlen[1] = keys_tenant(key, sizeof(key), r->tenant, name);
		if (!k || !argvlen[1]) {
			return -1;
		}
		k->r = r;
		k->q = q;
		req_ref(r);
		q->pending++;
		if (redis_call(r->thr->redis, 2, argv, argvlen, key_done, k) != 0) {
			q->pending--;
			req_unref(r);
			return -1;
		}
	}
	return 0;
}

static int
parse_range(struct sg_req *r, struct query *q, struct sg_error *err)
{
	const char *from = req_query(r, "from"), *to = req_query(r, "to");
	int32_t off;

	if (!from) {
		error_add(err, "from", "is required (RFC 3339, inclusive)");
	} else if (time_parse_rfc3339(from, strlen(from), &q->from_ms, &off) != 0) {
		error_add(err, "from", "must be an RFC 3339 time with an offset");
	}
	if (!to) {
		error_add(err, "to", "is required (RFC 3339, exclusive)");
	} else if (time_parse_rfc3339(to, strlen(to), &q->to_ms, &off) != 0) {
		error_add(err, "to", "must be an RFC 3339 time with an offset");
	}
	if (!err->ndetails && q->to_ms <= q->from_ms) {
		error_add(err, "to", "must be after from");
	}
	return err->ndetails ? -1 : 0;
}

static void
parse_filter(struct sg_req *r, struct query *q, struct sg_error *err)
{
	static const struct {
		const char *param, *dim, *prefix;
	} filters[] = {
		{"store_id", "store", "store_"},
		{"product_id", "product", "prod_"},
		{"profile_id", "profile", "prof_"},
	};
	size_t i, n = 0;

	q->dim = "all";
	q->val = "-";
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		const char *v = req_query(r, filters[i].param);
		if (!v) {
			continue;
		}
		if (++n > 1 || !v[0]) {
			error_add(err, filters[i].param,
				  n > 1 ? "only one of store_id, product_id, profile_id at a time"
					: "must not be empty");
			continue;
		}
		q->dim = filters[i].dim;
		q->val = refs_resolve(r, filters[i].prefix, v, NULL);
	}
}

void
analytics_sales_get(struct sg_req *r)
{
	struct query *q = arena_alloc(&r->arena, sizeof(*q));
	const char *gname = req_query(r, "granularity");
	struct sg_error err;
	size_t i;

	error_clear(&err);
	if (!q) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "out of memory, retry");
		return;
	}
	memset(q, 0, sizeof(*q));
	for (i = 0; gname && i < sizeof(grans) / sizeof(grans[0]); i++) {
		if (strcmp(gname, grans[i].name) == 0) {
			q->g = &grans[i];
		}
	}
	if (!q->g) {
		error_add(&err, "granularity", "must be hour, day or month");
	}
	parse_range(r, q, &err);
	parse_filter(r, q, &err);
	q->src = q->g;
	if (q->g && (strcmp(q->dim, "product") == 0 || strcmp(q->dim, "profile") == 0)) {
		q->src = &grans[0]; /* hours only: summed into days or months below */
	}
	if (!err.ndetails && (q->nkeys = count_keys(q)) > MAX_KEYS) {
		error_add(&err, "from", "range too long for this granularity (at most %d periods)",
			  MAX_KEYS);
	}
	if (err.ndetails) {
		snprintf(err.message, sizeof(err.message), "invalid analytics query");
		req_reply_error(r, &err);
		return;
	}
	if (send_keys(r, q) != 0) {
		q->failed = 1;
	}
	query_release(r, q); /* the hold send_keys took; answers if nothing is in flight */
}
