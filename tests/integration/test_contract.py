# SPDX-License-Identifier: Apache-2.0
"""openapi.yaml and the server agree on the set of endpoints: every path the spec
documents is served (no 404/405), and every served v2 path is documented."""
import pathlib

import yaml

SPEC = pathlib.Path(__file__).resolve().parents[2] / "openapi.yaml"


def spec_paths():
    doc = yaml.safe_load(SPEC.read_text())
    return {p: set(m for m in ops if m in ("get", "post")) for p, ops in doc["paths"].items()}


def test_every_documented_endpoint_is_served(shared_node):
    for path, methods in spec_paths().items():
        for m in methods:
            r = shared_node.request(m.upper(), path, data=b"{}" if m == "post" else None,
                                    headers={"Content-Type": "application/json"})
            assert r.status not in (404, 405), (m, path, r)


def test_every_served_v2_endpoint_is_documented(shared_node):
    documented = spec_paths()
    probe = ["databases", "collections", "partitions", "aliases", "indexes", "entities", "users",
             "roles", "privilege_groups"]
    served = set()
    for group in probe:
        for action in ("create", "list", "describe", "drop", "has", "insert", "upsert", "delete",
                       "get", "query", "search", "hybrid_search", "flush", "compact",
                       "get_compaction_state", "rename", "load", "release", "get_stats",
                       "alter", "alter_properties", "drop_properties", "refresh_load",
                       "get_load_state", "update_password", "grant_role", "revoke_role",
                       "grant_privilege", "revoke_privilege", "grant_privilege_v2",
                       "revoke_privilege_v2", "add_privileges_to_group",
                       "remove_privileges_from_group"):
            path = "/v2/vectordb/%s/%s" % (group, action)
            if shared_node.post(path, b"{}").status != 404:
                served.add(path)
    missing = sorted(p for p in served if p not in documented)
    assert not missing, missing
