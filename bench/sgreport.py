"""Report of bench/run: the Markdown table, the targets and the plot.

report(records, args) reads the records sgbench.py appended during the run
(kinds: note, wrk, drain, memory, totals) and the sampler's TSV, prints the
report, writes it to args.md and draws args.png with gnuplot. It returns 1
when something broke (5xx, missing results, analytics totals that disagree
with what was accepted), else 0: missed targets never fail the run.
"""
import os
import shutil
import subprocess

CLK_TCK = os.sysconf("SC_CLK_TCK")
US_PER_TICK = 1e6 / CLK_TCK

# Targets of the issue "Performance: a wrk benchmark suite with its own ceilings".
TARGET_SINGLE_VS_EVHTP = 0.8
TARGET_SINGLE_VS_WEBDIS = 1.2
TARGET_CPU_RATIO = 1.5
TARGET_BATCH_EVPS = 50000
TARGET_DRAIN_FACTOR = 2.0
TARGET_LAG_S = 5.0
TARGET_BYTES_PER_EVENT = 1024
TARGET_RSS_KB = 64 * 1024


class Run:
    """One wrk record with the figures derived from it."""

    def __init__(self, rec):
        self.rec = rec
        self.name = rec["name"]
        self.label = rec["label"]
        self.group = rec["group"]
        r = rec.get("result") or {}
        self.r = r
        self.ok = bool(r)
        self.dur = r.get("duration_us", 1) / 1e6 or 1
        self.requests = r.get("requests", 0)
        self.rps = self.requests / self.dur
        self.sock_errors = sum(r.get(k, 0) for k in
                               ("err_connect", "err_read", "err_write", "err_timeout"))
        self.non2xx = r.get("c_total", 0) - r.get("c_2xx", 0)
        if rec["events_per_request"] > 1:  # batch: count items
            self.events = r.get("it_201", 0) + r.get("it_200", 0)
            self.accepted = r.get("it_201", 0)
            self.item_failures = r.get("it_other", 0)
        elif rec["events_per_request"] == 1:
            self.events = r.get("c_2xx", 0) - r.get("app_err", 0)
            self.accepted = r.get("c_201", 0)
            self.item_failures = r.get("app_err", 0)
        else:
            self.events = 0
            self.accepted = 0
            self.item_failures = 0
        self.evps = self.events / self.dur
        self.cpu = rec.get("cpu_ticks", {})

    def cpu_us_per_event(self, proc):
        ticks = self.cpu.get(proc)
        if ticks is None or not self.events:
            return None
        return ticks * US_PER_TICK / self.events

    def cpu_us_per_request(self, proc):
        ticks = self.cpu.get(proc)
        if ticks is None or not self.requests:
            return None
        return ticks * US_PER_TICK / self.requests

    def cores(self, proc):
        wall = self.rec["t1"] - self.rec["t0"]
        return self.cpu.get(proc, 0) / CLK_TCK / wall if wall > 0 else 0

    @property
    def front(self):
        return {"baseline-evhtp": "baseline", "baseline-webdis": "webdis"}.get(
            self.name, "gateway")


def fmt(v, spec="{:,.0f}", none="–"):
    return none if v is None else spec.format(v)


def ms(us):
    return fmt(us / 1000 if us is not None else None, "{:.2f}")


def verdict(ok, smoke):
    if smoke:
        return "not judged (smoke)"
    if ok is None:
        return "n/a"
    return "PASS" if ok else "**MISS**"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def route_rows(runs):
    rows = []
    for x in runs:
        r = x.r
        read = x.rec["events_per_request"] == 0  # analytics and record GETs
        if read:
            cpu_front = x.cpu_us_per_request("gateway")
            cpu_redis = x.cpu_us_per_request("redis")
            unit = "/req"
        else:
            cpu_front = x.cpu_us_per_event(x.front)
            cpu_redis = x.cpu_us_per_event("redis")
            unit = ""
        status = "%s 201 / %s 200" % (fmt(r.get("c_201", 0)), fmt(r.get("c_200", 0)))
        if x.rec["events_per_request"] > 1:
            status = "%s items 201 / %s 200" % (fmt(r.get("it_201", 0)), fmt(r.get("it_200", 0)))
        elif read or x.name.startswith("baseline-webdis"):
            status = "%s 2xx" % fmt(r.get("c_2xx", 0))
        bad = "%d / %d / %d" % (x.non2xx, x.item_failures, x.sock_errors)
        rows.append([x.label, fmt(x.rps), fmt(x.evps) if x.events else "–",
                     ms(r.get("lat_p50_us")), ms(r.get("lat_p99_us")), ms(r.get("lat_p999_us")),
                     fmt(cpu_front, "{:.1f}") + unit, fmt(cpu_redis, "{:.1f}") + unit,
                     fmt(x.cpu_us_per_event("workers"), "{:.1f}") if x.events else "–",
                     status, bad])
    return rows


def share_rows(runs, recs):
    rows = []
    for x in runs:
        wall = x.rec["t1"] - x.rec["t0"]
        busy = x.rec["busy_ticks"] / CLK_TCK / wall if wall > 0 else 0
        wrk = x.rec["wrk_cpu_s"] / wall if wall > 0 else 0
        known = sum(x.cores(p) for p in ("gateway", "redis", "workers", "baseline", "webdis"))
        rows.append([x.label, "%.2f" % busy, "%.2f" % x.cores(x.front), "%.2f" % x.cores("redis"),
                     "%.2f" % x.cores("workers"), "%.2f" % wrk,
                     "%.2f" % max(busy - known - wrk, 0.0)])
    return rows


def first(runs, name):
    for x in runs:
        if x.name == name and x.ok:
            return x
    return None


def drains(recs, name):
    for d in recs:
        if d.get("kind") == "drain" and d["name"] == name:
            return d
    return None


def drain_rows(recs, workers):
    rows = []
    for d in recs:
        if d.get("kind") != "drain" or d["name"].startswith("before"):
            continue
        active = d["seconds"] - (d.get("first_progress_s") or 0) if d["name"] == "isolated" \
            else d["seconds"]
        rate = d["backlog"] / active if d["backlog"] >= 1000 and d["drained"] and active > 0 \
            else None
        cpu = d.get("cpu_ticks", {})
        per = {k: cpu[k] * US_PER_TICK / d["backlog"] if rate and k in cpu else None
               for k in ("workers", "redis")}
        rows.append([d["name"], fmt(d["backlog"]), "yes" if d["drained"] else "**no**",
                     "%.2f" % d["seconds"],
                     fmt(d.get("first_progress_s"), "{:.2f}"),
                     fmt(rate), fmt(rate / workers if rate else None),
                     fmt(per["workers"], "{:.1f}"), fmt(per["redis"], "{:.1f}"),
                     "%s / %s" % (d["end_state"].get("lag"), d["end_state"].get("pending"))])
    return rows


def memory_result(recs, runs):
    before = after = None
    for m in recs:
        if m.get("kind") == "memory":
            before, after = (m, after) if m["name"] == "before" else (before, m)
    load = first(runs, "memory-load")
    # events accepted in between, from Redis's own counter: wrk does not see
    # the answers to requests still in flight when it stops
    n = (after or {}).get("seq", 0) - (before or {}).get("seq", 0)
    if not before or not after or not load or n <= 0:
        return None
    res = {"events": n, "delta": after["used_memory"] - before["used_memory"],
           "xlen": after["xlen"], "used_after": after["used_memory"],
           "keys": {}}
    res["per_event"] = res["delta"] / n
    for k, v in after["key_bytes"].items():
        res["keys"][k] = (v - before["key_bytes"].get(k, 0)) / n
    res["hlen"] = after.get("hlen", {})
    res["ingest_s"] = load.dur
    return res


def judge(runs, recs, note, smoke):
    """Targets table rows and the list of 'something broke' reasons."""
    # The baselines run with the workers idle, so the like-for-like gateway
    # run is the one with the workers stopped; the run with the workers
    # applying rollups on the same cores is shown next to it.
    busy = first(runs, "single")
    single = first(runs, "single-noworkers") or busy
    batch = first(runs, "batch")
    evhtp, webdis = first(runs, "baseline-evhtp"), first(runs, "baseline-webdis")
    workers = int(note.get("workers", 1))
    rows, broke = [], []

    def ratio(a, b):
        return a / b if a is not None and b else None

    for base, name, want in ((evhtp, "bare libevhtp", TARGET_SINGLE_VS_EVHTP),
                             (webdis, "webdis", TARGET_SINGLE_VS_WEBDIS)):
        t = ratio(single.rps if single else None, base.rps if base else None)
        tb = ratio(busy.rps if busy else None, base.rps if base else None)
        rows.append(["single POST ≥ %.1f× %s req/s" % (want, name),
                     "%s (%s vs %s req/s; with workers running: %s)" % (
                         fmt(t, "{:.2f}×"), fmt(single.rps if single else None),
                         fmt(base.rps if base else None), fmt(tb, "{:.2f}×")),
                     verdict(t >= want if t else None, smoke)])
    gcpu = single.cpu_us_per_event("gateway") if single else None
    for base, name in ((evhtp, "bare libevhtp"), (webdis, "webdis")):
        bcpu = base.cpu_us_per_event(base.front) if base else None
        c = ratio(gcpu, bcpu)
        rows.append(["gateway CPU/event ≤ %.1f× %s's" % (TARGET_CPU_RATIO, name),
                     "%s (%s vs %s µs)" % (fmt(c, "{:.2f}×"), fmt(gcpu, "{:.1f}"),
                                          fmt(bcpu, "{:.1f}")),
                     verdict(c <= TARGET_CPU_RATIO if c else None, smoke)])
    b = batch.evps if batch else None
    rows.append(["batch ≥ %s events/s" % fmt(TARGET_BATCH_EVPS), fmt(b),
                 verdict(b >= TARGET_BATCH_EVPS if b is not None else None, smoke)])
    iso = drains(recs, "isolated")
    rate = None
    if iso and iso["drained"] and iso["backlog"] > 0:
        active = iso["seconds"] - (iso.get("first_progress_s") or 0)
        rate = iso["backlog"] / active / workers if active > 0 else None
    need = TARGET_DRAIN_FACTOR * single.evps if single else None
    rows.append(["worker drain per process ≥ %.0f× single-event ingest rate" % TARGET_DRAIN_FACTOR,
                 "%s ev/s/process vs %s needed = 2 × %s (gateway alone); pool of %d: %s ev/s" % (
                     fmt(rate), fmt(need), fmt(single.evps if single else None), workers,
                     fmt(rate * workers if rate else None)),
                 verdict(rate >= need if rate and need else None, smoke)])
    sus = drains(recs, "after-sustain")
    lag_s = sus.get("seconds_since_load_end") if sus and sus["drained"] else None
    rows.append(["lag + pending back to 0 ≤ %.0f s after %s s full-speed load" % (
                 TARGET_LAG_S, note.get("sustain", "?")),
                 fmt(lag_s, "{:.2f} s") if sus and sus["drained"] else "not drained in %s s" % (
                     fmt(sus["seconds"], "{:.0f}") if sus else "?"),
                 verdict(lag_s <= TARGET_LAG_S if lag_s is not None else
                         (False if sus else None), smoke)])
    mem = memory_result(recs, runs)
    rows.append(["Redis ≤ 1 KB per stored event",
                 "%s B/event" % fmt(mem["per_event"]) if mem else "skipped",
                 verdict(mem["per_event"] <= TARGET_BYTES_PER_EVENT if mem else None, smoke)])
    rss = first(runs, "rss")
    rss_kb = rss.rec.get("rss_max_kb") if rss else None
    rows.append(["gateway RSS ≤ 64 MB at %s connections" % note.get("rss_connections", "1000"),
                 "%s MB" % fmt(rss_kb / 1024 if rss_kb else None, "{:.1f}"),
                 verdict(rss_kb <= TARGET_RSS_KB if rss_kb else None, smoke)])
    bad, details = 0, []
    for x in runs:
        if x.group in ("gateway", "rss", "load"):
            n = x.non2xx + x.item_failures + x.sock_errors
            bad += n
            if n:
                details.append("%s: %d" % (x.name, n))
    dup_ok = all(x.r.get("c_200", 0) <= x.r.get("sent_dups", 0) for x in runs
                 if x.group in ("gateway", "rss") and x.rec["events_per_request"] == 1)
    rows.append(["no non-2xx besides intended duplicates (gateway routes)",
                 "%d%s%s" % (bad, " (" + ", ".join(details) + ")" if details else "",
                             "" if dup_ok else "; more 200s than replays sent"),
                 verdict(bad == 0 and dup_ok, smoke)])

    for x in runs:
        if not x.ok:
            broke.append("%s: wrk gave no result" % x.name)
            continue
        if x.r.get("c_5xx", 0):
            broke.append("%s: %d answers 5xx" % (x.name, x.r["c_5xx"]))
        if x.name == "baseline-webdis" and x.item_failures:
            broke.append("webdis: %d XADD failed" % x.item_failures)
        if x.requests == 0:
            broke.append("%s: no request completed" % x.name)
        if smoke and x.group != "rss" and (x.non2xx or x.item_failures):
            broke.append("%s: %d non-2xx, %d failed items" % (x.name, x.non2xx,
                                                             x.item_failures))
    return rows, broke, mem


def totals_rows(recs, runs, broke, smoke):
    tot = next((r for r in recs if r.get("kind") == "totals"), None)
    final = drains(recs, "final")
    accepted = sum(x.accepted for x in runs if x.group in ("gateway", "rss", "load"))
    if not tot:
        broke.append("no analytics totals")
        return []
    if tot["status"] != 200:
        broke.append("analytics month read answered %s: %s" % (tot["status"], tot.get("body")))
        return [["analytics month read", "HTTP %s" % tot["status"]]]
    # wrk never sees the answers to requests in flight when it stops, though
    # the gateway completes them: at most connections x events/request per run
    slack = sum(x.rec["connections"] * max(x.rec["events_per_request"], 1) for x in runs
                if x.group in ("gateway", "rss", "load") and x.rec["events_per_request"])
    counted = tot["transactions"] + tot["return_count"]
    distinct = tot["evx_hlen"]
    ok = counted == distinct == tot["seq"]
    wrk_ok = accepted <= distinct <= accepted + slack
    drained = final and final["drained"]
    if drained and not ok:
        broke.append("analytics count %d, dedupe records %d, seq %d disagree" % (
            counted, distinct, tot["seq"]))
    if drained and not wrk_ok:
        broke.append("wrk counted %d 201s but Redis holds %d distinct events (slack %d)" % (
            accepted, distinct, slack))
    if smoke and not drained:
        broke.append("the worker did not drain the stream")
    return [
        ["analytics transactions + return_count (month, all of 2026)",
         "%s + %s = %s" % (fmt(tot["transactions"]), fmt(tot["return_count"]), fmt(counted))],
        ["distinct events accepted: dedupe records (HLEN evx) / seq counter",
         "%s / %s" % (fmt(distinct), fmt(tot["seq"]))],
        ["201s counted by the wrk scripts (single: 201 answers; batch: items 201)",
         "%s (%s in flight when wrk stopped; bound %s)" % (
             fmt(accepted), fmt(distinct - accepted), fmt(slack))],
        ["dead-lettered events", fmt(tot["deadletter"])],
        ["check: analytics = distinct accepted = seq", ("**OK**" if ok else "**MISMATCH**") +
         ("" if drained else " (worker had not drained)")],
        ["check: wrk 201s ≤ distinct ≤ wrk 201s + in-flight bound",
         "**OK**" if wrk_ok else "**MISMATCH**"],
    ]


def plot(samples, runs, png, workdir):
    """throughput and lag over time -> png (gnuplot). Returns an error or None."""
    if not shutil.which("gnuplot"):
        return "gnuplot not installed"
    rows = []
    try:
        with open(samples) as f:
            for line in f:
                if not line.startswith("#") and line.strip():
                    rows.append([float(v) for v in line.split()])
    except OSError as e:
        return str(e)
    if len(rows) < 3:
        return "too few samples"
    t0 = rows[0][0]
    data = os.path.join(workdir, "plot.dat")
    with open(data, "w") as f:
        for a, b in zip(rows, rows[1:]):
            dt = b[0] - a[0]
            if dt <= 0:
                continue
            ingest = max(b[1] - a[1], 0) / dt
            applied = max(b[2] - a[2], 0) / dt if a[2] >= 0 and b[2] >= 0 else 0
            f.write("%.2f %.1f %.1f %d %d %.1f\n" % (b[0] - t0, ingest, applied,
                                                     max(b[3], 0), max(b[4], 0), b[6] / 1024))
    term = "pngcairo size 1600,800 font ',10'"
    if subprocess.run(["gnuplot", "-e", "set terminal pngcairo"], capture_output=True).returncode:
        term = "png size 1600,800"
    gp = ["set terminal %s" % term, "set output '%s'" % png,
          "set title 'salesgate bench: ingest and worker throughput, consumer-group lag'",
          "set xlabel 'seconds since start'", "set ylabel 'events/s'",
          "set y2label 'lag + pending (events)'", "set ytics nomirror", "set y2tics",
          "set key outside bottom center horizontal", "set grid"]
    for i, x in enumerate(runs):
        a, b = x.rec["t0"] - t0, x.rec["t1"] - t0
        gp.append("set object %d rect from %.1f, graph 0 to %.1f, graph 1 fc rgb '%s' "
                  "fs solid 0.15 noborder behind" % (i + 1, a, b,
                                                    "#4477aa" if i % 2 else "#aa7744"))
        gp.append("set label %d '%s' at %.1f, graph %.2f font ',8'" % (
            i + 1, x.name, a, 0.97 - 0.04 * (i % 3)))
    gp.append("plot '%s' using 1:2 with lines lw 1.5 title 'accepted events/s (seq)', "
              "'' using 1:3 with lines lw 1.5 title 'events read by workers/s', "
              "'' using 1:($4+$5) axes x1y2 with lines lw 2 title 'lag + pending'" % data)
    script = os.path.join(workdir, "plot.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    p = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    return p.stderr.strip()[-300:] if p.returncode else None


def report(recs, args):
    note = next((r for r in recs if r.get("kind") == "note"), {})
    runs = [Run(r) for r in recs if r.get("kind") == "wrk"]
    smoke = args.smoke
    workers = int(note.get("workers", 1))
    targets, broke, mem = judge(runs, recs, note, smoke)
    out = ["# salesgate benchmark — %s%s" % (note.get("started", "?"),
                                             " (smoke)" if smoke else ""), ""]
    out.append("Machine: %s CPU(s), %s; load average at start %s. wrk (-t%s) runs on the same "
               "cores as everything it measures. Redis %s with `--save '' --appendonly no` "
               "(no persistence during the throughput runs). Gateway `--threads %s`, baseline "
               "the same; %s worker process(es). wrk -t%s -c%s, %s s per route (same for the "
               "baselines). Commit %s (%s uncommitted files under gateway/ worker/ common/)." % (
                   note.get("nproc"), note.get("cpu"), note.get("loadavg"),
                   note.get("wrk_threads"), note.get("redis"), note.get("gw_threads"),
                   workers, note.get("wrk_threads"),
                   note.get("connections"), note.get("duration"), note.get("commit"),
                   note.get("dirty")))
    out.append("")
    out.append("## Routes")
    out.append("")
    out += table(["route", "req/s", "events/s", "p50 ms", "p99 ms", "p99.9 ms",
                  "server CPU µs/event", "Redis CPU µs/event", "workers CPU µs/event",
                  "answers", "non-2xx / failed items / socket errors"], route_rows(runs))
    out.append("")
    out.append("Server CPU is the process answering HTTP: the gateway, or the baseline in the "
               "baseline rows (utime+stime from /proc/<pid>/stat over the wrk run, all threads). "
               "Read rows (analytics, record GETs) are per request. Single-event duplicates (replays, ~%s%%) answer "
               "200 by design." % "10")
    out.append("")
    out.append("## Against the baselines")
    out.append("")
    rows = []
    for sname, name in [(s, b) for s in ("single-noworkers", "single")
                        for b in ("baseline-evhtp", "baseline-webdis")]:
        single, b = first(runs, sname), first(runs, name)
        if not (single and b):
            continue
        g, c = single.cpu_us_per_event("gateway"), b.cpu_us_per_event(b.front)
        gr, br = single.cpu_us_per_event("redis"), b.cpu_us_per_event("redis")
        rows.append([single.label, b.label, "%.2f×" % (single.rps / b.rps) if b.rps else "–",
                     fmt(g / c if g and c else None, "{:.2f}×"),
                     fmt((g + gr) / (c + br) if None not in (g, c, gr, br) and c + br else None,
                         "{:.2f}×")])
    out += table(["gateway run", "baseline", "throughput ratio (gateway ÷ baseline)",
                  "server CPU/event ratio", "server + Redis CPU/event ratio"], rows)
    out.append("")
    out.append("## Targets")
    out.append("")
    out += table(["target", "measured", "verdict"], targets)
    out.append("")
    sus, alone = first(runs, "sustain"), first(runs, "single-noworkers")
    if sus and alone and alone.rps and sus.rps < 0.5 * alone.rps:
        out.append("Note: during the sustained run the gateway accepted %s events/s, %.0f%% of "
                   "what it does alone (%s/s). The workers share Redis with the ingest script, "
                   "so lag stayed low because ingest slowed to the apply rate, not because the "
                   "pool out-drains the gateway; read the lag verdict with the drain rows." % (
                       fmt(sus.evps), 100 * sus.rps / alone.rps, fmt(alone.evps)))
        out.append("")
    out.append("## Worker drain")
    out.append("")
    out += table(["after", "backlog (lag + pending)", "drained", "seconds", "first progress s",
                  "drain events/s", "per process", "workers CPU µs/event",
                  "Redis CPU µs/event", "end lag / pending"],
                 drain_rows(recs, workers))
    out.append("")
    out.append("A drain rate is only given when the backlog was at least 1,000 events. "
               "'isolated' is the backlog of the single-POST run with the workers stopped; the "
               "pool is then started and its rate counts from the first event read (start-up "
               "excluded). The after-* rows time the drain from the end of a load with the "
               "workers running throughout. CPU per event is over the drain only.")
    out.append("")
    out.append("## Redis memory")
    out.append("")
    if mem:
        rows = [["events ingested (batch route)", "%s in %.1f s" % (fmt(mem["events"]),
                                                                   mem["ingest_s"])],
                ["used_memory delta ÷ events", "%s B/event" % fmt(mem["per_event"])],
                ["used_memory after", "%s MB" % fmt(mem["used_after"] / 1048576, "{:.1f}")],
                ["stream length after drain + trim", fmt(mem["xlen"])]]
        for k, v in mem["keys"].items():
            rows.append(["of which `%s` (MEMORY USAGE, sampled)" % k, "%s B/event" % fmt(v)])
        for k, v in mem["hlen"].items():
            rows.append(["HLEN `%s`" % k, fmt(v)])
        out += table(["measure", "value"], rows)
    else:
        out.append("Skipped (--skip-memory) or incomplete.")
    out.append("")
    rss = first(runs, "rss")
    if rss:
        out.append("Gateway RSS: %s MB before, %s MB max during %s connections (%d samples)." % (
            fmt(rss.rec["rss_before_kb"] / 1024, "{:.1f}"),
            fmt(rss.rec["rss_max_kb"] / 1024, "{:.1f}"), rss.rec["connections"],
            rss.rec["rss_samples"]))
        out.append("")
    out.append("## Aggregates check")
    out.append("")
    out += table(["measure", "value"], totals_rows(recs, runs, broke, smoke))
    out.append("")
    out.append("## CPU share during each run (cores busy)")
    out.append("")
    out += table(["run", "machine", "server", "redis", "workers", "wrk", "other"],
                 share_rows(runs, recs))
    out.append("")
    out.append("'other' is everything else busy on the machine (other users' processes, "
               "the sampler): noise in these numbers.")
    out.append("")
    err = plot(args.samples, runs, args.png, args.workdir)
    if err:
        out.append("Plot: not drawn (%s)." % err)
    else:
        out.append("Plot: `%s` (accepted and worker-read events/s, lag + pending)." %
                   os.path.basename(args.png))
    if broke:
        out.append("")
        out.append("## Something broke")
        out.append("")
        out += ["- " + b for b in broke]
    text = "\n".join(out) + "\n"
    with open(args.md, "w") as f:
        f.write(text)
    print(text)
    return 1 if broke else 0
