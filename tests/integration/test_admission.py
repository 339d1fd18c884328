# SPDX-License-Identifier: Apache-2.0
"""Admission: at most server.max_inflight requests in flight; beyond it Milvus's
rate-limit answer comes at once (code 1807, REF §1.6) instead of a queue, probes and
/metrics stay reachable, and rejections are counted in /metrics.

Deterministic: a raw connection sends a request's headers and only part of its body, so
that request holds its slot until the connection closes."""
import re
import select
import socket
import time

import pytest

from helpers import ok

RATE_LIMIT = 1807


def hold_slot(node):
    """A connection whose request holds a slot. The server may still be finishing the
    previous request (its slot is released just after its answer goes out), so a held
    request that got refused at once is retried."""
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        s.sendall(b"POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        if not select.select([s], [], [], 0.2)[0]:
            return s  # no answer: the request is in flight, waiting for its body
        s.close()
    raise AssertionError("could not hold a slot")


def until(fn, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = fn()
        if r is not None:
            return r
        time.sleep(0.02)
    raise AssertionError("condition not reached in %ss" % timeout)


def rejected(node):
    """The next v2 request, once it is refused (the held one may still be on its way)."""
    return until(lambda: (lambda r: r if r.code == RATE_LIMIT else None)(
        node.post("collections/list", {})))


def rejections(node):
    m = re.search(r"^quiver_http_requests_rejected_total (\d+)", node.get("/metrics").text, re.M)
    return int(m.group(1))


def test_beyond_max_inflight_is_refused_at_once(node_factory):
    n = node_factory("adm", flags=["--server.max_inflight", "1"])
    ok(n.post("collections/list", {}))
    held = hold_slot(n)
    try:
        r = rejected(n)
        assert r.status == 200, r  # Milvus answers 1807 with HTTP 200
        assert "rate limit exceeded" in r.message and "server.max_inflight" in r.message, r
        t0 = time.monotonic()
        r = n.post("entities/insert", {"collectionName": "x", "data": [{"id": 1}]})
        assert r.code == RATE_LIMIT and time.monotonic() - t0 < 2, r
        # the node still reports on itself
        assert n.get("/livez").status == 200 and n.get("/readyz").status == 200
        assert rejections(n) >= 2
    finally:
        held.close()
    # the slot comes back when the held request ends
    until(lambda: True if n.post("collections/list", {}).code == 0 else None)


def test_strict_statuses_use_429(node_factory):
    n = node_factory("adm429", flags=["--server.max_inflight", "1",
                                      "--server.strict_http_status", "true"])
    held = hold_slot(n)
    try:
        r = rejected(n)
        assert r.status == 429, r
    finally:
        held.close()


@pytest.mark.parametrize("limit", [4])
def test_within_the_limit_nothing_is_refused(node_factory, limit):
    n = node_factory("adm4", flags=["--server.max_inflight", str(limit)])
    held = [hold_slot(n) for _ in range(limit - 1)]
    try:
        time.sleep(0.2)
        for _ in range(5):
            ok(n.post("collections/list", {}))
        assert rejections(n) == 0
        extra = hold_slot(n)
        try:
            rejected(n)
        finally:
            extra.close()
    finally:
        for s in held:
            s.close()
