/* The canonical sales event; see event.h. */
#include "event.h"

#include <string.h>

void
event_init(struct sg_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->version = SG_EVENT_VERSION;
}

const char *
event_kind_name(enum sg_event_kind kind)
{
	switch (kind) {
	case SG_KIND_PURCHASE:
		return "PURCHASE";
	case SG_KIND_RETURN:
		return "RETURN";
	case SG_KIND_REVERSAL:
		return "REVERSAL";
	case SG_KIND_UPSERT:
		return "UPSERT";
	}
	return "UNKNOWN";
}

const char *
event_dialect_name(enum sg_dialect d)
{
	switch (d) {
	case SG_DIALECT_NOTICIA:
		return "noticia";
	case SG_DIALECT_THALAMUS:
		return "thalamus";
	case SG_DIALECT_CUSTOBAR:
		return "custobar";
	case SG_DIALECT_PEAK:
		return "peak";
	case SG_DIALECT_NOMANINI:
		return "nomanini";
	case SG_DIALECT_NONE:
		break;
	}
	return "unknown";
}
