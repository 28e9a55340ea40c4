"""
Integration-test harness: real redis-server, real salesgate-gateway and
salesgate-worker processes, and small HTTP / RESP clients. Standard library
only.

Every process started here runs in its own session (process group) so that
a stop can sweep its children too (the worker is a pre-forking supervisor).
Each one is registered in a module-wide table that an atexit hook drains,
and, when SALESGATE_TEST_PIDDIR is set (tests/run sets it), a pid file per
process lets the calling shell kill whatever a crashed interpreter left.

Environment:
  SALESGATE_BUILD_DIR   build directory holding the binaries (default: build)
  SALESGATE_TEST_LOGS   where process logs go (default: <build>/integration-logs)
  SALESGATE_TEST_PIDDIR pid files of live processes, for tests/run's trap
"""

import atexit
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    """Absolute build directory (SALESGATE_BUILD_DIR, relative to the repo root)."""
    d = os.environ.get("SALESGATE_BUILD_DIR", "build")
    return d if os.path.isabs(d) else os.path.join(ROOT, d)


def gateway_bin():
    return os.path.join(build_dir(), "gateway", "salesgate-gateway")


def worker_bin():
    return os.path.join(build_dir(), "worker", "salesgate-worker")


def log_dir():
    d = os.environ.get("SALESGATE_TEST_LOGS") or os.path.join(build_dir(), "integration-logs")
    os.makedirs(d, exist_ok=True)
    return d


class Skip(Exception):
    """Raised by a test that cannot run here; the runner counts it as skipped."""


class TestTimeout(Exception):
    """Raised (from SIGALRM) when a test overruns its time budget."""


_notes = []


def note(msg):
    """Records an informational line the runner prints under the test's result."""
    _notes.append(str(msg))


def take_notes():
    out = list(_notes)
    _notes.clear()
    return out


def timeout(seconds):
    """Decorator: the runner aborts the test after `seconds` (default 60)."""

    def deco(fn):
        fn.timeout = seconds
        return fn

    return deco


def xfail(reason):
    """
    Decorator for a known gateway/worker shortfall outside the written
    contract: a failure is reported as SKIP ("xfail: reason") so CI stays
    green, a pass is reported as PASS with a note to remove the marker.
    """

    def deco(fn):
        fn.xfail = reason
        return fn

    return deco


def free_port():
    """A loopback TCP port that was free a moment ago (bind port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def rand_id(n=8):
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def wait_until(pred, timeout=10.0, interval=0.05, what=None):
    """
    Calls pred() until it returns something truthy, and returns that value.
    An AssertionError (or connection error) raised by pred counts as "not yet".
    After `timeout` seconds raises AssertionError with the last value or error.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last = v
        except (AssertionError, OSError, http.client.HTTPException) as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(
                "timed out after %.1fs waiting for %s; last: %s"
                % (timeout, what or getattr(pred, "__name__", "condition"), _short(last, 1500))
            )
        time.sleep(interval)


def _short(v, n=600):
    s = v if isinstance(v, str) else repr(v) if not isinstance(v, BaseException) else str(v)
    return s if len(s) <= n else s[:n] + "…(%d more chars)" % (len(s) - n)


# --------------------------------------------------------------------------
# processes

_live = {}  # pid -> Proc
_live_lock = threading.Lock()


def _piddir():
    return os.environ.get("SALESGATE_TEST_PIDDIR")


class Proc:
    """A child process in its own session, logging to a file."""

    def __init__(self, name, argv, env=None, logname=None):
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = os.path.join(log_dir(), logname or ("%s.log" % name))
        self.popen = None

    def start(self):
        if not os.path.exists(self.argv[0]) and os.sep in self.argv[0]:
            raise AssertionError("%s: binary %s does not exist (not built?)" % (self.name, self.argv[0]))
        logf = open(self.log_path, "ab")
        logf.write(("\n==== %s start: %s\n" % (time.strftime("%H:%M:%S"), " ".join(self.argv))).encode())
        logf.flush()
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        finally:
            logf.close()
        with _live_lock:
            _live[self.popen.pid] = self
        d = _piddir()
        if d:
            try:
                with open(os.path.join(d, str(self.popen.pid)), "w") as f:
                    f.write(self.name + "\n")
            except OSError:
                pass
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def returncode(self):
        return None if self.popen is None else self.popen.poll()

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def killpg(self, sig=signal.SIGKILL):
        """Signals the whole process group (the process and its children)."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout):
        """Waits for exit; returns the exit code or None on timeout."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, grace=10.0):
        """
        Sends sig, waits up to grace seconds, then SIGKILLs the group. Always
        sweeps the group afterwards so no child outlives its parent. Returns
        the exit code of the process (negative: killed by that signal).
        """
        if self.popen is None:
            return None
        rc = self.popen.poll()
        if rc is None:
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            rc = self.wait(grace)
            if rc is None:
                self.killpg(signal.SIGKILL)
                rc = self.wait(10)
        self.killpg(signal.SIGKILL)
        self._forget()
        return rc

    def _forget(self):
        with _live_lock:
            _live.pop(self.popen.pid, None)
        d = _piddir()
        if d:
            try:
                os.unlink(os.path.join(d, str(self.popen.pid)))
            except OSError:
                pass

    def log_tail(self, n=25):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 16384))
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"


_SANITIZER_MARKS = (b"runtime error:", b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                    b"WARNING: ThreadSanitizer", b"ERROR: UndefinedBehaviorSanitizer")
_scan_offsets = {}


def sanitizer_reports():
    """
    New sanitizer reports (ASan/UBSan/LSan) in the process logs since the
    last call: a list of short excerpts naming the log file.
    """
    out = []
    d = log_dir()
    for fn in sorted(os.listdir(d)):
        path = os.path.join(d, fn)
        try:
            size = os.path.getsize(path)
            start = _scan_offsets.get(path, 0)
            if size <= start:
                continue
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read(size - start)
            _scan_offsets[path] = size
        except OSError:
            continue
        for mark in _SANITIZER_MARKS:
            i = data.find(mark)
            if i >= 0:
                line_start = data.rfind(b"\n", 0, i) + 1
                excerpt = data[line_start:line_start + 900].decode("utf-8", "replace")
                out.append("%s: %s" % (fn, excerpt))
                break
    return out


def cleanup_all():
    """Kills every process this harness started that is still registered."""
    with _live_lock:
        procs = list(_live.values())
    for p in procs:
        try:
            p.stop(grace=3.0)
        except Exception:
            p.killpg(signal.SIGKILL)


atexit.register(cleanup_all)


# --------------------------------------------------------------------------
# redis

class RedisError(Exception):
    pass


def _resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RedisError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_resp_read(f) for _ in range(n)]
    raise RedisError("bad RESP type %r" % line)


def redis_command(port, *args, timeout=5.0):
    """Runs one command on 127.0.0.1:port with a fresh connection; returns the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(_resp_encode(args))
        with s.makefile("rb") as f:
            return _resp_read(f)


class RedisServer:
    """A redis-server on a free loopback port with its own data dir (AOF on)."""

    def __init__(self, name="redis", port=None):
        self.name = name
        self.port = port or free_port()
        self.fixed_port = port is not None
        self.dir = tempfile.mkdtemp(prefix="sg-redis-")
        self.proc = None

    def start(self, timeout=10.0):
        for attempt in range(3):
            log = "%s-%d.log" % (self.name, self.port)
            argv = [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", self.dir,
                "--logfile", os.path.join(log_dir(), log),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--daemonize", "no",
                "--protected-mode", "yes",
                "--maxmemory-policy", "noeviction",
            ]
            self.proc = Proc(self.name, argv, logname=log + ".out").start()
            try:
                wait_until(self._ready, timeout, 0.02, "redis PONG on port %d" % self.port)
                return self
            except AssertionError:
                self.proc.stop(grace=2)
                if self.fixed_port or attempt == 2:
                    raise AssertionError(
                        "redis-server did not start on port %d; log:\n%s"
                        % (self.port, _tail_file(os.path.join(log_dir(), log)))
                    )
                self.port = free_port()  # lost a race for the port: try another
        return self

    def _ready(self):
        if not self.proc.alive():
            raise AssertionError("redis-server exited with %s" % self.proc.returncode())
        try:
            return self.command("PING") == "PONG"
        except (OSError, RedisError):
            return False

    def command(self, *args, timeout=5.0):
        return redis_command(self.port, *args, timeout=timeout)

    def stop(self):
        """TERM (redis fsyncs the AOF on shutdown) then KILL; keeps the data dir."""
        if self.proc:
            self.proc.stop(signal.SIGTERM, grace=10)

    def restart(self, timeout=10.0):
        """Stops and starts again on the same port and data dir."""
        self.stop()
        self.fixed_port = True
        return self.start(timeout)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port


def _tail_file(path, n=20):
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
    except OSError:
        return "(no log at %s)" % path


# --------------------------------------------------------------------------
# HTTP

class Response:
    def __init__(self, method, path, status, reason, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self._json = None

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body)
            except ValueError:
                raise AssertionError(
                    "%s %s → %d: body is not JSON: %s" % (self.method, self.path, self.status, _short(self.text))
                )
        return self._json

    def describe(self):
        return "%s %s → %d %s" % (self.method, self.path, self.status, _short(self.text, 800))

    def __repr__(self):
        return "<Response %s>" % self.describe()


class Client:
    """
    A tiny HTTP/1.1 client for one host. By default a fresh connection per
    request (no ambiguity about retries); keep_alive=True reuses one.
    """

    def __init__(self, host, port, headers=None, timeout=15.0, keep_alive=False):
        self.host = host
        self.port = port
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.keep_alive = keep_alive
        self._conn = None

    def with_headers(self, **kw):
        h = dict(self.headers)
        for k, v in kw.items():
            h[k.replace("_", "-")] = v
        return Client(self.host, self.port, h, self.timeout, self.keep_alive)

    def close(self):
        if self._conn:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None, headers=None, content_type="application/json"):
        """
        Sends a request. body: dict/list (sent as JSON), str/bytes (sent raw)
        or None. Returns a Response; raises OSError / HTTPException when the
        connection fails.
        """
        h = dict(self.headers)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None and content_type is not None:
            h.setdefault("Content-Type", content_type)
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        conn = self._conn if self.keep_alive else None
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            resp = Response(method, path, r.status, r.reason, r.getheaders(), data)
        except BaseException:
            conn.close()
            self._conn = None
            raise
        if self.keep_alive and not r.will_close:
            self._conn = conn
        else:
            conn.close()
            self._conn = None
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def raw_http(port, data, timeout=15.0, host="127.0.0.1"):
    """
    Writes raw bytes on a fresh connection (ignoring send errors, as a
    server may answer and close before reading everything), then reads until
    the server closes or a full response arrives. Returns (status, headers
    dict lowercased, body bytes) or raises AssertionError when there is no
    HTTP response at all.
    """
    s = socket.create_connection((host, port), timeout=timeout)
    buf = b""
    try:
        try:
            view = memoryview(data)
            while view:
                n = s.send(view[:65536])
                view = view[n:]
        except (BrokenPipeError, ConnectionResetError):
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            parsed = _parse_http(buf)
            if parsed:
                return parsed
    finally:
        s.close()
    parsed = _parse_http(buf, final=True)
    if not parsed:
        raise AssertionError("no HTTP response (got %r)" % buf[:200])
    return parsed


def _parse_http(buf, final=False):
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise AssertionError("malformed status line %r" % lines[0])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(rest) < n:
            return None
        return status, headers, rest[:n]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body, pos = b"", 0
        while True:
            eol = rest.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(rest[pos:eol].split(b";")[0], 16)
            if size == 0:
                return status, headers, body
            if len(rest) < eol + 2 + size + 2:
                return None
            body += rest[eol + 2: eol + 2 + size]
            pos = eol + 2 + size + 2
    return (status, headers, rest) if final else None


def qs(**params):
    """URL query string from keyword args (None values dropped), '+' encoded."""
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, quote_via=urllib.parse.quote)


# --------------------------------------------------------------------------
# assertions

def expect_status(resp, *statuses):
    """Fails with the full request/response when resp.status is not one of statuses."""
    if resp.status not in statuses:
        raise AssertionError(
            "expected %s: %s" % (" or ".join(str(s) for s in statuses), resp.describe())
        )
    return resp


def expect_error(resp, status, code=None, fields=None, prefix=False):
    """
    Checks the status, the {"error":{"code","message",...}} shape, the code
    (a string or a set of acceptable codes) and that every name in fields
    appears as a details[].field (prefix=True: or names a field inside it,
    "a.b" covering "a.b.c" and "a.b[0]"). Returns the error object.
    """
    expect_status(resp, status)
    body = resp.json
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        raise AssertionError("no error object: %s" % resp.describe())
    if not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str):
        raise AssertionError("error lacks string code/message: %s" % resp.describe())
    if code is not None:
        codes = {code} if isinstance(code, str) else set(code)
        if err["code"] not in codes:
            raise AssertionError("expected error code %s: %s" % ("/".join(sorted(codes)), resp.describe()))
    if fields:
        got = error_fields(err)

        def named(f):
            return f in got or (prefix and any(
                isinstance(g, str) and (g.startswith(f + ".") or g.startswith(f + "[")) for g in got))

        missing = [f for f in fields if not named(f)]
        if missing:
            raise AssertionError(
                "error details do not name %s (named: %s): %s" % (missing, sorted(got), resp.describe())
            )
    return err


def error_fields(err):
    details = err.get("details") or []
    return {d.get("field") for d in details if isinstance(d, dict)}


def check(cond, msg, *args):
    if not cond:
        raise AssertionError(msg % args if args else msg)


def check_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: expected %s, got %s" % (what, _short(repr(want), 1500), _short(repr(got), 1500)))


# --------------------------------------------------------------------------
# gateway / worker / stack

class Gateway:
    def __init__(self, redis_port, admin_token=None, threads=2, max_body=None, port=None,
                 extra_args=(), name="gateway"):
        self.redis_port = redis_port
        self.admin_token = admin_token or ("adm_" + secrets.token_hex(16))
        self.threads = threads
        self.max_body = max_body
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.name = name
        self.proc = None

    def argv(self):
        a = [gateway_bin(), "--listen", "127.0.0.1:%d" % self.port,
             "--redis", "127.0.0.1:%d" % self.redis_port, "--threads", str(self.threads)]
        if self.max_body is not None:
            a += ["--max-body", str(self.max_body)]
        return a + self.extra_args

    def start(self, timeout=10.0, wait_ready=True):
        env = dict(os.environ)
        env["SALESGATE_ADMIN_TOKEN"] = self.admin_token
        self.proc = Proc(self.name, self.argv(), env=env,
                         logname="%s-%d.log" % (self.name, self.port)).start()

        def healthy():
            if not self.proc.alive():
                raise _Fatal("gateway exited with %s; log:\n%s" % (self.proc.returncode(), self.proc.log_tail()))
            try:
                return self.client().get("/healthz").status == 200
            except (OSError, http.client.HTTPException):
                return False

        try:
            _wait_fatal(healthy, timeout, "gateway /healthz on port %d" % self.port)
            if wait_ready:
                _wait_fatal(lambda: self.client().get("/readyz").status == 200, timeout,
                            "gateway /readyz on port %d" % self.port)
        except AssertionError as e:
            raise AssertionError("%s\ngateway log:\n%s" % (e, self.proc.log_tail()))
        return self

    def client(self, **kw):
        return Client("127.0.0.1", self.port, **kw)

    def admin(self, token=None):
        return self.client(headers={"Authorization": "Bearer %s" % (token or self.admin_token)})

    def stop(self, sig=signal.SIGTERM, grace=10.0):
        return self.proc.stop(sig, grace) if self.proc else None


class _Fatal(AssertionError):
    pass


def _wait_fatal(pred, timeout, what):
    """wait_until, but a _Fatal raised by pred ends the wait at once."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            if pred():
                return
        except _Fatal:
            raise
        except (AssertionError, OSError, http.client.HTTPException) as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s (%s)" % (timeout, what, last))
        time.sleep(0.05)


class Worker:
    def __init__(self, redis_port, processes=2, consumer="test", name="worker", extra_args=()):
        self.redis_port = redis_port
        self.processes = processes
        self.consumer = consumer
        self.name = name
        self.extra_args = list(extra_args)
        self.proc = None

    def argv(self):
        return [worker_bin(), "--redis", "127.0.0.1:%d" % self.redis_port,
                "--processes", str(self.processes), "--consumer", self.consumer] + self.extra_args

    def start(self):
        self.proc = Proc(self.name, self.argv(), logname="%s-%d.log" % (self.name, self.redis_port)).start()
        time.sleep(0.1)
        if not self.proc.alive():
            raise AssertionError("worker exited at once with %s; log:\n%s"
                                 % (self.proc.returncode(), self.proc.log_tail()))
        return self

    def pids(self):
        """The supervisor and every process of its group (from /proc)."""
        if not self.proc or not self.proc.popen:
            return []
        pg = self.proc.pid
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                fields = st[st.rindex(")") + 2:].split()
                if int(fields[2]) == pg and fields[0] != "Z":
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                continue
        return out

    def kill9(self):
        """SIGKILLs the supervisor and all its worker processes at once."""
        if self.proc:
            self.proc.killpg(signal.SIGKILL)
            self.proc.wait(10)
            self.proc._forget()

    def stop(self, sig=signal.SIGTERM, grace=10.0):
        return self.proc.stop(sig, grace) if self.proc else None


class Tenant:
    def __init__(self, stack, tid, key):
        self.stack = stack
        self.id = tid
        self.key = key
        self.api = stack.gateway.client(headers={"x-api-key": key})

    def create_store(self, external_id=None, name=None, **extra):
        ext = external_id or ("store-" + rand_id(6))
        body = {"external_id": ext, "name": name or ("Store " + ext)}
        body.update(extra)
        r = self.api.post("/v1/stores", body)
        expect_status(r, 201, 200)
        return r.json


class Stack:
    """redis-server + gateway + worker, started together, stopped together."""

    def __init__(self, worker=True, threads=2, processes=2, name="stack"):
        self.name = name
        self.redis = RedisServer(name + "-redis")
        self.gateway = None
        self.worker = None
        self.want_worker = worker
        self.threads = threads
        self.processes = processes
        self.admin_token = "adm_" + secrets.token_hex(16)

    def start(self):
        try:
            self.redis.start()
            self.gateway = Gateway(self.redis.port, self.admin_token, self.threads,
                                   name=self.name + "-gateway").start()
            if self.want_worker:
                self.start_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def start_worker(self, consumer="test", extra_args=()):
        self.worker = Worker(self.redis.port, self.processes, consumer, name=self.name + "-worker",
                             extra_args=extra_args).start()
        return self.worker

    def stop(self):
        for p in (self.worker, self.gateway):
            if p is not None:
                try:
                    p.stop()
                except Exception:
                    pass
        self.redis.destroy()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def dead(self):
        """Descriptions of processes of this stack that died unexpectedly."""
        out = []
        for label, p in (("redis-server", self.redis.proc), ("gateway", self.gateway and self.gateway.proc),
                         ("worker", self.worker and self.worker.proc)):
            if p is not None and p.popen is not None and not p.alive():
                out.append("%s exited with code %s; log tail:\n%s" % (label, p.returncode(), p.log_tail(15)))
        return out

    def client(self, **kw):
        return self.gateway.client(**kw)

    def admin(self, token=None):
        return self.gateway.admin(token)

    def new_tenant(self, prefix="t", timezone="Europe/Paris", currency="EUR", key=None):
        """Creates a tenant with a random id and one API key through the admin API."""
        tid = "%s-%s" % (prefix, rand_id(8))
        adm = self.admin()
        r = adm.post("/admin/v1/tenants", {"id": tid, "timezone": timezone, "default_currency": currency})
        expect_status(r, 201)
        body = {"label": "integration tests"}
        if key:
            body["key"] = key
        r = adm.post("/admin/v1/tenants/%s/keys" % tid, body)
        expect_status(r, 201)
        k = r.json.get("key")
        check(isinstance(k, str) and k, "no key in %s", r.describe())
        return Tenant(self, tid, k)


def iso_utc(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()
