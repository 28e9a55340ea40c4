/*
 * One worker process: consumes every tenant stream in consumer group
 * SG_GROUP, applies each event exactly once with apply.lua, acknowledges
 * it, reclaims the entries of dead consumers, dead-letters poison entries
 * and trims the streams below what the groups still need.
 */
#ifndef SALESGATE_WORKER_WORKER_H
#define SALESGATE_WORKER_WORKER_H

#include <signal.h>

#define SG_WORKER_CONSUMER_MAX 128 /* longest consumer name, NUL excluded */

/* Options of a worker process (main.c fills them from the flags). */
struct sg_worker_opts {
	char host[256];                            /* Redis host */
	int port;                                  /* Redis port */
	char consumer[SG_WORKER_CONSUMER_MAX + 1]; /* consumer name in the group */
	int batch;                                 /* XREADGROUP COUNT */
	int apply_batch;                           /* events per merged EVALSHA; 1: one by one */
	int apply_max_ops;                         /* ops per merged EVALSHA at most (about) */
	int block_ms;                              /* XREADGROUP BLOCK */
	int linger_ms;                             /* reads at most this often while they come back small */
	int claim_idle_ms;                         /* pending idle time before reclaim */
	int max_deliveries;                        /* dead-letter at this delivery count */
};

/*
 * Runs the consumer loop until *stop is set (signal handler), finishing the
 * batch in hand first. Redis failures never end it: it reconnects with
 * back-off. opts is borrowed. Returns 0 (the exit status).
 */
int worker_run(const struct sg_worker_opts *opts, volatile sig_atomic_t *stop);

#endif
