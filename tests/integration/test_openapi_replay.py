# SPDX-License-Identifier: Apache-2.0
"""Replay the request examples of the contract against a running quiverd and validate
every response body against its schema in the bundled spec, so the spec cannot drift
from the code.

The steps are api/examples/order.txt, in order, on one fresh node (they depend on each
other: create a collection before inserting into it; see api/examples/README.md). A
step is `<group>/<action>` (POST /v2/vectordb/<group>/<action> with the body
`<group>/<action>.request.json`) or `native/<name>` (GET /<name>; `root` is GET /).
Each answer must carry the status and `code` of its example response
(`<step>.response.json`), and its body must validate against the schema of that path,
method, status and content type in api/openapi.bundled.yaml (the copy quiverd embeds
and serves), with $ref resolved inside the bundle (python3-jsonschema, Draft 2020-12
as OpenAPI 3.1 uses). Eventually consistent steps are polled until their state field
matches the example; the compaction job id is carried from collections/compact and the
import job id from jobs/import/create (whose file DATA_FILES writes first).
The set of endpoints itself is test_contract.py's business."""
import json
import pathlib
import time

import jsonschema
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "api" / "examples"
BUNDLE = REPO / "api" / "openapi.bundled.yaml"
BUNDLE_URI = "https://quiver.invalid/openapi.bundled.yaml"  # never fetched: registered below
POLL_S = 10.0

# Steps whose effect is asynchronous: poll until this part of `data` equals the example.
EVENTUAL = {
    "collections/get_load_state": lambda d: d.get("loadState"),
    "collections/describe": lambda d: d.get("load"),
    "collections/get_compaction_state": lambda d: d.get("state"),
    "indexes/describe": lambda d: [(i.get("indexState"), i.get("indexedRows")) for i in d],
    "jobs/import/get_progress": lambda d: d.get("state"),
    "jobs/import/describe": lambda d: d.get("state"),
    "jobs/import/list": lambda d: [r.get("state") for r in d.get("records", [])],
}

# Files a step reads from the node's data directory, written just before it runs.
DATA_FILES = {
    "jobs/import/create": ("import/demo.json",
                           '[{"id": 10, "vector": [0, 0, 1, 0], "color": "teal"}, '
                           '{"id": 11, "vector": [0, 0, 0, 1], "color": "plum"}]\n'),
}


def load_steps():
    lines = (EXAMPLES / "order.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


STEPS = load_steps()


@pytest.fixture(scope="module")
def bundle():
    with open(BUNDLE) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def replay(quiverd_bin, tmp_path_factory):
    """One fresh node for the whole sequence, and the values carried between steps."""
    from conftest import NodeFactory
    f = NodeFactory(tmp_path_factory.mktemp("replay"))
    n = f("replay")
    yield {"node": n, "carried": {}}
    f.cleanup()


def validator_for(bundle, pointer):
    """A Draft 2020-12 validator for the schema at JSON pointer (into the bundle)."""
    try:  # jsonschema >= 4.18 resolves through `referencing`
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
        registry = Registry().with_resource(
            BUNDLE_URI, Resource.from_contents(bundle, default_specification=DRAFT202012))
        return jsonschema.Draft202012Validator({"$ref": BUNDLE_URI + "#" + pointer},
                                               registry=registry)
    except ImportError:  # Debian 12: jsonschema 4.10, RefResolver
        resolver = jsonschema.RefResolver(BUNDLE_URI, bundle)
        return jsonschema.Draft202012Validator({"$ref": BUNDLE_URI + "#" + pointer},
                                               resolver=resolver)


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def schema_pointer(bundle, path, method, status, content_type):
    """JSON pointer of the response schema; fails naming what the spec lacks."""
    op = bundle["paths"].get(path, {}).get(method)
    assert op, "%s %s is not in %s" % (method.upper(), path, BUNDLE.name)
    responses = op["responses"]
    key = str(status) if str(status) in responses else "default"
    assert key in responses, "%s %s: no response %s documented" % (method.upper(), path, status)
    resp, ptr = responses[key], "/paths/%s/%s/responses/%s" % (escape(path), method, key)
    while "$ref" in resp:  # a shared response under components/responses
        ptr = resp["$ref"][1:]
        resp = bundle
        for part in ptr.strip("/").split("/"):
            resp = resp[part.replace("~1", "/").replace("~0", "~")]
    content = resp.get("content", {})
    media = content_type.split(";")[0].strip()
    match = [ct for ct in content if ct.split(";")[0].strip() == media]
    assert match, "%s %s %s: content type %s not documented (%s)" % (
        method.upper(), path, key, content_type, sorted(content))
    return ptr + "/content/%s/schema" % escape(match[0])


def request_of(step, carried):
    if step.startswith("native/"):
        name = step.split("/", 1)[1]
        return "get", "/" if name == "root" else "/" + name, None
    body = json.loads((EXAMPLES / (step + ".request.json")).read_text())
    if step == "collections/get_compaction_state" and "compactionID" in carried:
        body["jobID"] = carried["compactionID"]
    if step in ("jobs/import/get_progress", "jobs/import/describe") and "jobId" in carried:
        body["jobId"] = carried["jobId"]
    return "post", "/v2/vectordb/" + step, body


def send(node, method, path, body):
    if method == "get":
        return node.get(path)
    return node.post(path, body)


@pytest.mark.parametrize("step", STEPS)
def test_replay_step(step, replay, bundle):
    node, carried = replay["node"], replay["carried"]
    expected = json.loads((EXAMPLES / (step + ".response.json")).read_text())
    method, path, body = request_of(step, carried)
    if step in DATA_FILES:
        rel, content = DATA_FILES[step]
        (node.data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (node.data_dir / rel).write_text(content)
    deadline = time.monotonic() + (POLL_S if step in EVENTUAL else 0)
    while True:
        r = send(node, method, path, body)
        settled = (step not in EVENTUAL or not isinstance(r.data, (dict, list)) or
                   EVENTUAL[step](r.data) == EVENTUAL[step](expected["data"]))
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    assert r.json is not None, "%s %s: the body is not JSON: %r" % (method.upper(), path, r)
    ptr = schema_pointer(bundle, path, method, r.status, r.headers.get("Content-Type", ""))
    error = jsonschema.exceptions.best_match(validator_for(bundle, ptr).iter_errors(r.json))
    if error is not None:
        while error.context:  # anyOf: the most relevant branch's error
            error = jsonschema.exceptions.best_match(error.context)
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        pytest.fail("%s %s: the response does not match %s#%s: at %s: %s\nbody: %s" % (
            method.upper(), path, BUNDLE.name, ptr, where, error.message[:500], r.text[:1500]),
            pytrace=False)
    assert r.status == 200 and r.code == expected["code"], \
        "%s %s: expected code %s as in %s.response.json, got %r" % (
            method.upper(), path, expected["code"], step, r)
    if step in EVENTUAL:
        assert EVENTUAL[step](r.data) == EVENTUAL[step](expected["data"]), \
            "%s %s: not settled within %ss: %r" % (method.upper(), path, POLL_S, r)
    if step == "collections/compact":
        carried["compactionID"] = r.data["compactionID"]
    if step == "jobs/import/create":
        carried["jobId"] = r.data["jobId"]


def test_every_step_has_a_documented_path(bundle):
    """order.txt and the bundle agree, so no step is skipped silently."""
    for step in STEPS:
        method, path, _ = request_of(step, {})
        assert method in bundle["paths"].get(path, {}), "%s: %s %s not in the bundle" % (
            step, method.upper(), path)


def test_every_request_example_is_replayed():
    files = {str(p.relative_to(EXAMPLES))[:-len(".request.json")]
             for p in EXAMPLES.rglob("*.request.json")}
    assert files and not files - set(STEPS), "not in order.txt: %s" % sorted(files - set(STEPS))
