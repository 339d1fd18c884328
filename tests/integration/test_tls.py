# SPDX-License-Identifier: Apache-2.0
"""HTTPS: a node given server.tls_cert_file and server.tls_key_file serves TLS only
(libmicrohttpd over GnuTLS), clients verify it against a self-signed certificate made
here with `openssl req -x509`, and `quiverd healthcheck` probes it over TLS."""
import subprocess
import time

import pytest
import requests

from conftest import QUIVERD, V2
from helpers import ok, uniq


def make_cert(dirpath, name="node", cn="localhost"):
    cert, key = dirpath / ("%s.crt" % name), dirpath / ("%s.key" % name)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def cert_pair(tmp_path):
    return make_cert(tmp_path)


def start_tls(node_factory, cert, key, name="tls", env=None):
    n = node_factory(name, env=env, start=False,
                     flags=["--server.tls_cert_file", cert, "--server.tls_key_file", key])
    n.start(wait=False)
    url = "https://%s" % n.listen
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert n.proc.poll() is None, n.log_tail()
        try:
            if requests.get(url + "/livez", verify=str(cert), timeout=1).status_code == 200:
                return n, url
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError("no HTTPS answer:\n" + n.log_tail())


def healthcheck(n, *flags):
    return subprocess.run([QUIVERD, "healthcheck", "--listen", n.listen] + [str(f) for f in flags],
                          capture_output=True, text=True, timeout=20)


def test_https_serves_the_api(node_factory, cert_pair):
    cert, key = cert_pair
    n, url = start_tls(node_factory, cert, key)
    def post(path, body):  # verify per call: a Session's verify loses to REQUESTS_CA_BUNDLE
        return requests.post(url + V2 + path, json=body, verify=str(cert), timeout=15).json()

    name = uniq()
    assert post("collections/create", {"collectionName": name, "dimension": 4})["code"] == 0
    r = post("entities/insert", {"collectionName": name, "data": [{"id": 1, "vector": [1, 0, 0, 0]}]})
    assert r["code"] == 0, r
    r = post("entities/search", {"collectionName": name, "data": [[1, 0, 0, 0]], "limit": 1})
    assert r["data"][0]["id"] == 1, r
    assert "https" in n.log_text()
    # plain HTTP on the TLS port gets no HTTP answer
    with pytest.raises(requests.RequestException):
        requests.get("http://%s/livez" % n.listen, timeout=3)


def test_healthcheck_over_tls(node_factory, cert_pair, tmp_path):
    cert, key = cert_pair
    n, _ = start_tls(node_factory, cert, key)
    r = healthcheck(n, "--server.tls_cert_file", cert)
    assert r.returncode == 0, r.stderr
    r = healthcheck(n)  # plain HTTP against an HTTPS node
    assert r.returncode == 1
    other, _ = make_cert(tmp_path, "other", cn="someone-else")
    r = healthcheck(n, "--server.tls_cert_file", other)  # not the node's certificate
    assert r.returncode == 1 and "not trusted" in r.stderr, r.stderr


def test_https_with_auth(node_factory, cert_pair):
    cert, key = cert_pair
    env = {"QUIVER__AUTH__ENABLED": "true", "QUIVER__AUTH__ROOT_PASSWORD": "root_pw_123",
           "QUIVER__AUTH__KDF_ITERATIONS": "1000"}
    n, url = start_tls(node_factory, cert, key, env=env)
    r = requests.post(url + V2 + "collections/list", json={}, verify=str(cert))
    assert r.status_code == 401 and r.json()["code"] == 1800
    r = requests.post(url + V2 + "collections/list", json={}, verify=str(cert),
                      auth=("root", "root_pw_123"))
    assert r.status_code == 200 and r.json() == {"code": 0, "data": []}


@pytest.mark.parametrize("which", ["only_cert", "garbage"])
def test_bad_tls_configuration_refuses_to_start(node_factory, cert_pair, tmp_path, which):
    cert, key = cert_pair
    if which == "only_cert":
        flags, needle = ["--server.tls_cert_file", cert], "go together"
    else:
        junk = tmp_path / "junk.pem"
        junk.write_text("not a certificate\n")
        flags, needle = ["--server.tls_cert_file", junk, "--server.tls_key_file", key], "PEM"
    n = node_factory("bad", flags=flags, start=False)
    n.start(wait=False)
    assert n.wait(timeout=15) != 0
    assert needle in n.log_text(), n.log_tail()


def test_plain_node_is_unchanged(node):
    ok(node.post("collections/list", {}))
    assert healthcheck(node).returncode == 0
