# SPDX-License-Identifier: Apache-2.0
"""Authentication and RBAC as a Milvus REST user meets them (REF §1.2, §2.7): root and
its initial password, Bearer user:password, Basic, API keys, 401/403 with Milvus codes,
users, roles, v1/v2 grants, privilege groups, persistence, and a walk over every route of
the contract with no, wrong, read-only and admin credentials."""
import base64

import pytest
import yaml

from conftest import REPO, V2
from helpers import DATABASE_NOT_FOUND, PARAMETER_INVALID, err, ok, uniq

ROOT_PW = "root_pw_123"
ROOT = {"Authorization": "Bearer root:" + ROOT_PW}
NEED_AUTH = 1800
DENIED = 1401
NOT_AUTHENTICATED = 1400
API_KEY = "k3y-for-the-ci-bot-0123456789"
# Fast hashes: the default (600000 iterations) is exercised by the unit suite's open/close.
AUTH_ENV = {"QUIVER__AUTH__ENABLED": "true", "QUIVER__AUTH__ROOT_PASSWORD": ROOT_PW,
            "QUIVER__AUTH__KDF_ITERATIONS": "1000", "QUIVER__AUTH__API_KEYS": "cibot=" + API_KEY}

# Milvus's built-in read-only groups (pkg/util/constant.go) and public's defaults.
READ_ONLY = {
    # CollectionReadOnly
    "Query", "Search", "IndexDetail", "GetFlushState", "GetLoadState", "GetLoadingProgress",
    "HasPartition", "ShowPartitions", "DescribeCollection", "DescribeAlias", "GetStatistics",
    "ListAliases",
    # DatabaseReadOnly
    "ShowCollections", "DescribeDatabase",
    # ClusterReadOnly
    "ListDatabases", "SelectOwnership", "SelectUser", "DescribeResourceGroup",
    "ListResourceGroups", "ListPrivilegeGroups",
}


def bearer(user, pw):
    return {"Authorization": "Bearer %s:%s" % (user, pw)}


def basic(user, pw):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}


def unauthenticated(r):
    err(r, NEED_AUTH, "user hasn't authenticated", status=401)


def denied(r, privilege=None):
    err(r, DENIED, "permission deny to", status=403)
    if privilege:
        assert "Privilege" + privilege in r.message, r


@pytest.fixture
def auth_node(node_factory):
    return node_factory("auth", env=AUTH_ENV)


def add_user(node, name, pw, *roles):
    ok(node.post("users/create", {"userName": name, "password": pw}, headers=ROOT))
    for role in roles:
        ok(node.post("users/grant_role", {"userName": name, "roleName": role}, headers=ROOT))


def add_role(node, name, *grants):
    """grants: (privilege, dbName, collectionName) for grant_privilege_v2."""
    ok(node.post("roles/create", {"roleName": name}, headers=ROOT))
    for priv, db, coll in grants:
        ok(node.post("roles/grant_privilege_v2", {"roleName": name, "privilege": priv,
                                                  "dbName": db, "collectionName": coll},
                     headers=ROOT))


# ---- start-up and credentials -------------------------------------------------------------

def test_enabled_without_root_password_refuses_to_start(node_factory):
    n = node_factory("nopw", env={"QUIVER__AUTH__ENABLED": "true"}, start=False)
    n.start(wait=False)
    assert n.wait(timeout=15) != 0
    assert "auth.root_password" in n.log_text()


def test_credential_forms(auth_node):
    n = auth_node
    unauthenticated(n.post("collections/list", {}))
    unauthenticated(n.post("collections/list", {}, headers=bearer("root", "wrong_pw")))
    unauthenticated(n.post("collections/list", {}, headers=basic("root", "wrong_pw")))
    unauthenticated(n.post("collections/list", {}, headers={"Authorization": "Basic %%%"}))
    unauthenticated(n.post("collections/list", {}, headers={"Authorization": "Digest x"}))
    unauthenticated(n.post("collections/list", {}, headers=bearer("nobody", ROOT_PW)))
    ok(n.post("collections/list", {}, headers=ROOT))
    ok(n.post("collections/list", {}, headers=basic("root", ROOT_PW)))
    # an API key acts as its user, once that user exists
    key = {"Authorization": "Bearer " + API_KEY}
    unauthenticated(n.post("collections/list", {}, headers=key))
    add_user(n, "cibot", "cibot_pw_1", "admin")
    ok(n.post("collections/create", {"collectionName": uniq(), "dimension": 4}, headers=key))
    unauthenticated(n.post("collections/list", {}, headers={"Authorization": "Bearer " + API_KEY[:-1]}))
    # a refusal before the body is read still answers in the envelope
    r = n.post("entities/insert", b'{"collectionName":"x","data":[]}')
    unauthenticated(r)
    metrics = n.get("/metrics").text
    assert 'quiver_auth_failures_total{reason="unauthenticated"}' in metrics


def test_public_endpoints_need_no_credentials(auth_node):
    n = auth_node
    for path in ("/livez", "/healthz", "/readyz", "/openapi.yaml", "/", "/metrics"):
        assert n.get(path).status == 200, path
    r = n.request("OPTIONS", "collections/list", headers={"Origin": "http://x",
                                                         "Access-Control-Request-Method": "POST"})
    assert r.status == 204


def test_protected_metrics(node_factory):
    env = dict(AUTH_ENV, QUIVER__AUTH__PROTECT_METRICS="true")
    n = node_factory("pm", env=env)
    unauthenticated(n.get("/metrics"))
    assert n.get("/metrics", headers=ROOT).status == 200
    assert n.get("/livez").status == 200


def test_auth_disabled_ignores_credentials(node):
    ok(node.post("collections/list", {}, headers=bearer("root", "whatever")))
    ok(node.post("users/create", {"userName": "dave", "password": "dave_pw_1"}))
    assert ok(node.post("users/list", {})) == ["root", "dave"]


# ---- users, roles, grants -------------------------------------------------------------------

def test_users_and_roles_lifecycle(auth_node):
    n = auth_node
    add_user(n, "alice", "alice_pw_1")
    assert ok(n.post("users/list", {}, headers=ROOT)) == ["root", "alice"]
    assert ok(n.post("users/describe", {"userName": "alice"}, headers=ROOT)) == []
    err(n.post("users/create", {"userName": "alice", "password": "alice_pw_1"}, headers=ROOT),
        65535, "already exists")
    err(n.post("users/create", {"userName": "1x", "password": "alice_pw_1"}, headers=ROOT),
        PARAMETER_INVALID)
    err(n.post("users/create", {"userName": "bob", "password": "short"}, headers=ROOT),
        PARAMETER_INVALID, "password")
    err(n.post("users/create", {"userName": "bob"}, headers=ROOT), 1802)

    ok(n.post("roles/create", {"roleName": "reader"}, headers=ROOT))
    assert ok(n.post("roles/list", {}, headers=ROOT)) == ["admin", "public", "reader"]
    ok(n.post("roles/grant_privilege", {"roleName": "reader", "objectType": "Collection",
                                        "objectName": "*", "privilege": "Search"}, headers=ROOT))
    err(n.post("roles/grant_privilege", {"roleName": "reader", "objectType": "Global",
                                         "objectName": "*", "privilege": "Search"}, headers=ROOT),
        PARAMETER_INVALID)
    err(n.post("roles/grant_privilege_v2", {"roleName": "reader", "privilege": "Query",
                                            "dbName": "nodb", "collectionName": "*"}, headers=ROOT),
        DATABASE_NOT_FOUND)
    ok(n.post("roles/grant_privilege_v2", {"roleName": "reader", "privilege": "DatabaseReadOnly",
                                           "dbName": "default", "collectionName": "*"}, headers=ROOT))
    grants = ok(n.post("roles/describe", {"roleName": "reader"}, headers=ROOT))
    assert grants == [
        {"objectType": "Collection", "objectName": "*", "privilege": "Search",
         "dbName": "default", "grantor": "root"},
        {"objectType": "Global", "objectName": "*", "privilege": "DatabaseReadOnly",
         "dbName": "default", "grantor": "root"}]
    err(n.post("roles/drop", {"roleName": "reader"}, headers=ROOT), PARAMETER_INVALID,
        "revoke privileges")
    for builtin in ("admin", "public"):
        err(n.post("roles/drop", {"roleName": builtin}, headers=ROOT), PARAMETER_INVALID)
    err(n.post("users/drop", {"userName": "root"}, headers=ROOT), PARAMETER_INVALID)

    ok(n.post("users/grant_role", {"userName": "alice", "roleName": "reader"}, headers=ROOT))
    assert ok(n.post("users/describe", {"userName": "alice"}, headers=ROOT)) == ["reader"]
    alice = bearer("alice", "alice_pw_1")
    # self-service: describe itself, read its role's grants, change its own password
    assert ok(n.post("users/describe", {"userName": "alice"}, headers=alice)) == ["reader"]
    assert len(ok(n.post("roles/describe", {"roleName": "reader"}, headers=alice))) == 2
    denied(n.post("roles/describe", {"roleName": "admin"}, headers=alice), "SelectOwnership")
    denied(n.post("users/create", {"userName": "eve", "password": "eve_pw_12"}, headers=alice),
           "CreateOwnership")
    err(n.post("users/update_password", {"userName": "alice", "password": "nope_nope",
                                         "newPassword": "alice_pw_2"}, headers=alice),
        NOT_AUTHENTICATED, "old password not correct")
    ok(n.post("users/update_password", {"userName": "alice", "password": "alice_pw_1",
                                        "newPassword": "alice_pw_2"}, headers=alice))
    unauthenticated(n.post("collections/list", {}, headers=alice))
    alice = bearer("alice", "alice_pw_2")
    ok(n.post("collections/list", {}, headers=alice))
    denied(n.post("users/update_password", {"userName": "root", "password": ROOT_PW,
                                            "newPassword": "hijacked1"}, headers=alice))
    # an administrator resets a password without knowing it
    ok(n.post("users/update_password", {"userName": "alice", "password": "?",
                                        "newPassword": "alice_pw_3"}, headers=ROOT))
    alice = bearer("alice", "alice_pw_3")

    ok(n.post("privilege_groups/create", {"privilegeGroupName": "writers"}, headers=ROOT))
    err(n.post("privilege_groups/create", {"privilegeGroupName": "CollectionAdmin"}, headers=ROOT),
        PARAMETER_INVALID)
    err(n.post("privilege_groups/add_privileges_to_group",
               {"privilegeGroupName": "writers", "privileges": ["Bogus"]}, headers=ROOT),
        PARAMETER_INVALID)
    ok(n.post("privilege_groups/add_privileges_to_group",
              {"privilegeGroupName": "writers", "privileges": ["Insert", "Delete"]}, headers=ROOT))
    assert ok(n.post("privilege_groups/list", {}, headers=ROOT)) == {
        "privilegeGroups": [{"privilegeGroupName": "writers", "privileges": "Insert,Delete"}]}

    denied(n.post("users/list", {}, headers=alice), "SelectOwnership")
    ok(n.post("users/revoke_role", {"userName": "alice", "roleName": "reader"}, headers=ROOT))
    denied(n.post("roles/describe", {"roleName": "reader"}, headers=alice))
    for body in ({"roleName": "reader", "objectType": "Collection", "objectName": "*",
                  "privilege": "Search"},):
        ok(n.post("roles/revoke_privilege", body, headers=ROOT))
    ok(n.post("roles/revoke_privilege_v2", {"roleName": "reader", "privilege": "DatabaseReadOnly",
                                            "dbName": "default", "collectionName": "*"}, headers=ROOT))
    ok(n.post("roles/drop", {"roleName": "reader"}, headers=ROOT))
    ok(n.post("privilege_groups/drop", {"privilegeGroupName": "writers"}, headers=ROOT))
    ok(n.post("users/drop", {"userName": "alice"}, headers=ROOT))
    unauthenticated(n.post("collections/list", {}, headers=alice))


def test_grants_take_effect(auth_node):
    n = auth_node
    books, films = create_quick_as_root(n), create_quick_as_root(n)
    ok(n.post("aliases/create", {"collectionName": books, "aliasName": "books_alias"}, headers=ROOT))
    add_role(n, "reader", ("CollectionReadOnly", "default", "*"))
    add_user(n, "bob", "bob_pw_123", "reader")
    bob = bearer("bob", "bob_pw_123")
    rows = {"collectionName": books, "data": [{"id": 1, "vector": [1, 0, 0, 0]}]}
    search = {"collectionName": books, "data": [[1, 0, 0, 0]], "limit": 3}
    ok(n.post("entities/search", search, headers=bob))
    ok(n.post("entities/query", {"collectionName": films, "filter": "id > 0"}, headers=bob))
    denied(n.post("entities/insert", rows, headers=bob), "Insert")
    denied(n.post("collections/drop", {"collectionName": films}, headers=bob), "DropCollection")
    # a custom group on one collection, reached through its alias too
    ok(n.post("privilege_groups/create", {"privilegeGroupName": "writers"}, headers=ROOT))
    ok(n.post("privilege_groups/add_privileges_to_group",
              {"privilegeGroupName": "writers", "privileges": ["Insert", "Upsert"]}, headers=ROOT))
    ok(n.post("roles/grant_privilege_v2", {"roleName": "reader", "privilege": "writers",
                                           "dbName": "default", "collectionName": books},
              headers=ROOT))
    ok(n.post("entities/insert", rows, headers=bob))
    ok(n.post("entities/upsert", dict(rows, collectionName="books_alias"), headers=bob))
    denied(n.post("entities/insert", dict(rows, collectionName=films), headers=bob), "Insert")
    denied(n.post("entities/delete", {"collectionName": books, "filter": "id > 0"}, headers=bob))
    # another database: nothing granted there
    ok(n.post("databases/create", {"dbName": "db2"}, headers=ROOT))
    denied(n.post("entities/query", {"dbName": "db2", "collectionName": books, "filter": "id > 0"},
                  headers=bob))
    # admin can do everything
    add_user(n, "carol", "carol_pw_1", "admin")
    ok(n.post("entities/delete", {"collectionName": books, "filter": "id > 0"},
              headers=bearer("carol", "carol_pw_1")))
    err(n.post("privilege_groups/drop", {"privilegeGroupName": "writers"}, headers=ROOT),
        PARAMETER_INVALID, "revoke")
    assert 'quiver_auth_failures_total{reason="denied"}' in n.get("/metrics").text


def create_quick_as_root(n):
    name = uniq("c")
    ok(n.post("collections/create", {"collectionName": name, "dimension": 4}, headers=ROOT))
    return name


def test_state_survives_restart(auth_node):
    n = auth_node
    add_role(n, "reader", ("CollectionReadOnly", "default", "*"))
    add_user(n, "bob", "bob_secret_pw", "reader")
    ok(n.post("users/update_password", {"userName": "root", "password": ROOT_PW,
                                        "newPassword": "root_pw_new"}, headers=ROOT))
    n.restart()
    root = bearer("root", "root_pw_new")  # the API's password beats auth.root_password now
    unauthenticated(n.post("users/list", {}, headers=ROOT))
    assert ok(n.post("users/list", {}, headers=root)) == ["root", "bob"]
    assert ok(n.post("users/describe", {"userName": "bob"}, headers=root)) == ["reader"]
    ok(n.post("collections/list", {}, headers=bearer("bob", "bob_secret_pw")))
    stored = (n.data_dir / "auth.qva").read_bytes()
    assert b"bob_secret_pw" not in stored and b"root_pw_new" not in stored


# ---- every route, four kinds of caller --------------------------------------------------------

def spec_operations():
    spec = yaml.safe_load((REPO / "openapi.yaml").read_text())
    for path, item in spec["paths"].items():
        for method in ("get", "post"):
            if method in item:
                yield path, method, item[method]


def test_every_v2_operation_names_its_privilege():
    for path, method, op in spec_operations():
        if path.startswith(V2):
            assert "x-milvus-privilege" in op, path


def test_route_walk(auth_node):
    n = auth_node
    add_role(n, "ro", ("CollectionReadOnly", "*", "*"), ("DatabaseReadOnly", "*", "*"),
             ("ClusterReadOnly", "*", "*"))
    add_user(n, "reader", "reader_pw_1", "ro")
    callers = {"none": {}, "wrong": bearer("root", "not_the_pw"),
               "reader": bearer("reader", "reader_pw_1"), "admin": ROOT}
    # names nothing that exists, so that even admin calls change nothing
    body = {"collectionName": "walk_missing"}
    seen_denied, seen_allowed, walked = set(), set(), 0
    for path, method, op in spec_operations():
        # probes, spec, console; /metrics unprotected by default; /cluster needs a login
        sec = op.get("security")
        public = method == "get" and sec is not None and (sec == [] or {} in sec)
        need = op.get("x-milvus-privilege") or {}
        for who, hdrs in callers.items():
            if method == "get":
                r = n.get(path, headers=hdrs)
            else:
                r = n.post(path, body, headers=hdrs)
            where = "%s %s as %s: %r" % (method.upper(), path, who, r)
            if public:
                assert r.status not in (401, 403), where
            elif who in ("none", "wrong"):
                assert r.status == 401 and r.code == NEED_AUTH, where
            elif who == "admin" or not need.get("privilege") or need["privilege"] in READ_ONLY:
                assert r.status not in (401, 403), where
                seen_allowed.add(path)
            else:
                assert r.status == 403 and r.code == DENIED, where
                assert "Privilege" + need["privilege"] in r.message, where
                seen_denied.add(path)
            walked += 1
    assert walked == 4 * len(list(spec_operations())) and walked > 4 * 70
    assert V2 + "entities/search" in seen_allowed and V2 + "entities/insert" in seen_denied
    assert V2 + "users/create" in seen_denied and V2 + "users/list" in seen_allowed


def test_each_route_needs_exactly_its_privilege(auth_node):
    """A user holding only a route's privilege may call it (and a user with nothing, not)."""
    n = auth_node
    privs = {}
    for path, method, op in spec_operations():
        need = op.get("x-milvus-privilege") or {}
        if method == "post" and need.get("privilege"):
            privs.setdefault(need["privilege"], []).append(path)
    add_user(n, "nobody", "nobody_pw_1")
    nobody = bearer("nobody", "nobody_pw_1")
    public = {"DescribeCollection", "ShowCollections", "IndexDetail"}  # public's defaults
    body = {"collectionName": "walk_missing"}
    for i, (priv, paths) in enumerate(sorted(privs.items())):
        role, user = "r%d" % i, "u%d" % i
        add_role(n, role, (priv, "*", "*"))
        add_user(n, user, "pw_for_%d" % i, role)
        for path in paths:
            r = n.post(path, body, headers=bearer(user, "pw_for_%d" % i))
            assert r.status not in (401, 403), (path, priv, r)
            r = n.post(path, body, headers=nobody)
            if priv in public:
                assert r.status != 403, (path, r)
            else:
                assert r.status == 403 and r.code == DENIED, (path, r)
