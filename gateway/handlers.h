/* Route handlers that are not a dialect's own: health, metrics, admin, reads. */
#ifndef SALESGATE_GATEWAY_HANDLERS_H
#define SALESGATE_GATEWAY_HANDLERS_H

struct sg_req;

/* GET /healthz: the process is alive. */
void health_live(struct sg_req *r);

/* GET /readyz: Redis reachable with scripts loaded, and not draining. */
void health_ready(struct sg_req *r);

/* GET /metrics: Prometheus text. */
void metrics_get(struct sg_req *r);

/* POST /admin/v1/tenants */
void admin_tenant_create(struct sg_req *r);

/* POST /admin/v1/tenants/{tenant}/keys */
void admin_key_create(struct sg_req *r);

/* GET .../analytics/sales */
void analytics_sales_get(struct sg_req *r);

#endif
