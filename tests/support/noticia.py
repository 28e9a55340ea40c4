"""
Noticia dialect helpers for the integration tests: fixtures, event builders
and a Ledger that computes the analytics the gateway must answer from the
events it accepted. Standard library only.
"""

import copy
import datetime as dt
import json
import os
import random

from harness import ROOT, rand_id

DATA = os.path.join(ROOT, "tests", "data", "noticia")

UTC = dt.timezone.utc


def fixture(name):
    """A deep copy of tests/data/noticia/<name>.json."""
    with open(os.path.join(DATA, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def parse_time(s):
    """RFC 3339 text to an aware datetime (Python 3.11 reads 'Z' and offsets)."""
    return dt.datetime.fromisoformat(s)


def event(store, type="PURCHASE", external_id=None, occurred_at="2026-04-25T14:32:00+02:00",
          currency="EUR", lines=None, discount=0, profile=None, **extra):
    """
    A valid Noticia sales event. lines: list of (sku or None, quantity,
    line_total_cents). total_amount_cents = Σ line totals − discount.
    """
    lines = lines if lines is not None else [("SKU-" + rand_id(5), 1, 1000)]
    items = []
    for i, (sku, qty, total) in enumerate(lines):
        it = {"external_id": "LINE-%03d" % (i + 1), "quantity": qty, "total_price_cents": total}
        if qty and total % qty == 0:
            it["unit_price_cents"] = total // qty
        if sku:
            it["product"] = {"external_id": sku, "name": "Product " + sku}
        items.append(it)
    ev = {
        "type": type,
        "occurred_at": occurred_at,
        "store_id": store,
        "currency": currency,
        "total_amount_cents": sum(t for _, _, t in lines) - discount,
        "total_discount_cents": discount,
        "line_items": items,
    }
    if external_id:
        ev["external_id"] = external_id
    if profile:
        ev["profile_id"] = profile
    ev.update(extra)
    return ev


GRAN = ("hour", "day", "month")


def bucket_start(t, gran):
    """UTC start of the bucket holding aware datetime t, as RFC 3339 'Z' text."""
    u = t.astimezone(UTC)
    if gran == "hour":
        b = u.replace(minute=0, second=0, microsecond=0)
    elif gran == "day":
        b = u.replace(hour=0, minute=0, second=0, microsecond=0)
    elif gran == "month":
        b = u.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        raise ValueError(gran)
    return b.strftime("%Y-%m-%dT%H:%M:%SZ")


class Ledger:
    """
    The accepted events (as sent, first acceptance wins) and the analytics
    they imply under the contract: gross = Σ total of PURCHASEs, returns = Σ
    total of RETURNs, net = gross − returns, transactions = # PURCHASEs,
    units = Σ PURCHASE line quantities − Σ RETURN line quantities. With a
    product filter the line totals / quantities of that product count, and
    transactions = # PURCHASEs containing it.
    """

    def __init__(self):
        self.events = []
        self.by_ext = {}

    def accept(self, ev):
        """Records an event the gateway answered 201 for."""
        ext = ev.get("external_id")
        if ext is not None:
            assert ext not in self.by_ext, "ledger: %s accepted twice" % ext
            self.by_ext[ext] = ev
        self.events.append(copy.deepcopy(ev))

    def buckets(self, gran, frm, to, store_id=None, product_id=None, profile_id=None):
        store, product, profile = store_id, product_id, profile_id
        lo, hi = parse_time(frm), parse_time(to)
        acc = {}
        for ev in self.events:
            t = parse_time(ev["occurred_at"])
            if not (lo <= t < hi):
                continue
            if store is not None and ev.get("store_id", ev.get("store")) != store:
                continue
            if profile is not None and ev.get("profile_id") != profile:
                continue
            lines = ev["line_items"]
            if product is not None:
                lines = [li for li in lines if (li.get("product") or {}).get("external_id") == product]
                if not lines:
                    continue
                amount = sum(li["total_price_cents"] for li in lines)
            else:
                amount = ev["total_amount_cents"]
            qty = sum(li["quantity"] for li in lines)
            key = (bucket_start(t, gran), ev["currency"])
            b = acc.setdefault(key, {"start": key[0], "currency": key[1], "gross_cents": 0,
                                     "returns_cents": 0, "net_cents": 0, "transactions": 0, "units": 0})
            if ev["type"] == "PURCHASE":
                b["gross_cents"] += amount
                b["transactions"] += 1
                b["units"] += qty
            else:
                b["returns_cents"] += amount
                b["units"] -= qty
            b["net_cents"] = b["gross_cents"] - b["returns_cents"]
        return [acc[k] for k in sorted(acc)]

    def profile_stats(self, profile):
        """orders, net spend per currency and first/last purchase instants of a profile."""
        orders, spend, times = 0, {}, []
        for ev in self.events:
            if ev.get("profile_id") != profile:
                continue
            sign = 1 if ev["type"] == "PURCHASE" else -1
            spend[ev["currency"]] = spend.get(ev["currency"], 0) + sign * ev["total_amount_cents"]
            if ev["type"] == "PURCHASE":
                orders += 1
                times.append(parse_time(ev["occurred_at"]))
        return {"orders": orders, "net_spend_cents": spend,
                "first": min(times) if times else None, "last": max(times) if times else None}


BUCKET_KEYS = ("start", "currency", "gross_cents", "returns_cents", "net_cents", "transactions", "units")


def normalize_buckets(body):
    """The contract's fields of each bucket of an analytics answer, in order."""
    out = []
    for b in body.get("buckets", []):
        out.append({k: b.get(k) for k in BUCKET_KEYS})
    return out


def analytics(api, gran, frm, to, **filters):
    """GET /v1/analytics/sales; returns the Response."""
    from harness import qs
    return api.get("/v1/analytics/sales?" + qs(granularity=gran, **{"from": frm, "to": to}, **filters))


class Workload:
    """
    A seeded random workload over several stores, products, profiles and
    days (crossing a month end and, through offsets, UTC day ends), both
    EUR and GBP, ~15 % returns, anonymous sales and service lines.
    """

    OFFSETS = ["+02:00", "+01:00", "Z", "-05:00", "+05:30", "+00:00", "-09:30"]

    def __init__(self, seed, stores, products, profiles, n=300,
                 days=("2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02", "2026-04-03"),
                 return_rate=0.15, prefix=None):
        self.rng = random.Random(seed)
        self.stores, self.products, self.profiles = stores, products, profiles
        self.days = days
        self.prefix = prefix or ("EX-" + rand_id(6))
        self.events = [self._one(i, return_rate) for i in range(n)]

    def _time(self):
        r = self.rng
        day = r.choice(self.days)
        if r.random() < 0.08:
            # exactly on a UTC bucket boundary
            return "%sT%02d:00:00Z" % (day, r.choice([0, 0, 13, 23]))
        off = r.choice(self.OFFSETS)
        frac = "" if r.random() < 0.8 else ".%03d" % r.randrange(1000)
        return "%sT%02d:%02d:%02d%s%s" % (day, r.randrange(24), r.randrange(60), r.randrange(60), frac, off)

    def _one(self, i, return_rate):
        r = self.rng
        lines = []
        for _ in range(r.choice([1, 1, 2, 2, 3])):
            sku = None if r.random() < 0.1 else r.choice(self.products)
            qty = r.randint(1, 4)
            lines.append((sku, qty, qty * r.choice([199, 450, 999, 1250, 2500, 4999])))
        gross = sum(t for _, _, t in lines)
        discount = 0 if r.random() < 0.7 else r.randrange(0, gross // 4 + 1)
        kind = "RETURN" if r.random() < return_rate else "PURCHASE"
        prof = r.choice(self.profiles + [None, None])
        ext = "%s-%05d" % (self.prefix, i) if r.random() < 0.95 else None
        return event(r.choice(self.stores), type=kind, external_id=ext, occurred_at=self._time(),
                     currency="EUR" if r.random() < 0.7 else "GBP", lines=lines, discount=discount,
                     profile=prof)

    def schedule(self, dup_rate=0.2, mutate_rate=0.25):
        """
        The send order: every event once, plus ~dup_rate re-sends of earlier
        events that carry an external_id; a quarter of those re-sends change
        the amounts (the first accepted version must win). Returns a list of
        (event, is_resend).
        """
        r = self.rng
        out, sent = [], []
        for ev in self.events:
            out.append((ev, False))
            if ev.get("external_id"):
                sent.append(ev)
            if sent and r.random() < dup_rate:
                again = copy.deepcopy(r.choice(sent))
                if r.random() < mutate_rate:
                    again["total_amount_cents"] += 100
                    again["line_items"][0]["total_price_cents"] += 100
                    again["line_items"][0].pop("unit_price_cents", None)
                out.append((again, True))
        return out
