# SPDX-License-Identifier: Apache-2.0
"""Integration harness: real quiverd processes on free loopback ports.

Every node gets a fresh data directory and a log file (its stdout and stderr)
under pytest's temporary directory; the tail of the log of every node a test
used is attached to the report when that test fails.

    node.post("collections/list", {"dbName": "x"}, headers={...}) -> Resp
    node.get("/livez") -> Resp
    node.stop() -> exit code (SIGTERM), node.kill9(), node.restart()

Fixtures: ``node`` (a fresh node per test), ``shared_node`` (one node per
module for read-mostly tests), ``node_factory`` (start several, or with
``env=`` / ``flags=``), ``quiverd_bin`` (path of the binary).

The binary is $QUIVERD (set by meson) or <repo>/build/quiverd.
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
QUIVERD = os.environ.get("QUIVERD") or str(REPO / "build" / "quiverd")
V2 = "/v2/vectordb/"
START_TIMEOUT = 15.0
REQUEST_TIMEOUT = 15.0


def free_port():
    """A port nobody listens on right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra=None):
    """The test process's environment without QUIVER__* variables, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIVER__")}
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


class Resp:
    """An HTTP answer: status, headers, the parsed JSON body (or None) and text."""

    def __init__(self, r):
        self.raw = r
        self.status = r.status_code
        self.headers = r.headers
        self.content = r.content
        self.text = r.text
        try:
            self.json = r.json()
        except ValueError:
            self.json = None

    @property
    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    @property
    def data(self):
        return self.json.get("data") if isinstance(self.json, dict) else None

    @property
    def message(self):
        return self.json.get("message", "") if isinstance(self.json, dict) else ""

    def __getitem__(self, key):
        return self.json[key]

    def __contains__(self, key):
        return isinstance(self.json, dict) and key in self.json

    def __repr__(self):
        return "<HTTP %d %s>" % (self.status, self.text[:600])


class Node:
    """One quiverd process; port and data directory survive restarts."""

    def __init__(self, workdir, name="node", env=None, flags=(), port=None, data_dir=None):
        self.workdir = pathlib.Path(workdir)
        self.name = name
        self.port = port or free_port()
        self.data_dir = pathlib.Path(data_dir or self.workdir / ("%s-data" % name))
        self.log_path = self.workdir / ("%s.log" % name)
        self.env = dict(env or {})
        self.flags = [str(f) for f in flags]
        self.proc = None
        self.session = None
        self.starts = 0

    # ---- process -------------------------------------------------------------------
    @property
    def listen(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return "http://%s" % self.listen

    def command(self):
        return [QUIVERD, "--listen", self.listen, "--data-dir", str(self.data_dir)] + self.flags

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(b"==== start %d: %s\n" % (self.starts, " ".join(self.command()).encode()))
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=clean_env(self.env))
        self.starts += 1
        self.new_session()
        if wait:
            self.wait_live()
        return self

    def new_session(self):
        if self.session:
            self.session.close()
        self.session = requests.Session()

    def wait_live(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("quiverd exited with %s during start-up:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            try:
                if requests.get(self.url + "/livez", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError("quiverd did not answer /livez within %ss:\n%s"
                           % (timeout, self.log_tail()))

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=20):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=20):
        """SIGTERM, wait, return the exit code."""
        if self.session:
            self.session.close()
        if not self.running:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill9(self):
        if self.session:
            self.session.close()
        if self.running:
            self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(timeout=10)

    def restart(self, env=None, flags=None, wait=True):
        """Stop (if running) and start again on the same port and data directory."""
        if self.running:
            rc = self.stop()
            assert rc == 0, "quiverd exited with %s on SIGTERM:\n%s" % (rc, self.log_tail())
        if env is not None:
            self.env = dict(env)
        if flags is not None:
            self.flags = [str(f) for f in flags]
        return self.start(wait=wait)

    def cleanup(self):
        if self.session:
            self.session.close()
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # ---- logs --------------------------------------------------------------------------
    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_log(self, needle, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.02)
        raise AssertionError("%r not logged within %ss:\n%s" % (needle, timeout, self.log_tail()))

    # ---- HTTP ----------------------------------------------------------------------------
    def path(self, path):
        return path if path.startswith("/") else V2 + path

    def post(self, path, body=None, headers=None, timeout=REQUEST_TIMEOUT):
        """POST body (dict/list/None → JSON, bytes/str → as is) to path.

        A path without a leading slash is relative to /v2/vectordb/; None sends {}."""
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        if body is None:
            data = b"{}"
        elif isinstance(body, (bytes, bytearray, str)) or hasattr(body, "__next__"):
            data = body
        else:
            data = json.dumps(body).encode()
        return Resp(self.session.post(self.url + self.path(path), data=data, headers=hdrs,
                                      timeout=timeout))

    def get(self, path, headers=None, timeout=REQUEST_TIMEOUT):
        return Resp(self.session.get(self.url + self.path(path), headers=headers or {},
                                     timeout=timeout))

    def request(self, method, path, headers=None, data=None, timeout=REQUEST_TIMEOUT):
        return Resp(self.session.request(method, self.url + self.path(path), headers=headers or {},
                                         data=data, timeout=timeout))

    def __repr__(self):
        return "<quiverd %s on %s>" % (self.name, self.listen)


class NodeFactory:
    """Starts nodes for one test (or module) and stops them afterwards."""

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.nodes = []

    def __call__(self, name=None, env=None, flags=(), start=True, port=None, data_dir=None):
        name = name or "node%d" % len(self.nodes)
        n = Node(self.workdir, name=name, env=env, flags=flags, port=port, data_dir=data_dir)
        self.nodes.append(n)
        if start:
            n.start()
        return n

    def cleanup(self):
        for n in self.nodes:
            n.cleanup()


# ---- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def quiverd_bin():
    if not os.access(QUIVERD, os.X_OK):
        pytest.exit("quiverd binary not found at %s (build it or set QUIVERD)" % QUIVERD, 2)
    return QUIVERD


@pytest.fixture
def node_factory(quiverd_bin, tmp_path):
    f = NodeFactory(tmp_path)
    yield f
    f.cleanup()


@pytest.fixture
def node(node_factory):
    return node_factory("node")


@pytest.fixture(scope="module")
def shared_node(quiverd_bin, tmp_path_factory, request):
    name = request.module.__name__.split(".")[-1]
    f = NodeFactory(tmp_path_factory.mktemp(name))
    n = f("shared")
    yield n
    f.cleanup()


def _nodes_of(item):
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Node):
            yield value
        elif isinstance(value, NodeFactory):
            yield from value.nodes


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        seen = set()
        for n in _nodes_of(item):
            if id(n) in seen:
                continue
            seen.add(id(n))
            rep.sections.append(("quiverd %s log tail (%s)" % (n.name, n.log_path), n.log_tail()))
