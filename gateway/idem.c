/* In-flight idempotency keys: see idem.h. A chained hash set under a mutex. */
#include "idem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

struct node {
	struct node *next;
	char key[]; /* tenant "\x1f" key */
};

struct sg_idem_inflight {
	pthread_mutex_t lock;            /* one set for every loop thread of the gateway */
	struct node *buckets[NBUCKETS];
};

static uint32_t
fnv1a(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (; *a; a++) {
		h = (h ^ (unsigned char)*a) * 16777619u;
	}
	h = (h ^ 0x1f) * 16777619u;
	for (; *b; b++) {
		h = (h ^ (unsigned char)*b) * 16777619u;
	}
	return h;
}

static int
node_is(const struct node *n, const char *tenant, const char *key)
{
	size_t tl = strlen(tenant);

	return strncmp(n->key, tenant, tl) == 0 && n->key[tl] == 0x1f &&
	       strcmp(n->key + tl + 1, key) == 0;
}

struct sg_idem_inflight *
idem_inflight_create(void)
{
	struct sg_idem_inflight *s = calloc(1, sizeof(*s));

	if (s && pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void
idem_inflight_destroy(struct sg_idem_inflight *s)
{
	size_t i;

	if (!s) {
		return;
	}
	for (i = 0; i < NBUCKETS; i++) {
		struct node *n = s->buckets[i];
		while (n) {
			struct node *next = n->next;
			free(n);
			n = next;
		}
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int
idem_inflight_add(struct sg_idem_inflight *s, const char *tenant, const char *key)
{
	uint32_t b = fnv1a(tenant, key) % NBUCKETS;
	size_t tl = strlen(tenant), kl = strlen(key);
	struct node *n;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	for (n = s->buckets[b]; n; n = n->next) {
		if (node_is(n, tenant, key)) {
			rc = 1;
			goto done;
		}
	}
	n = malloc(sizeof(*n) + tl + kl + 2);
	if (!n) {
		rc = -1;
		goto done;
	}
	memcpy(n->key, tenant, tl);
	n->key[tl] = 0x1f;
	memcpy(n->key + tl + 1, key, kl + 1);
	n->next = s->buckets[b];
	s->buckets[b] = n;
done:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
idem_inflight_remove(struct sg_idem_inflight *s, const char *tenant, const char *key)
{
	struct node **pp = &s->buckets[fnv1a(tenant, key) % NBUCKETS];

	pthread_mutex_lock(&s->lock);
	for (; *pp; pp = &(*pp)->next) {
		if (node_is(*pp, tenant, key)) {
			struct node *dead = *pp;
			*pp = dead->next;
			free(dead);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}
