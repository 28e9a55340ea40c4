"""
Chunked units (worker/journal.c, apply.lua "stage" / "chunk"): a merged
unit larger than --apply-max-ops is committed by one "stage" run and applied
one chunk per run. The totals stay exact, every chunk is applied exactly
once, and the chunks of a worker that died after its stage are applied by
another worker's sweep.
"""

import os
import random
import re
import struct
import time

from harness import RedisError, Stack, check, check_eq, note, timeout, wait_until
from test_resilience import _backlog, _check_exact

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _mp(v):
    """msgpack of str / non-negative int / list: the subset the chunks use."""
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(_mp(x) for x in v)
    if isinstance(v, int):
        return b"\xce" + struct.pack(">I", v)
    b = v.encode()
    return b"\xdb" + struct.pack(">I", len(b)) + b


def _dec(v):
    """A reply with its bulk strings decoded."""
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def _cmd(st, *args):
    return _dec(st.redis.command(*args))


def _apply_sha(st):
    with open(os.path.join(ROOT, "common", "lua", "apply.lua"), "rb") as f:
        return _cmd(st, "SCRIPT", "LOAD", f.read())


@timeout(150)
def test_chunked_units_exact():
    """Every unit chunked (--apply-max-ops 100): totals exact, journal empty, units counted."""
    rng = random.Random(41)
    with Stack(name="chunks", worker=False) as st:
        stores = ["s1", "s2", "s3"]
        t, led = _backlog(st, rng, stores, 600)
        st.processes = 1
        w = st.start_worker(extra_args=["--apply-max-ops", "100"])
        _check_exact(t, led, stores)
        check_eq(_cmd(st, "EXISTS", "sg:{%s}:journal" % t.id), 0, "journal left after the drain")
        w.stop()
        log = w.proc.log_tail(400)
        m = re.findall(r'"chunked_units":"(\d+)"', log)
        check(m and int(m[-1]) > 0, "the worker staged no chunked unit: %s", log[-600:])
        note("chunked units staged: %s" % m[-1])


@timeout(60)
def test_orphan_chunks_swept_exactly_once():
    """
    A stage filed by a worker that then died: the sweep of a live worker
    applies each chunk once; a bad chunk is dead-lettered, not retried.
    """
    with Stack(name="sweep", worker=False) as st:
        t = st.new_tenant()
        sha = _apply_sha(st)
        pre = "sg:{%s}:" % t.id
        applied, journal, dead = pre + "applied", pre + "journal", pre + "deadletter"
        chunk1 = _mp([pre + "r:test:a", "I", 2, "f1", "5", "f2", "-3"])
        chunk2 = _mp([pre + "r:test:b", "N", 1, "name", "first", pre + "r:test:b", "I", 1, "n", "7"])
        bad = _mp(["sg:{other}:r:test:c", "I", 1, "f", "1"])  # another tenant's key
        unit = "1-deadworker-0123-1"  # filed at unix ms 1: long past any --claim-idle-ms

        def stage(name, qs, *chunks):
            try:
                return _cmd(st, "EVALSHA", sha, 2, applied, journal, "stage", len(qs), *qs, name, pre,
                            *chunks)
            except RedisError as e:
                return "error: %s" % e

        # a chunk the chunk mode would refuse is refused before anything is written
        got = stage(unit, [900001, 900002], chunk1, bad)
        check(str(got).startswith("error:"), "stage with a bad chunk answered %r", got)
        check_eq(_cmd(st, "GETBIT", applied, 900001), 0, "bit set by a refused stage")
        check_eq(_cmd(st, "EXISTS", journal), 0, "chunks filed by a refused stage")

        check_eq(stage(unit, [900001, 900002], chunk1, chunk2), "ok", "stage reply")
        check_eq(_cmd(st, "HKEYS", journal), [unit + ":2"], "chunks filed (the stage applies chunk 1)")
        check_eq(_cmd(st, "HGETALL", pre + "r:test:a"), ["f1", "5", "f2", "-3"], "chunk 1 applied by the stage")
        check_eq(_cmd(st, "GETBIT", applied, 900001), 1, "bit of the first event")
        # the same events staged again: refused, nothing filed twice
        check_eq(sorted(stage("2-deadworker-0123-2", [900001, 900002], chunk1)), [900001, 900002],
                 "stage of applied events names them")
        # a unit name already filed: refused (its chunks would be overwritten)
        got = stage(unit, [900003], chunk1, chunk2)
        check(str(got).startswith("error:") and "already filed" in str(got), "second stage of a name: %r", got)
        check_eq(_cmd(st, "GETBIT", applied, 900003), 0, "bit set by the refused stage")
        check_eq(_cmd(st, "HLEN", journal), 1, "nothing filed by the refused stages")
        # a chunk filed by an older worker version (bad key): dead-lettered by the chunk run
        _cmd(st, "HSET", journal, unit + ":3", bad)

        st.processes = 1
        st.start_worker(extra_args=["--claim-idle-ms", "500"])
        wait_until(lambda: _cmd(st, "EXISTS", journal) == 0, 20, 0.1, what="journal swept")
        check_eq(_cmd(st, "HGETALL", pre + "r:test:a"), ["f1", "5", "f2", "-3"], "chunk 1 applied once")
        check_eq(_cmd(st, "HMGET", pre + "r:test:b", "name", "n"), ["first", "7"], "chunk 2 applied once")
        check_eq(_cmd(st, "EXISTS", "sg:{other}:r:test:c"), 0, "the bad chunk wrote nothing")
        entries = _cmd(st, "XRANGE", dead, "-", "+")
        chunks = [dict(zip(e[1][::2], e[1][1::2])) for e in entries]
        check(any(c.get("chunk") == unit + ":3" and c.get("reason") for c in chunks),
              "bad chunk not in the dead-letter stream: %s", chunks)
        # applying a chunk again finds it gone
        check_eq(_cmd(st, "EVALSHA", sha, 2, journal, dead, "chunk", unit + ":2", pre), "gone",
                 "second apply of a chunk")
        check_eq(_cmd(st, "HGET", pre + "r:test:a", "f1"), "5", "still applied once")


@timeout(60)
def test_restarted_worker_sweeps_its_own_chunks_at_once():
    """
    Chunks filed under this worker's consumer name by an earlier life (another
    nonce) are applied at start, without waiting --claim-idle-ms; a fresh
    chunk of another consumer is left to its owner until then.
    """
    with Stack(name="mine", worker=False) as st:
        t = st.new_tenant()
        sha = _apply_sha(st)
        pre = "sg:{%s}:" % t.id
        applied, journal = pre + "applied", pre + "journal"
        sec, usec = _cmd(st, "TIME")
        now_ms = int(sec) * 1000 + int(usec) // 1000
        chunk1 = _mp([pre + "r:test:p", "I", 1, "f", "1"])
        chunk2 = _mp([pre + "r:test:q", "I", 1, "f", "2"])
        mine = "%d-test-%s-7" % (now_ms, "0123456789abcdef")  # consumer "test", an earlier life
        # other live consumers, some whose names start like "test-<nonce>-"
        others = ["%d-elsewhere-%s-7" % (now_ms, "fedcba9876543210"),
                  "%d-test-0-%s-7" % (now_ms, "fedcba9876543210"),
                  "%d-test-0123456789abcdef-1-%s-7" % (now_ms, "aaaaaaaaaaaaaaaa")]
        for q, unit in enumerate([mine] + others, 800001):
            check_eq(_cmd(st, "EVALSHA", sha, 2, applied, journal, "stage", 1, q, unit, pre, chunk1, chunk2),
                     "ok", "stage of %s" % unit)
        st.processes = 1
        st.start_worker(consumer="test")  # default --claim-idle-ms: 30 s
        wait_until(lambda: _cmd(st, "HEXISTS", journal, mine + ":2") == 0, 10, 0.1,
                   what="own earlier chunk swept at start")
        time.sleep(0.5)
        check_eq(_cmd(st, "HGET", pre + "r:test:q", "f"), "2", "own earlier chunk applied once")
        for unit in others:
            check_eq(_cmd(st, "HEXISTS", journal, unit + ":2"), 1, "fresh chunk of another consumer (%s)" % unit)
