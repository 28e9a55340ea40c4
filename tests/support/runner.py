#!/usr/bin/env python3
"""
Integration test runner (standard library only).

Discovers tests/integration/test_*.py, runs every function named test_* in
file order, one line per test (PASS / FAIL / SKIP), and ends with
"integration: N passed, N failed, N skipped". A test taking a `stack`
parameter gets the session's shared redis + gateway + worker (started on
first use); other tests start what they need themselves. Each test has a
time budget (harness.timeout decorator, default 60 s) enforced by SIGALRM.
After a test that used the shared stack, a process of it that died fails
that test ("never a crash") and the stack is started afresh.

usage: runner.py [-k PATTERN]... [--summary FILE] [--list] [-x]
"""

import argparse
import importlib.util
import inspect
import json
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

TESTS_DIR = os.path.join(harness.ROOT, "tests", "integration")
DEFAULT_TIMEOUT = 60


def discover(patterns):
    sys.path.insert(0, TESTS_DIR)
    found = []
    for fn in sorted(os.listdir(TESTS_DIR)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        modname = fn[:-3]
        spec = importlib.util.spec_from_file_location(modname, os.path.join(TESTS_DIR, fn))
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:
            found.append((modname, "<import>", None, traceback.format_exc(limit=3)))
            continue
        for name, obj in vars(mod).items():
            if name.startswith("test_") and inspect.isfunction(obj) and obj.__module__ == modname:
                full = "%s::%s" % (modname, name)
                if patterns and not any(p.lower() in full.lower() for p in patterns):
                    continue
                found.append((modname, name, obj, None))
    return found


class Alarm:
    def __init__(self, seconds):
        self.seconds = seconds

    def _fire(self, signum, frame):
        raise harness.TestTimeout("test exceeded its %ss budget" % self.seconds)

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        return False


def _terminate(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[], help="substring of module::test (repeatable, OR)")
    ap.add_argument("--summary", help="write {passed, failed, skipped, failures} JSON here")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("-x", "--exitfirst", action="store_true")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, _terminate)
    tests = discover(args.k)
    if args.list:
        for mod, name, _, _ in tests:
            print("%s::%s" % (mod, name))
        return 0

    passed = failed = skipped = 0
    failures = []
    harness.sanitizer_reports()  # baseline: older logs are not this run's
    shared = None
    shared_error = None
    started = time.monotonic()
    try:
        for mod, name, fn, import_error in tests:
            full = "%s::%s" % (mod, name)
            t0 = time.monotonic()
            status, detail = "PASS", None
            used_shared = False
            if import_error:
                status, detail = "FAIL", import_error
            else:
                try:
                    kwargs = {}
                    params = inspect.signature(fn).parameters
                    budget = getattr(fn, "timeout", DEFAULT_TIMEOUT)
                    with Alarm(budget):
                        if "stack" in params:
                            used_shared = True
                            if shared is None:
                                if shared_error:
                                    raise AssertionError("shared stack unavailable: " + shared_error)
                                try:
                                    shared = harness.Stack(name="shared").start()
                                except AssertionError as e:
                                    shared_error = str(e).splitlines()[0]
                                    raise
                            kwargs["stack"] = shared
                        fn(**kwargs)
                except harness.Skip as e:
                    status, detail = "SKIP", str(e)
                except KeyboardInterrupt:
                    raise
                except AssertionError as e:
                    status, detail = "FAIL", str(e) or traceback.format_exc(limit=2)
                    where = _where(e)
                    if where:
                        detail += "\n    at " + where
                except harness.TestTimeout as e:
                    status, detail = "FAIL", "%s\n    at %s" % (e, _where(e))
                except Exception:
                    status, detail = "FAIL", traceback.format_exc(limit=4)
            reports = harness.sanitizer_reports()
            if reports:
                status = "FAIL"
                detail = ((detail + "\n") if detail else "") + "SANITIZER: " + "\n".join(reports[:3])
            xf = getattr(fn, "xfail", None) if fn else None
            if xf and status == "FAIL":
                status, detail = "SKIP", "xfail (%s): %s" % (xf, detail)
            elif xf and status == "PASS":
                harness.note("XPASS: passes now; remove @xfail(%r)" % xf)
            if used_shared and shared is not None:
                dead = shared.dead()
                if dead:
                    status = "FAIL"
                    detail = ((detail + "\n") if detail else "") + "CRASH: " + "\n".join(dead)
                    shared.stop()
                    shared = None
            dt = time.monotonic() - t0
            harness.log("%s %s (%.2fs)" % (status, full, dt))
            for n in harness.take_notes():
                harness.log("    note: " + n)
            if detail and status != "PASS":
                harness.log("    " + detail.rstrip().replace("\n", "\n    "))
            if status == "PASS":
                passed += 1
            elif status == "SKIP":
                skipped += 1
            else:
                failed += 1
                failures.append({"test": full, "detail": detail})
                if args.exitfirst:
                    break
    except KeyboardInterrupt as e:
        harness.log("INTERRUPTED (%s)" % (e or "Ctrl-C"))
        failed += 1
        failures.append({"test": "<interrupted>", "detail": str(e)})
    finally:
        if shared is not None:
            shared.stop()
        harness.cleanup_all()
    reports = harness.sanitizer_reports()
    if reports:  # e.g. leaks reported when the shared stack exited
        harness.log("FAIL <shutdown of the shared stack>\n    SANITIZER: " + "\n".join(reports[:3]))
        failed += 1
        failures.append({"test": "<shutdown>", "detail": "\n".join(reports)})

    harness.log("integration: %d passed, %d failed, %d skipped in %.1fs"
                % (passed, failed, skipped, time.monotonic() - started))
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump({"passed": passed, "failed": failed, "skipped": skipped, "failures": failures}, f)
    return 1 if failed else 0


def _where(exc):
    """file:line of the innermost frame in tests/integration of exc's traceback."""
    tb = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(tb):
        if fr.filename.startswith(TESTS_DIR):
            return "%s:%d: %s" % (os.path.basename(fr.filename), fr.lineno, fr.line)
    return None


if __name__ == "__main__":
    sys.exit(main())
