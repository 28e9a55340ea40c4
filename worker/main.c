/* salesgate-worker: flags, signals, and one worker or a pre-forked pool. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "merge.h"
#include "supervisor.h"
#include "worker.h"

/*
 * --batch N: entries per XREADGROUP, shared by the streams (at least 64
 * each): several merged units per read, so Redis runs one while the worker
 * merges the next.
 * --apply-batch N: up to N consecutive non-UPSERT events of one stream are
 * merged into one unit (worker/merge.h, batch_merged.c), each key+field sent
 * once. The larger the unit, the fewer ops per event (its events share
 * hours, days, stores, products, profiles). 1 applies every event with its
 * own EVALSHA (the behaviour before merging; for comparison).
 * --apply-max-ops N: one script run carries at most ~N ops, so it never
 * holds Redis long (~2-3 us per op on big hashes: 3000 ops ~ 8 ms). A unit
 * with more ops is staged and applied in chunks (worker/journal.c).
 * Measured by bench/run (isolated drain, pool of 2, 2 cores): 11.4k
 * events/s, Redis 74 us/event, with 256 / 256 / 20000 and Redis' default
 * hash listpack limit; 24.4k/s, 35 us/event, with these defaults and
 * deploy/redis.conf. With a live stream (reads of tens of events) units are
 * small and a run stays a few ms.
 */
#define DEFAULT_BATCH 8192
#define DEFAULT_APPLY_BATCH 2048
#define DEFAULT_APPLY_MAX_OPS 3000
#define MAX_APPLY_BATCH 100000
#define MIN_APPLY_MAX_OPS 100
#define MAX_APPLY_MAX_OPS 10000000
#define DEFAULT_BLOCK_MS 1000
#define DEFAULT_LINGER_MS 100 /* worker.c linger(): the events of 0.1 s merged together */
#define DEFAULT_CLAIM_IDLE_MS 30000
#define DEFAULT_MAX_DELIVERIES 5
#define MAX_PROCESSES 256

/* Options of the whole command. */
struct cli {
	struct sg_worker_opts worker; /* options of every worker */
	int processes;                /* 1: run in this process; N > 1: pre-fork N */
};

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: salesgate-worker [options]\n"
	    "  --redis HOST:PORT       Redis address (default 127.0.0.1:6379)\n"
	    "  --processes N           worker processes; N > 1 pre-forks N children (default 1)\n"
	    "  --consumer NAME         consumer name (default hostname-pid; child i: NAME-i)\n"
	    "  --batch N               entries per XREADGROUP, shared by the streams\n"
	    "                          (64 or more; at least 64 per stream; default %d)\n"
	    "  --apply-batch N         events of a stream merged into one unit of ops;\n"
	    "                          1 = one script run per event (default %d)\n"
	    "  --apply-max-ops N       ops per script run at most: a larger unit is\n"
	    "                          staged and applied in chunks (default %d)\n"
	    "  --block-ms N            XREADGROUP BLOCK time (default %d)\n"
	    "  --linger-ms N           while reads come back short, read at most every\n"
	    "                          N ms: larger units, less Redis per event; 0 = off\n"
	    "                          (default %d)\n"
	    "  --claim-idle-ms N       reclaim entries pending this long (default %d)\n"
	    "  --max-deliveries N      dead-letter an entry delivered N times (default %d)\n"
	    "  --help                  this text\n",
	    DEFAULT_BATCH, DEFAULT_APPLY_BATCH, DEFAULT_APPLY_MAX_OPS, DEFAULT_BLOCK_MS,
	    DEFAULT_LINGER_MS, DEFAULT_CLAIM_IDLE_MS, DEFAULT_MAX_DELIVERIES);
}

/* Parses a decimal int in [min, max]. Returns 0 or -1. */
static int
parse_int(const char *s, int min, int max, int *out)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		return -1;
	}
	*out = (int)v;
	return 0;
}

static void
cli_defaults(struct cli *c)
{
	char host[64] = "worker";

	memset(c, 0, sizeof(*c));
	strcpy(c->worker.host, "127.0.0.1");
	c->worker.port = 6379;
	c->worker.batch = DEFAULT_BATCH;
	c->worker.apply_batch = DEFAULT_APPLY_BATCH;
	c->worker.apply_max_ops = DEFAULT_APPLY_MAX_OPS;
	c->worker.block_ms = DEFAULT_BLOCK_MS;
	c->worker.linger_ms = DEFAULT_LINGER_MS;
	c->worker.claim_idle_ms = DEFAULT_CLAIM_IDLE_MS;
	c->worker.max_deliveries = DEFAULT_MAX_DELIVERIES;
	c->processes = 1;
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(c->worker.consumer, sizeof(c->worker.consumer), "%s-%ld", host, (long)getpid());
}

/* Applies one option. Returns 0, or -1 when its value is bad. */
static int
cli_option(struct cli *c, int opt, const char *v)
{
	struct sg_worker_opts *o = &c->worker;

	switch (opt) {
	case 'r':
		return config_parse_hostport(v, o->host, sizeof(o->host), &o->port);
	case 'p':
		return parse_int(v, 1, MAX_PROCESSES, &c->processes);
	case 'c':
		if (*v == '\0' || strlen(v) > SG_WORKER_CONSUMER_MAX - 4) {
			return -1;
		}
		strcpy(o->consumer, v);
		return 0;
	case 'b':
		return parse_int(v, 64, 100000, &o->batch);
	case 'a':
		return parse_int(v, 1, MAX_APPLY_BATCH, &o->apply_batch);
	case 'o':
		return parse_int(v, MIN_APPLY_MAX_OPS, MAX_APPLY_MAX_OPS, &o->apply_max_ops);
	case 'k':
		return parse_int(v, 1, 600000, &o->block_ms);
	case 'l':
		return parse_int(v, 0, 10000, &o->linger_ms);
	case 'i':
		return parse_int(v, 1, INT_MAX / 2, &o->claim_idle_ms);
	case 'd':
		return parse_int(v, 1, 1000000, &o->max_deliveries);
	}
	return -1;
}

/* Parses argv. Returns -1 to run, or an exit status. */
static int
cli_parse(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"redis", required_argument, NULL, 'r'},
	    {"processes", required_argument, NULL, 'p'},
	    {"consumer", required_argument, NULL, 'c'},
	    {"batch", required_argument, NULL, 'b'},
	    {"apply-batch", required_argument, NULL, 'a'},
	    {"apply-max-ops", required_argument, NULL, 'o'},
	    {"block-ms", required_argument, NULL, 'k'},
	    {"linger-ms", required_argument, NULL, 'l'},
	    {"claim-idle-ms", required_argument, NULL, 'i'},
	    {"max-deliveries", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt = 0;
	int li = 0;

	cli_defaults(c);
	while ((opt = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == '?' || cli_option(c, opt, optarg) < 0) {
			if (opt != '?') {
				fprintf(stderr, "salesgate-worker: bad value for --%s: %s\n",
				        longopts[li].name, optarg);
			}
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "salesgate-worker: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

static void
install_stop_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Body of pre-forked child i: consumer NAME-i. */
static int
child_main(int index, void *arg)
{
	struct sg_worker_opts opts = ((const struct cli *)arg)->worker;
	char name[SG_WORKER_CONSUMER_MAX + 1];

	snprintf(name, sizeof(name), "%.*s-%d", SG_WORKER_CONSUMER_MAX - 8, opts.consumer, index);
	strcpy(opts.consumer, name);
	install_stop_handlers();
	return worker_run(&opts, &stop_requested);
}

int
main(int argc, char **argv)
{
	struct cli c;
	int rc = cli_parse(&c, argc, argv);

	if (rc >= 0) {
		return rc;
	}
	log_init("worker", SG_LOG_INFO);
	if (c.processes > 1) {
		signal(SIGPIPE, SIG_IGN);
		return supervisor_run(c.processes, child_main, &c);
	}
	install_stop_handlers();
	return worker_run(&c.worker, &stop_requested);
}
