/*
 * baseline-evhtp: the HTTP floor the gateway is measured against. A bare
 * libevhtp server set up exactly like the gateway's (same thread pool, same
 * flags, same backlog and idle timeouts) that reads the whole request body
 * and answers every request 201 with a small JSON body. It validates
 * nothing and talks to nothing: whatever the gateway costs above this is
 * parsing, validation, the Redis round trip and rendering.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <evhtp.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (1u << 20) /* bodies above this get 413, as in the gateway */

/* Options and the one counter the server keeps. */
struct baseline {
	char host[64];        /* address to listen on */
	int port;             /* port to listen on */
	int threads;          /* event-loop threads, like the gateway's --threads */
	atomic_ullong served; /* requests answered, reported at exit */
};

static struct baseline cfg = {"127.0.0.1", 8081, 2, 0};

/*
 * Copies the request body out of libevhtp's buffer, as the gateway does
 * before parsing it, and answers 201 with a JSON body sized like a short
 * acknowledgement. Replies on every path.
 */
static void
handle(evhtp_request_t *req, void *arg)
{
	static const char reply[] = "{\"id\":\"evt_00000000000000000000000000\","
				    "\"status\":\"created\"}";
	size_t len = evbuffer_get_length(req->buffer_in);
	char *body = NULL;

	(void)arg;
	if (len > BODY_MAX) {
		evhtp_send_reply(req, EVHTP_RES_DATA_TOO_LONG);
		return;
	}
	if (len > 0) {
		body = malloc(len);
		if (!body || evbuffer_remove(req->buffer_in, body, len) != (int)len) {
			free(body);
			evhtp_send_reply(req, EVHTP_RES_SERVERR);
			return;
		}
	}
	evhtp_headers_add_header(req->headers_out,
				 evhtp_header_new("Content-Type", "application/json", 0, 0));
	evbuffer_add(req->buffer_out, reply, sizeof(reply) - 1);
	evhtp_send_reply(req, EVHTP_RES_CREATED);
	atomic_fetch_add(&cfg.served, 1);
	free(body);
}

/* Splits "host:port" into cfg. Returns 0 or -1. */
static int
parse_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end = NULL;
	long p;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(cfg.host)) {
		return -1;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || p <= 0 || p > 65535) {
		return -1;
	}
	memcpy(cfg.host, s, (size_t)(colon - s));
	cfg.host[colon - s] = '\0';
	cfg.port = (int)p;
	return 0;
}

/* Parses argv into cfg. Returns 0, or -1 after printing the usage. */
static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"threads", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'l' && parse_listen(optarg) == 0) {
			continue;
		}
		if (c == 't' && (cfg.threads = atoi(optarg)) >= 1 && cfg.threads <= 64) {
			continue;
		}
		fprintf(stderr, "usage: baseline-evhtp [--listen HOST:PORT] [--threads N]\n");
		return -1;
	}
	return optind == argc ? 0 : -1;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* Sets up the server like gateway/server.c: same flags, timeouts, backlog. */
static evhtp_t *
server_new(struct event_base *base)
{
	struct timeval idle = {60, 0};
	char addr[96];
	evhtp_t *htp = evhtp_new(base, NULL);

	if (!htp) {
		return NULL;
	}
	evhtp_disable_flag(htp, EVHTP_FLAG_ENABLE_100_CONT);
	evhtp_enable_flag(htp, EVHTP_FLAG_ENABLE_NODELAY);
	evhtp_set_timeouts(htp, &idle, &idle);
	evhtp_set_gencb(htp, handle, NULL);
	snprintf(addr, sizeof(addr), "ipv4:%s", cfg.host);
	if (evhtp_use_threads_wexit(htp, NULL, NULL, cfg.threads, NULL) != 0 ||
	    evhtp_bind_socket(htp, addr, (uint16_t)cfg.port, 1024) != 0) {
		evhtp_free(htp);
		return NULL;
	}
	return htp;
}

int
main(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct event *term = NULL, *intr = NULL;
	evhtp_t *htp = NULL;
	int rc = 1;

	if (parse_args(argc, argv) != 0) {
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	base = event_base_new();
	if (!base || !(htp = server_new(base))) {
		fprintf(stderr, "baseline-evhtp: cannot listen on %s:%d\n", cfg.host, cfg.port);
		goto done;
	}
	term = evsignal_new(base, SIGTERM, on_signal, base);
	intr = evsignal_new(base, SIGINT, on_signal, base);
	event_add(term, NULL);
	event_add(intr, NULL);
	fprintf(stderr, "baseline-evhtp: listening on %s:%d, %d threads\n", cfg.host, cfg.port,
		cfg.threads);
	event_base_dispatch(base);
	fprintf(stderr, "baseline-evhtp: served %llu requests\n",
		(unsigned long long)atomic_load(&cfg.served));
	evhtp_unbind_socket(htp);
	evthr_pool_stop(htp->thr_pool);
	rc = 0;
done:
	if (term) {
		event_free(term);
	}
	if (intr) {
		event_free(intr);
	}
	if (base) {
		event_base_free(base);
	}
	return rc;
}
