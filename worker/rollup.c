/* Table-driven rollups: granularities x dimensions x measures. */
#include "rollup.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "event.h"
#include "keys.h"
#include "plan.h"
#include "timeutil.h"

#define MS_PER_HOUR INT64_C(3600000)
#define MS_PER_DAY INT64_C(86400000)

/* UTC civil time of an instant, what bucket and period names are made of. */
struct civil {
	int64_t y;  /* year */
	unsigned m; /* month 1-12 */
	unsigned d; /* day 1-31 */
	unsigned h; /* hour 0-23 */
};

/* A rollup granularity: its key letter and how it names bucket and period. */
struct granularity {
	const char *name; /* "h" | "d" | "m" (key part <g>) */
	void (*name_of)(const struct civil *c, char *bucket, char *period); /* 32 bytes each */
};

/* A rollup dimension: the <dim>:<val> part of the key. */
struct dimension {
	const char *name; /* key part <dim> */
	int per_line;     /* 1: one value per line (line passed), 0: per event (line NULL) */
	unsigned grans;   /* granularities kept (bit i = granularities[i]) */
	const char *(*value)(const struct sg_event *ev,
	                     const struct sg_line *line); /* NULL: skip */
};

/* A rollup measure: the <measure> part of the field and its delta. */
struct measure {
	const char *name; /* field part <measure> */
	int once;         /* counts the event once per dimension value, not once per line */
	int64_t (*delta)(const struct sg_event *ev,
	                 const struct sg_line *line); /* line may be NULL */
};

static void
gran_hour(const struct civil *c, char *bucket, char *period)
{
	snprintf(bucket, 32, "%04" PRId64 "%02u%02u%02u", c->y, c->m, c->d, c->h);
	snprintf(period, 32, "%04" PRId64 "%02u", c->y, c->m);
}

static void
gran_day(const struct civil *c, char *bucket, char *period)
{
	snprintf(bucket, 32, "%04" PRId64 "%02u%02u", c->y, c->m, c->d);
	snprintf(period, 32, "%04" PRId64, c->y);
}

static void
gran_month(const struct civil *c, char *bucket, char *period)
{
	snprintf(bucket, 32, "%04" PRId64 "%02u", c->y, c->m);
	snprintf(period, 32, "all");
}

static const struct granularity granularities[] = {
    {"h", gran_hour},
    {"d", gran_day},
    {"m", gran_month},
};

static const char *
dim_all(const struct sg_event *ev, const struct sg_line *line)
{
	(void)ev;
	(void)line;
	return "-";
}

static const char *
dim_store(const struct sg_event *ev, const struct sg_line *line)
{
	(void)line;
	return ev->store_id;
}

static const char *
dim_profile(const struct sg_event *ev, const struct sg_line *line)
{
	(void)line;
	return ev->profile_id;
}

static const char *
dim_product(const struct sg_event *ev, const struct sg_line *line)
{
	(void)ev;
	return line->has_product ? line->product.product_id : NULL;
}

#define GRAN_HOUR 1u
#define GRAN_ALL 7u

/*
 * Dimensions with few values (all, store) keep every granularity: their
 * cells merge across the events of a batch and cost little. Dimensions
 * with many values (profile, product) keep hours only, a third of the
 * writes on the hottest path; the gateway sums hours into days and months
 * when it reads them (gateway/analytics.c).
 */
static const struct dimension dimensions[] = {
    {"all", 0, GRAN_ALL, dim_all},
    {"store", 0, GRAN_ALL, dim_store},
    {"profile", 0, GRAN_HOUR, dim_profile},
    {"product", 1, GRAN_HOUR, dim_product},
};

static int64_t
sat_add(int64_t a, int64_t b)
{
	int64_t r = 0;

	if (__builtin_add_overflow(a, b, &r)) {
		return b > 0 ? INT64_MAX : INT64_MIN;
	}
	return r;
}

/* |v|, saturating: refunds count as positive whatever sign the sender used. */
static int64_t
abs64(int64_t v)
{
	return v >= 0 ? v : (v == INT64_MIN ? INT64_MAX : -v);
}

int
rollup_kind_sign(const struct sg_event *ev)
{
	switch (ev->kind) {
	case SG_KIND_PURCHASE:
	case SG_KIND_UPSERT:
		return 1;
	case SG_KIND_RETURN:
	case SG_KIND_REVERSAL:
		return -1;
	}
	return 0;
}

int64_t
rollup_event_amount(const struct sg_event *ev)
{
	int64_t sum = 0;

	if (ev->present & SG_HAS_TOTAL) {
		return ev->total;
	}
	for (size_t i = 0; i < ev->nlines; i++) {
		sum = sat_add(sum, ev->lines[i].total);
	}
	return sum;
}

const char *
rollup_currency(const struct sg_event *ev)
{
	return ev->currency[0] != '\0' ? ev->currency : "XXX";
}

/* The amount the measures see: the line's total, or the event's. */
static int64_t
amount_of(const struct sg_event *ev, const struct sg_line *line)
{
	return line ? line->total : rollup_event_amount(ev);
}

/* Net units of one line: as sent for a sale, minus |quantity| for a refund. */
static int64_t
line_units(const struct sg_event *ev, const struct sg_line *line)
{
	int sign = rollup_kind_sign(ev);

	return sign > 0 ? line->quantity_milli : (sign < 0 ? -abs64(line->quantity_milli) : 0);
}

static int64_t
m_gross(const struct sg_event *ev, const struct sg_line *line)
{
	return rollup_kind_sign(ev) > 0 ? amount_of(ev, line) : 0;
}

static int64_t
m_returns(const struct sg_event *ev, const struct sg_line *line)
{
	return rollup_kind_sign(ev) < 0 ? abs64(amount_of(ev, line)) : 0;
}

static int64_t
m_net(const struct sg_event *ev, const struct sg_line *line)
{
	return m_gross(ev, line) - m_returns(ev, line);
}

static int64_t
m_transactions(const struct sg_event *ev, const struct sg_line *line)
{
	(void)line;
	return rollup_kind_sign(ev) > 0;
}

static int64_t
m_return_count(const struct sg_event *ev, const struct sg_line *line)
{
	(void)line;
	return rollup_kind_sign(ev) < 0;
}

static int64_t
m_units(const struct sg_event *ev, const struct sg_line *line)
{
	int64_t sum = 0;

	if (line != NULL) {
		return line_units(ev, line);
	}
	for (size_t i = 0; i < ev->nlines; i++) {
		sum = sat_add(sum, line_units(ev, &ev->lines[i]));
	}
	return sum;
}

int64_t
rollup_event_net(const struct sg_event *ev)
{
	return m_net(ev, NULL);
}

/* Net (g - r) is derived when read, not written: one write less per cell. */
static const struct measure measures[] = {
    {"g", 0, m_gross},         /* sales amount */
    {"r", 0, m_returns},       /* refunded amount, positive */
    {"t", 1, m_transactions},  /* sale events */
    {"rc", 1, m_return_count}, /* refund events */
    {"u", 0, m_units},         /* net units, 1/1000 */
};

#define NGRAN (sizeof(granularities) / sizeof(granularities[0]))
#define NDIM (sizeof(dimensions) / sizeof(dimensions[0]))
#define NMEASURE (sizeof(measures) / sizeof(measures[0]))

/* Bucket and period names of every granularity for one instant. */
struct buckets {
	char bucket[NGRAN][32]; /* per granularity */
	char period[NGRAN][32]; /* per granularity */
};

static void
buckets_of(int64_t ms, struct buckets *b)
{
	int64_t days = ms / MS_PER_DAY;
	struct civil c = {0, 0, 0, 0};

	if (ms % MS_PER_DAY < 0) {
		days--; /* floor: instants before 1970 */
	}
	time_civil_from_days(days, &c.y, &c.m, &c.d);
	c.h = (unsigned)((ms - days * MS_PER_DAY) / MS_PER_HOUR);
	for (size_t g = 0; g < NGRAN; g++) {
		granularities[g].name_of(&c, b->bucket[g], b->period[g]);
	}
}

/* Adds every measure of one (granularity, dimension, value) cell. */
/*
 * Writes the n parts joined by sep into out (outlen bytes, NUL-terminated).
 * Returns the length, or -1 when it does not fit. (snprintf was a fifth of
 * the worker's CPU: ~80 keys and fields per event.)
 */
static int
join(char *out, size_t outlen, char sep, const char *const *parts, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);

		if (len + l + (i > 0) >= outlen) {
			return -1;
		}
		if (i > 0) {
			out[len++] = sep;
		}
		memcpy(out + len, parts[i], l);
		len += l;
	}
	out[len] = '\0';
	return (int)len;
}

static int
rollup_cell(struct sg_plan *p, const struct sg_event *ev, const struct sg_line *line,
            const char *key, const char *bucket)
{
	char field[96];
	const char *parts[] = {bucket, rollup_currency(ev), ""};
	int existed = plan_key_find(p, key) >= 0;
	int k = plan_key(p, key);
	int rc = 0;

	for (size_t i = 0; i < NMEASURE && k >= 0 && rc == 0; i++) {
		if (measures[i].once && existed) {
			continue; /* an earlier line with the same value counted the event */
		}
		parts[2] = measures[i].name;
		rc = join(field, sizeof(field), '|', parts, 3) < 0
		         ? SG_ETOOLARGE
		         : plan_incr(p, k, field, measures[i].delta(ev, line));
	}
	return k < 0 ? k : rc;
}

/* Adds the cells of one dimension value over every granularity. */
static int
rollup_value(struct sg_plan *p, const struct sg_event *ev, const struct sg_line *line,
             const struct dimension *dim, const struct buckets *b)
{
	char key[SG_KEY_MAX];
	const char *val = dim->value(ev, line);
	const char *parts[] = {"r", "", dim->name, val, ""};
	int rc = 0;

	if (val == NULL || val[0] == '\0') {
		return 0;
	}
	for (size_t g = 0; g < NGRAN && rc == 0; g++) {
		if (!(dim->grans & (1u << g))) {
			continue;
		}
		parts[1] = granularities[g].name;
		parts[4] = b->period[g];
		if (join(key, sizeof(key), ':', parts, 5) < 0) {
			return SG_ETOOLARGE;
		}
		rc = rollup_cell(p, ev, line, key, b->bucket[g]);
	}
	return rc;
}

int
rollup_build(struct sg_plan *p, const struct sg_event *ev)
{
	struct buckets b;
	int rc = 0;

	if (rollup_kind_sign(ev) == 0) {
		return 0;
	}
	buckets_of(ev->occurred_ms, &b);
	for (size_t d = 0; d < NDIM && rc == 0; d++) {
		if (!dimensions[d].per_line) {
			rc = rollup_value(p, ev, NULL, &dimensions[d], &b);
			continue;
		}
		for (size_t i = 0; i < ev->nlines && rc == 0; i++) {
			rc = rollup_value(p, ev, &ev->lines[i], &dimensions[d], &b);
		}
	}
	return rc;
}
