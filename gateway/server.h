/* The HTTP server: libevhtp set-up, request lifecycle hooks and dispatch. */
#ifndef SALESGATE_GATEWAY_SERVER_H
#define SALESGATE_GATEWAY_SERVER_H

struct event_base;
struct sg_gateway;
struct sg_server;

/*
 * Creates the server on base (accepting thread), starts gw->threads loop
 * threads each with its own Redis client, and binds the listen address.
 * Returns NULL (logged) on failure.
 */
struct sg_server *server_start(struct sg_gateway *gw, struct event_base *base);

/* Stops accepting new connections (in-flight requests continue). */
void server_stop_accepting(struct sg_server *s);

/* Stops the loop threads. Call after in-flight requests are answered. */
void server_stop(struct sg_server *s);

#endif
