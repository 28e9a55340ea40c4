/*
 * The canonical sales event: what every dialect parses into, what the
 * gateway stores in Redis (msgpack, see event_codec.h) and what the worker
 * applies. All strings and arrays live in the arena the event was built or
 * decoded in; an event is never freed on its own.
 *
 * Money is int64 minor units of `currency`; time is int64 epoch ms UTC plus
 * the original UTC offset in minutes; quantity is fixed point, 1/1000 unit.
 */
#ifndef SALESGATE_COMMON_EVENT_H
#define SALESGATE_COMMON_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define SG_EVENT_VERSION 1
#define SG_QTY_SCALE 1000 /* quantity_milli units per item */
#define SG_GEO_SCALE 10000000 /* lat_e7 / lon_e7 units per degree */

enum sg_dialect {
	SG_DIALECT_NONE = 0,
	SG_DIALECT_NOTICIA = 1,
	SG_DIALECT_THALAMUS = 2,
	SG_DIALECT_CUSTOBAR = 3,
	SG_DIALECT_PEAK = 4,
	SG_DIALECT_NOMANINI = 5,
};

enum sg_event_kind {
	SG_KIND_PURCHASE = 1,
	SG_KIND_RETURN = 2,
	SG_KIND_REVERSAL = 3, /* cancels an earlier sale (Nomanini is_reversed) */
	SG_KIND_UPSERT = 4,   /* replaces the record with the same upsert key */
};

enum sg_value_type {
	SG_VAL_STR = 1,
	SG_VAL_INT = 2,
	SG_VAL_REAL = 3, /* non-money numbers only (product attributes) */
	SG_VAL_BOOL = 4,
};

/* A scalar attribute (product property). */
struct sg_prop {
	const char *key;
	enum sg_value_type type;
	const char *s; /* SG_VAL_STR */
	int64_t i;     /* SG_VAL_INT, SG_VAL_BOOL (0/1) */
	double r;      /* SG_VAL_REAL */
};

/* A free-form field kept as JSON text (metadata, payments, loyalty, ...). */
struct sg_attr {
	const char *key;
	const char *json; /* compact JSON text of the value */
};

/* Bits of sg_line.present / sg_event.present for optional integers. */
enum sg_present {
	SG_HAS_UNIT_PRICE = 1 << 0,
	SG_HAS_DISCOUNT = 1 << 1,
	SG_HAS_TAX = 1 << 2,
	SG_HAS_SHIPPING = 1 << 3,
	SG_HAS_GEO = 1 << 4,
	SG_HAS_ORIG_TOTAL = 1 << 5,
	SG_HAS_TOTAL = 1 << 6,
	SG_HAS_COST = 1 << 7,
};

struct sg_product_ref {
	const char *product_id;  /* canonical prod_… (derived from external_id) */
	const char *external_id; /* the sender's SKU / product code */
	const char *sku;
	const char *ean;
	const char *name;
	struct sg_prop *props;
	size_t nprops;
};

struct sg_line {
	const char *external_id;
	int has_product;           /* product below is set */
	struct sg_product_ref product;
	int64_t quantity_milli;    /* signed fixed point, SG_QTY_SCALE per unit */
	int64_t unit_price;        /* SG_HAS_UNIT_PRICE */
	int64_t total;             /* line total, minor units */
	int64_t discount;          /* SG_HAS_DISCOUNT */
	int64_t tax;               /* SG_HAS_TAX */
	int64_t cost;              /* SG_HAS_COST: cost price (margin) */
	unsigned present;          /* enum sg_present bits */
	const char **tags;
	size_t ntags;
};

struct sg_event {
	int version;               /* SG_EVENT_VERSION */
	char id[40];               /* evt_… time-sortable */
	const char *tenant;
	enum sg_dialect dialect;
	enum sg_event_kind kind;
	const char *external_id;   /* dedupe key; NULL for none */
	const char *upsert_key;    /* SG_KIND_UPSERT: the record's composite key */
	int64_t occurred_ms;       /* UTC epoch ms */
	int32_t occurred_offset;   /* original offset, minutes east of UTC */
	int64_t received_ms;       /* UTC epoch ms the gateway accepted it */
	const char *store_id;      /* canonical store_… */
	const char *store_external_id;
	const char *device_id;
	const char *merchant_id;
	const char *profile_id;    /* canonical prof_… */
	const char *customer_external_id;
	const char *customer_email;
	const char *customer_phone;
	char currency[4];          /* ISO 4217, NUL-terminated */
	int64_t total;             /* SG_HAS_TOTAL: amount paid, minor units, >= 0 */
	int64_t discount;          /* SG_HAS_DISCOUNT */
	int64_t tax;               /* SG_HAS_TAX */
	int64_t shipping;          /* SG_HAS_SHIPPING */
	char orig_currency[4];     /* when converted; "" otherwise */
	int64_t orig_total;        /* SG_HAS_ORIG_TOTAL */
	const char *exchange_rate; /* decimal text, exact */
	const char *state;         /* free text state (e.g. "completed") */
	unsigned present;          /* enum sg_present bits */
	int64_t lat_e7;            /* SG_HAS_GEO */
	int64_t lon_e7;            /* SG_HAS_GEO */
	const char *voucher_id;
	const char *voucher_serial;
	const char *source;        /* sending system ("Cegid POS v3") */
	struct sg_line *lines;
	size_t nlines;
	struct sg_attr *custom;    /* free-form fields */
	size_t ncustom;
};

/* Zeroes ev and sets its version. */
void event_init(struct sg_event *ev);

/* Name of a kind ("PURCHASE", "RETURN", ...) or "UNKNOWN". */
const char *event_kind_name(enum sg_event_kind kind);

/* Name of a dialect ("noticia", ...) or "unknown". */
const char *event_dialect_name(enum sg_dialect d);

#endif
