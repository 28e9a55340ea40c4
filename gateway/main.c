/*
 * salesgate-gateway: the HTTP front of salesgate. Parses the vendor
 * dialects, validates, and enqueues canonical events to Redis Streams in
 * script calls of up to 50 events; answers reads from what the workers
 * aggregate.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gateway.h"
#include "jsonv.h"
#include "log.h"
#include "server.h"
#include "timeutil.h"

#define DRAIN_LIMIT_MS 10000

static struct sg_gateway config;
static struct sg_server *server;
static struct event *drain_ev;
static int64_t drain_started_ms;

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: salesgate-gateway [options]\n"
		"  --listen HOST:PORT    address to serve HTTP on (default 127.0.0.1:8080)\n"
		"  --redis HOST:PORT     Redis server (default 127.0.0.1:6379)\n"
		"  --threads N           event-loop threads, one Redis connection each (default 2)\n"
		"  --max-body BYTES      largest request body; larger gets 413 (default 1048576)\n"
		"  --redis-timeout-ms N  deadline of one Redis command (default 5000)\n"
		"  --help                this text\n"
		"environment:\n"
		"  SALESGATE_ADMIN_TOKEN enables the admin API (/admin/v1/...) with this bearer "
		"token\n"
		"  SALESGATE_LOG_LEVEL   debug, info (default), warn or error\n");
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || *end || *out < min || *out > max ? -1 : 0;
}

static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"redis", required_argument, NULL, 'r'},
		{"threads", required_argument, NULL, 't'},
		{"max-body", required_argument, NULL, 'b'},
		{"redis-timeout-ms", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (config_parse_hostport(optarg, config.listen_host, sizeof(config.listen_host),
					   &config.listen_port) != 0) {
				fprintf(stderr, "--listen: expected HOST:PORT\n");
				return -1;
			}
			break;
		case 'r':
			if (config_parse_hostport(optarg, config.redis_host, sizeof(config.redis_host),
					   &config.redis_port) != 0) {
				fprintf(stderr, "--redis: expected HOST:PORT\n");
				return -1;
			}
			break;
		case 't':
			if (parse_long(optarg, 1, 64, &v) != 0) {
				fprintf(stderr, "--threads: expected 1..64\n");
				return -1;
			}
			config.threads = (int)v;
			break;
		case 'b':
			if (parse_long(optarg, 1024, 1L << 30, &v) != 0) {
				fprintf(stderr, "--max-body: expected 1024..1073741824\n");
				return -1;
			}
			config.max_body = (uint64_t)v;
			break;
		case 'T':
			if (parse_long(optarg, 100, 600000, &v) != 0) {
				fprintf(stderr, "--redis-timeout-ms: expected 100..600000\n");
				return -1;
			}
			config.redis_timeout_ms = (int)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument: %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int
init_log(void)
{
	const char *lvl = getenv("SALESGATE_LOG_LEVEL");
	enum sg_log_level level = SG_LOG_INFO;

	if (lvl && log_level_parse(lvl, &level) != 0) {
		fprintf(stderr, "SALESGATE_LOG_LEVEL: expected debug, info, warn or error\n");
		return -1;
	}
	log_init("gateway", level);
	jsonv_use_arenas();
	return 0;
}

static void
set_defaults(void)
{
	const char *token = getenv("SALESGATE_ADMIN_TOKEN");

	strcpy(config.listen_host, "127.0.0.1");
	config.listen_port = 8080;
	strcpy(config.redis_host, "127.0.0.1");
	config.redis_port = 6379;
	config.threads = 2;
	config.max_body = 1048576;
	config.redis_timeout_ms = 5000;
	config.admin_token = token && token[0] ? token : NULL;
}

/* Polls until every in-flight request is answered (or the limit passes). */
static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	long left = atomic_load(&config.inflight);

	(void)fd;
	(void)what;
	if (left > 0 && time_now_ms() - drain_started_ms < DRAIN_LIMIT_MS) {
		return;
	}
	if (left > 0) {
		log_event(SG_LOG_WARN, "drain limit reached", NULL);
	}
	event_del(drain_ev);
	event_base_loopexit(base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;
	struct timeval tv = {0, 20000};

	(void)what;
	if (atomic_exchange(&config.draining, 1)) {
		return;
	}
	log_event(SG_LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "TERM" : "INT", NULL);
	server_stop_accepting(server);
	drain_started_ms = time_now_ms();
	drain_ev = event_new(base, -1, EV_PERSIST, drain_cb, base);
	event_add(drain_ev, &tv);
}

int
main(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct event *term = NULL, *intr = NULL;
	sigset_t block;
	char port[16];
	int rc = 1;

	set_defaults();
	if (parse_args(argc, argv) != 0) {
		return 2;
	}
	if (init_log() != 0) {
		return 2;
	}
	gateway_config = &config;
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	/* loop threads inherit a mask without TERM/INT: only main handles them */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	base = event_base_new();
	if (!base || !(server = server_start(&config, base))) {
		log_event(SG_LOG_ERROR, "start-up failed", NULL);
		goto done;
	}
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
	term = evsignal_new(base, SIGTERM, signal_cb, base);
	intr = evsignal_new(base, SIGINT, signal_cb, base);
	event_add(term, NULL);
	event_add(intr, NULL);
	snprintf(port, sizeof(port), "%d", config.listen_port);
	log_event(SG_LOG_INFO, "listening", "host", config.listen_host, "port", port, NULL);
	event_base_dispatch(base);
	server_stop(server);
	log_event(SG_LOG_INFO, "stopped", NULL);
	rc = 0;
done:
	if (term) {
		event_free(term);
	}
	if (intr) {
		event_free(intr);
	}
	if (drain_ev) {
		event_free(drain_ev);
	}
	return rc;
}
