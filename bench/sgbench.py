#!/usr/bin/env python3
"""Measurement side of bench/run: everything that reads numbers.

bench/run (bash) starts and stops the servers; this helper seeds the tenant,
drives wrk, reads CPU ticks, RSS, Redis stream state and memory, and writes
the report. Every step appends one JSON record to the state file (--state),
and `report` turns the records into the Markdown table and the plot.

Only the standard library: a tiny RESP client speaks to Redis.
"""
import argparse
import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- Redis --------------------------------------------------------------


class Redis:
    """Minimal blocking RESP2 client (enough for PING/INFO/XINFO/GET)."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("unexpected RESP reply %r" % line)


def flat(pairs):
    """[k1, v1, k2, v2, ...] -> dict."""
    return {pairs[i]: pairs[i + 1] for i in range(0, len(pairs or []) - 1, 2)}


def info_field(r, section, name):
    for line in r.call("INFO", section).splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    return None


def stream_state(r, stream):
    """Consumer-group state of stream: lag, pending, entries_read, xlen.

    Redis reports lag as nil when it cannot compute it; then the group is
    caught up when its last-delivered-id is the stream's last id, otherwise
    lag = entries-added - entries-read when both are known, else -1.
    """
    st = {"lag": -1, "pending": -1, "entries_read": -1, "xlen": 0, "added": 0}
    try:
        info = flat(r.call("XINFO", "STREAM", stream))
        groups = r.call("XINFO", "GROUPS", stream)
    except RuntimeError:
        return st
    st["xlen"] = info.get("length", 0)
    st["added"] = info.get("entries-added", 0)
    if not groups:
        return st
    g = flat(groups[0])
    st["pending"] = g.get("pending", -1)
    st["entries_read"] = g.get("entries-read") if g.get("entries-read") is not None else -1
    lag = g.get("lag")
    if lag is None:
        if g.get("last-delivered-id") == info.get("last-generated-id"):
            lag = 0
        elif st["entries_read"] >= 0:
            lag = st["added"] - st["entries_read"]
        else:
            lag = -1
    st["lag"] = lag
    return st


def redis_get_int(r, key):
    v = r.call("GET", key)
    return int(v) if v else 0


# ---- processes ----------------------------------------------------------


def proc_ticks(pid):
    """utime + stime of one process (all its threads), in clock ticks."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def children_of():
    """pid -> list of child pids, from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree_ticks(pid, kids):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += proc_ticks(p)
        todo.extend(kids.get(p, []))
    return total


def cpu_snapshot(spec):
    """spec: {name: "pid" or "pid+" (with descendants)} -> {name: ticks}."""
    kids = children_of()
    out = {}
    for name, p in spec.items():
        if not p.rstrip("+"):
            continue
        if p.endswith("+"):
            out[name] = tree_ticks(int(p[:-1]), kids)
        else:
            out[name] = proc_ticks(int(p))
    return out


def system_busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle


def vm_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def parse_cpu_args(items):
    spec = {}
    for it in items or []:
        name, _, pid = it.partition("=")
        spec[name] = pid
    return spec


# ---- state file ---------------------------------------------------------


def record(state, rec):
    rec.setdefault("t", time.time())
    with open(state, "a") as f:
        f.write(json.dumps(rec) + "\n")


def load(state):
    recs = []
    with open(state) as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


# ---- commands -----------------------------------------------------------


def cmd_port(a):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def cmd_wait_redis(a):
    end = time.time() + a.timeout
    while time.time() < end:
        try:
            r = Redis(a.port, timeout=1)
            if r.call("PING") == "PONG":
                r.close()
                return 0
        except (OSError, RuntimeError, ConnectionError):
            pass
        time.sleep(0.05)
    print("redis on port %d did not answer PING" % a.port, file=sys.stderr)
    return 1


def http_call(port, method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body) if body is not None else None
    h = dict(headers or {})
    if data is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    resp = c.getresponse()
    text = resp.read().decode(errors="replace")
    c.close()
    return resp.status, text


def cmd_wait_http(a):
    end = time.time() + a.timeout
    while time.time() < end:
        try:
            st, _ = http_call(a.port, a.method, a.path, timeout=1)
            if st < 500:
                return 0
        except OSError:
            pass
        time.sleep(0.05)
    print("no HTTP answer on port %d %s" % (a.port, a.path), file=sys.stderr)
    return 1


def cmd_seed(a):
    """Tenant, API key and stores through the admin and Noticia APIs."""
    admin = {"Authorization": "Bearer " + a.token}
    steps = [("POST", "/admin/v1/tenants", admin,
              {"id": a.tenant, "timezone": "Europe/Paris", "default_currency": "EUR"}),
             ("POST", "/admin/v1/tenants/%s/keys" % a.tenant, admin,
              {"key": a.key, "label": "bench"})]
    for i in range(a.stores):
        steps.append(("POST", "/v1/stores", {"x-api-key": a.key},
                      {"external_id": "bench-store-%03d" % i, "name": "Bench store %d" % i}))
    for method, path, headers, body in steps:
        st, text = http_call(a.port, method, path, body, headers)
        if st not in (200, 201):
            print("seed: %s %s -> %d %s" % (method, path, st, text[:300]), file=sys.stderr)
            return 1
    print("seeded tenant %s, 1 key, %d stores" % (a.tenant, a.stores))
    return 0


def run_wrk(a, env):
    """Runs wrk (bounded by -d and a hard timeout); returns (proc result, stop info)."""
    cmd = ["wrk", "-t%d" % a.threads, "-c%d" % a.connections, "-d%ds" % a.duration,
           "--timeout", "%ds" % a.wrk_timeout, "-s", a.script, a.url]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                         text=True)
    stop = {"stopped_at_target": False}
    hard_end = time.time() + a.duration + 30
    rss_max, rss_samples = 0, 0
    r = Redis(a.redis_port) if a.target_events else None
    start_seq = redis_get_int(r, a.seq_key) if r else 0
    while p.poll() is None:
        if time.time() > hard_end:
            p.kill()
            break
        if a.rss_pid:
            rss_max = max(rss_max, vm_rss_kb(a.rss_pid))
            rss_samples += 1
        if r and redis_get_int(r, a.seq_key) - start_seq >= a.target_events:
            p.send_signal(signal.SIGINT)  # wrk prints its summary and done() on SIGINT
            stop["stopped_at_target"] = True
            r.close()
            r = None
        time.sleep(0.2 if a.rss_pid else 0.1)
    out = p.communicate()[0]
    if r:
        r.close()
    stop["rss_max_kb"] = rss_max
    stop["rss_samples"] = rss_samples
    return p.returncode, out, stop


def cmd_wrk(a):
    env = dict(os.environ)
    for kv in a.env or []:
        k, _, v = kv.partition("=")
        env[k] = v
    spec = parse_cpu_args(a.cpu)
    rss_before = vm_rss_kb(a.rss_pid) if a.rss_pid else 0
    cpu0, busy0 = cpu_snapshot(spec), system_busy_ticks()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    rc, out, stop = run_wrk(a, env)
    t1 = time.time()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1, busy1 = cpu_snapshot(spec), system_busy_ticks()
    res = None
    for line in out.splitlines():
        if line.startswith("SGBENCH_JSON "):
            res = json.loads(line[len("SGBENCH_JSON "):])
    rec = {"kind": "wrk", "name": a.name, "label": a.label or a.name, "group": a.group,
           "events_per_request": a.events_per_request, "t0": t0, "t1": t1,
           "threads": a.threads, "connections": a.connections, "duration_s": a.duration,
           "wrk_rc": rc, "result": res,
           "cpu_ticks": {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in cpu1},
           "busy_ticks": busy1 - busy0,
           "wrk_cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
           "rss_before_kb": rss_before}
    rec.update(stop)
    record(a.state, rec)
    with open(a.log, "a") as f:
        f.write("==== %s\n%s\n" % (" ".join(sys.argv[1:]), out))
    if res is None:
        print("%s: wrk gave no result (rc %s); output:\n%s" % (a.name, rc, out[-2000:]),
              file=sys.stderr)
        return 1
    print("  %-18s %9.0f req/s  p99 %7.2f ms  2xx %d  non-2xx %d  socket errors %d" % (
        a.name, res["requests"] / (res["duration_us"] / 1e6), res["lat_p99_us"] / 1000,
        res["c_2xx"], res["c_total"] - res["c_2xx"],
        res["err_connect"] + res["err_read"] + res["err_write"] + res["err_timeout"]))
    return 0


def cmd_drain(a):
    """Waits (bounded) until the group's lag and pending are both 0."""
    spec = parse_cpu_args(a.cpu)
    r = Redis(a.port)
    cpu0 = cpu_snapshot(spec)
    t0 = time.time()
    first = stream_state(r, a.stream)
    backlog0 = max(first["lag"], 0) + max(first["pending"], 0)
    read0 = first["entries_read"]
    progress_at, st, drained = None, first, False
    while True:
        st = stream_state(r, a.stream)
        now = time.time()
        if progress_at is None and st["entries_read"] > read0:
            progress_at = now
        if st["lag"] == 0 and st["pending"] == 0:
            drained = True
            break
        if now - t0 > a.timeout:
            break
        time.sleep(0.05)
    t1 = time.time()
    cpu1 = cpu_snapshot(spec)
    r.close()
    rec = {"kind": "drain", "name": a.name, "t0": t0, "t1": t1, "drained": drained,
           "cpu_ticks": {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in cpu1},
           "seconds": t1 - t0, "backlog": backlog0, "workers": a.workers,
           "first_progress_s": (progress_at - t0) if progress_at else None,
           "end_state": st, "since": a.since}
    if a.since:
        rec["seconds_since_load_end"] = t1 - a.since
    record(a.state, rec)
    print("  drain %-12s backlog %7d  %s in %.2f s" % (
        a.name, backlog0, "drained" if drained else "NOT drained", t1 - t0))
    return 0


def cmd_sample(a):
    """Samples ingest counter, group state and gateway RSS every interval (bounded)."""
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    end = time.time() + a.max_seconds
    r = None
    with open(a.out, "a") as f:
        f.write("# t seq entries_read lag pending xlen gw_rss_kb\n")
        while not stop["now"] and time.time() < end:
            try:
                r = r or Redis(a.port, timeout=2)
                st = stream_state(r, a.stream)
                seq = redis_get_int(r, a.seq_key)
                f.write("%.3f %d %d %d %d %d %d\n" % (
                    time.time(), seq, st["entries_read"], st["lag"], st["pending"], st["xlen"],
                    vm_rss_kb(a.rss_pid) if a.rss_pid else 0))
                f.flush()
            except (OSError, RuntimeError, ConnectionError):
                r = None
            time.sleep(a.interval)
    return 0


def cmd_memory(a):
    """INFO used_memory, stream length and per-key sizes (MEMORY USAGE, sampled)."""
    r = Redis(a.port, timeout=30)
    rec = {"kind": "memory", "name": a.name,
           "used_memory": int(info_field(r, "memory", "used_memory")),
           "xlen": r.call("XLEN", a.stream),
           "seq": redis_get_int(r, a.seq_key)}
    sizes = {}
    for key in a.keys or []:
        try:
            sizes[key] = r.call("MEMORY", "USAGE", key, "SAMPLES", "64") or 0
        except RuntimeError:
            sizes[key] = 0
    rec["key_bytes"] = sizes
    rec["hlen"] = {k: r.call("HLEN", k) for k in a.hashes or []}
    r.close()
    record(a.state, rec)
    print("  memory %-10s used_memory %d  xlen %d" % (a.name, rec["used_memory"], rec["xlen"]))
    return 0


def cmd_wait_trim(a):
    """Waits (bounded) for the worker's XTRIM MINID to shrink the stream."""
    r = Redis(a.port)
    t0, xlen = time.time(), None
    while time.time() - t0 < a.timeout:
        xlen = r.call("XLEN", a.stream)
        if xlen <= a.max_len:
            break
        time.sleep(0.25)
    r.close()
    print("  trim: XLEN %s after %.1f s" % (xlen, time.time() - t0))
    return 0


def cmd_totals(a):
    """Analytics totals vs what the wrk scripts saw accepted."""
    st, text = http_call(a.port, "GET", "/v1/analytics/sales?granularity=month"
                         "&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z",
                         headers={"x-api-key": a.key})
    rec = {"kind": "totals", "status": st}
    if st == 200:
        body = json.loads(text)
        rec["transactions"] = sum(b.get("transactions", 0) for b in body["buckets"])
        rec["return_count"] = sum(b.get("return_count", 0) for b in body["buckets"])
        rec["net_cents"] = sum(b.get("net_cents", 0) for b in body["buckets"])
    else:
        rec["body"] = text[:500]
    r = Redis(a.redis_port)
    rec["evx_hlen"] = r.call("HLEN", "sg:{%s}:evx" % a.tenant)
    rec["seq"] = redis_get_int(r, "sg:{%s}:seq" % a.tenant)
    rec["deadletter"] = r.call("XLEN", "sg:{%s}:deadletter" % a.tenant)
    r.close()
    record(a.state, rec)
    return 0


def cmd_note(a):
    rec = {"kind": "note"}
    for kv in a.kv:
        k, _, v = kv.partition("=")
        rec[k] = v
    record(a.state, rec)
    return 0


def cmd_report(a):
    import sgreport  # bench/sgreport.py, next to this file
    return sgreport.report(load(a.state), a)


def main():
    ap = argparse.ArgumentParser(prog="sgbench.py")
    sub = ap.add_subparsers(dest="cmd", required=True)

    sub.add_parser("port")
    p = sub.add_parser("wait-redis")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=10)
    p = sub.add_parser("wait-http")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/healthz")
    p.add_argument("--method", default="GET")
    p.add_argument("--timeout", type=float, default=10)
    p = sub.add_parser("seed")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--stores", type=int, default=200)

    p = sub.add_parser("wrk")
    p.add_argument("--state", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--label")
    p.add_argument("--group", default="")
    p.add_argument("--script", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=int, default=30)
    p.add_argument("--wrk-timeout", type=int, default=10)
    p.add_argument("--events-per-request", type=int, default=1)
    p.add_argument("--cpu", action="append", help="name=pid or name=pid+ (with children)")
    p.add_argument("--env", action="append")
    p.add_argument("--rss-pid", type=int, default=0)
    p.add_argument("--target-events", type=int, default=0,
                   help="SIGINT wrk once the tenant's seq counter grew by this much")
    p.add_argument("--redis-port", type=int, default=0)
    p.add_argument("--seq-key", default="")

    p = sub.add_parser("drain")
    p.add_argument("--state", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--since", type=float, default=0.0)
    p.add_argument("--cpu", action="append", help="name=pid or name=pid+ (with children)")

    p = sub.add_parser("sample")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--seq-key", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--interval", type=float, default=0.5)
    p.add_argument("--max-seconds", type=float, default=3600)
    p.add_argument("--rss-pid", type=int, default=0)

    p = sub.add_parser("memory")
    p.add_argument("--state", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--seq-key", required=True)
    p.add_argument("--keys", nargs="*")
    p.add_argument("--hashes", nargs="*")

    p = sub.add_parser("wait-trim")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--max-len", type=int, default=1000)
    p.add_argument("--timeout", type=float, default=20)

    p = sub.add_parser("totals")
    p.add_argument("--state", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis-port", type=int, required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--key", required=True)

    p = sub.add_parser("note")
    p.add_argument("--state", required=True)
    p.add_argument("kv", nargs="+")

    p = sub.add_parser("report")
    p.add_argument("--state", required=True)
    p.add_argument("--samples", required=True)
    p.add_argument("--md", required=True)
    p.add_argument("--png", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--smoke", action="store_true")

    a = ap.parse_args()
    fn = globals()["cmd_" + a.cmd.replace("-", "_")]
    return fn(a) or 0


if __name__ == "__main__":
    sys.exit(main())
