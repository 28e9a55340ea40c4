/*
 * Reference records of a tenant: stores (created by the sender, required by
 * sales), profiles (created by the sender or, light, by the worker) and
 * products (created by the worker from line items). Each is one Redis hash
 * keyed by its canonical id; references resolve with refs_resolve.
 */
#ifndef SALESGATE_GATEWAY_RECORDS_H
#define SALESGATE_GATEWAY_RECORDS_H

struct sg_req;

/* POST: {"external_id","name","timezone"?,"address"?,"geo":{"lat","lon"}?} -> 201 / 200. */
void records_store_upsert(struct sg_req *r);

/* GET {ref}: the store by external id or store_ id. */
void records_store_get(struct sg_req *r);

/* POST: {"external_id","email"?,"phone_number"?,"first_name"?,"last_name"?} -> 201/200/409. */
void records_profile_upsert(struct sg_req *r);

/* GET {ref}: the profile with its purchase stats. */
void records_profile_get(struct sg_req *r);

/* GET {ref}: the product with name, properties and first/last seen. */
void records_product_get(struct sg_req *r);

#endif
