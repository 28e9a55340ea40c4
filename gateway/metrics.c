/* Prometheus counters: see metrics.h. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "router.h"

/* Status codes the gateway answers with; anything else counts as "other". */
static const int statuses[] = {200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 431, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1)

/* Upper bounds of the latency buckets, in microseconds. */
static const int64_t bounds_us[] = {100,    250,    500,     1000,    2500,   5000,
				    10000,  25000,  50000,   100000,  250000, 1000000};
#define NBUCKETS (sizeof(bounds_us) / sizeof(bounds_us[0]) + 1)

struct histogram {
	atomic_ulong buckets[NBUCKETS]; /* non-cumulative; the last is +Inf */
	atomic_ulong sum_us;
	atomic_ulong count;
};

static size_t nroutes;
static atomic_ulong *requests;      /* [(nroutes + 1) * NSTATUS] */
static struct histogram *latency;   /* [nroutes + 1] */
static struct histogram redis_rtt;
static atomic_ulong events_accepted;
static atomic_ulong events_duplicate;
static atomic_ulong ingest_calls;   /* script calls sent */
static atomic_ulong ingest_events;  /* events sent in them */

int
metrics_init(size_t n)
{
	nroutes = n;
	requests = calloc((n + 1) * NSTATUS, sizeof(*requests));
	latency = calloc(n + 1, sizeof(*latency));
	return requests && latency ? 0 : -1;
}

static size_t
status_slot(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS - 1; i++) {
		if (statuses[i] == status) {
			return i;
		}
	}
	return NSTATUS - 1;
}

static void
histogram_observe(struct histogram *h, int64_t usec)
{
	size_t i = 0;

	if (usec < 0) {
		usec = 0;
	}
	while (i < NBUCKETS - 1 && usec > bounds_us[i]) {
		i++;
	}
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (unsigned long)usec, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void
metrics_observe_request(int route_index, int status, int64_t usec)
{
	size_t route = route_index < 0 || (size_t)route_index >= nroutes ? nroutes
									  : (size_t)route_index;

	if (!requests) {
		return;
	}
	atomic_fetch_add_explicit(&requests[route * NSTATUS + status_slot(status)], 1,
				  memory_order_relaxed);
	histogram_observe(&latency[route], usec);
}

void
metrics_observe_redis(int64_t usec)
{
	histogram_observe(&redis_rtt, usec);
}

void
metrics_count_events(uint64_t accepted, uint64_t duplicates)
{
	atomic_fetch_add_explicit(&events_accepted, accepted, memory_order_relaxed);
	atomic_fetch_add_explicit(&events_duplicate, duplicates, memory_order_relaxed);
}

void
metrics_count_ingest_call(uint64_t events)
{
	atomic_fetch_add_explicit(&ingest_calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ingest_events, events, memory_order_relaxed);
}

/*
 * The route pattern as a label value, "{name}" written ":name" so label
 * values carry no braces ("/admin/v1/tenants/:tenant/keys").
 */
static const char *
route_label(size_t i, char *out, size_t outlen)
{
	const struct sg_route *rt = i < nroutes ? router_get(i) : NULL;
	const char *p;
	size_t n = 0;

	if (!rt) {
		return "unmatched";
	}
	for (p = rt->pattern; *p && n + 1 < outlen; p++) {
		if (*p == '{') {
			out[n++] = ':';
		} else if (*p != '}') {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return out;
}

static void
render_histogram(struct sg_buf *out, const char *name, const char *labels,
		 const struct histogram *h)
{
	unsigned long cum = 0;
	size_t i;
	const char *sep = labels[0] ? "," : "";

	for (i = 0; i < NBUCKETS; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		if (i < NBUCKETS - 1) {
			buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %lu\n", name, labels, sep,
				   (double)bounds_us[i] / 1e6, cum);
		} else {
			buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, labels, sep, cum);
		}
	}
	buf_printf(out, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "", labels,
		   labels[0] ? "}" : "",
		   (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
	buf_printf(out, "%s_count%s%s%s %lu\n", name, labels[0] ? "{" : "", labels,
		   labels[0] ? "}" : "", atomic_load_explicit(&h->count, memory_order_relaxed));
}

static void
render_requests(struct sg_buf *out)
{
	size_t route, s;
	char labels[256], name[200];

	buf_printf(out, "# HELP salesgate_http_requests_total HTTP requests answered.\n"
			"# TYPE salesgate_http_requests_total counter\n");
	for (route = 0; route <= nroutes; route++) {
		for (s = 0; s < NSTATUS; s++) {
			unsigned long v = atomic_load_explicit(&requests[route * NSTATUS + s],
							       memory_order_relaxed);
			if (!v) {
				continue;
			}
			if (s < NSTATUS - 1) {
				buf_printf(out,
					   "salesgate_http_requests_total{route=\"%s\",status=\"%d\"} "
					   "%lu\n",
					   route_label(route, name, sizeof(name)), statuses[s], v);
			} else {
				buf_printf(out,
					   "salesgate_http_requests_total{route=\"%s\",status=\"other\"}"
					   " %lu\n",
					   route_label(route, name, sizeof(name)), v);
			}
		}
	}
	buf_printf(out, "# HELP salesgate_http_request_duration_seconds Request latency.\n"
			"# TYPE salesgate_http_request_duration_seconds histogram\n");
	for (route = 0; route <= nroutes; route++) {
		if (!atomic_load_explicit(&latency[route].count, memory_order_relaxed)) {
			continue;
		}
		snprintf(labels, sizeof(labels), "route=\"%s\"",
			 route_label(route, name, sizeof(name)));
		render_histogram(out, "salesgate_http_request_duration_seconds", labels,
				 &latency[route]);
	}
}

void
metrics_render(struct sg_buf *out)
{
	if (!requests) {
		return;
	}
	render_requests(out);
	buf_printf(out, "# HELP salesgate_redis_roundtrip_seconds Redis command round trips.\n"
			"# TYPE salesgate_redis_roundtrip_seconds histogram\n");
	render_histogram(out, "salesgate_redis_roundtrip_seconds", "", &redis_rtt);
	buf_printf(out,
		   "# HELP salesgate_events_accepted_total Events newly stored.\n"
		   "# TYPE salesgate_events_accepted_total counter\n"
		   "salesgate_events_accepted_total %lu\n"
		   "# HELP salesgate_events_duplicate_total Events recognised as already stored.\n"
		   "# TYPE salesgate_events_duplicate_total counter\n"
		   "salesgate_events_duplicate_total %lu\n",
		   atomic_load_explicit(&events_accepted, memory_order_relaxed),
		   atomic_load_explicit(&events_duplicate, memory_order_relaxed));
	/* events / calls: how well single events are coalesced and batches filled */
	buf_printf(out,
		   "# HELP salesgate_ingest_calls_total Ingest script calls sent to Redis.\n"
		   "# TYPE salesgate_ingest_calls_total counter\n"
		   "salesgate_ingest_calls_total %lu\n"
		   "# HELP salesgate_ingest_events_total Events sent in ingest script calls.\n"
		   "# TYPE salesgate_ingest_events_total counter\n"
		   "salesgate_ingest_events_total %lu\n",
		   atomic_load_explicit(&ingest_calls, memory_order_relaxed),
		   atomic_load_explicit(&ingest_events, memory_order_relaxed));
}
