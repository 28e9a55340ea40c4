/*
 * Process-wide counters for /metrics (Prometheus text): requests by route
 * and status, request latency and Redis round-trip histograms, events and
 * ingest script calls (events per call shows the coalescing). Lock-free
 * (relaxed atomics); every gateway thread records into the same tables.
 */
#ifndef SALESGATE_GATEWAY_METRICS_H
#define SALESGATE_GATEWAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct sg_buf;

/* Sizes the tables for nroutes routes (+1 "unmatched"). Returns 0 or -1. */
int metrics_init(size_t nroutes);

/* Counts one answered request. route_index -1 means unmatched. */
void metrics_observe_request(int route_index, int status, int64_t usec);

/* Observes one Redis round trip. */
void metrics_observe_redis(int64_t usec);

/* Counts events accepted (newly stored) and duplicates recognised. */
void metrics_count_events(uint64_t accepted, uint64_t duplicates);

/* Counts one ingest script call sent with this many events. */
void metrics_count_ingest_call(uint64_t events);

/* Appends the Prometheus text of every counter to out. */
void metrics_render(struct sg_buf *out);

#endif
