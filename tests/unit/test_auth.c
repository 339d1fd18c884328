/* SPDX-License-Identifier: Apache-2.0 */
/* test_auth.c - the auth store: password hashing (RFC 7914 PBKDF2 vectors), credentials
 * (Bearer, Basic, API keys), persistence and its rollback on a failed write, damage
 * detection, root's initial password, and the privilege check (grants v1/v2, built-in
 * and custom groups, aliases, self access, admin). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "quiver/auth.h"
#include "quiver/crypto.h"
#include "testutil.h"

static char dir[256];
static qv_io *io;

static void setup(void)
{
    test_mkdtemp(dir, sizeof dir);
    ck_assert_int_eq(qv_io_open_default("posix", &io, NULL), QV_OK);
}

static void teardown(void)
{
    qv_io_free(io);
    test_rmtree(dir);
}

static qv_auth *open_store(bool enabled, const char *root_pw, const char *keys)
{
    qv_auth_opts o = {.data_dir = dir, .io = io, .enabled = enabled, .root_password = root_pw,
                      .api_keys = keys, .kdf_iterations = 1000};
    qv_auth *a = NULL;
    qv_error e = {0};

    ck_assert_msg(qv_auth_open(&o, &a, &e) == QV_OK, "open: %s", e.msg);
    return a;
}

static bool authenticates(qv_auth *a, const char *header, const char *as)
{
    char user[QV_AUTH_NAME_MAX + 1] = "";
    qv_error e = {0};

    if (qv_auth_authenticate(a, header, user, sizeof user, &e) != QV_OK) {
        ck_assert_int_eq(e.code, QV_EAUTH);
        ck_assert_str_eq(e.msg, "user hasn't authenticated");
        return false;
    }
    ck_assert_str_eq(user, as);
    return true;
}

static bool allowed(qv_auth *a, const char *user, qv_auth_obj obj, const char *priv,
                    const char *db, const char *name)
{
    qv_auth_target t = {.obj = obj, .privilege = priv, .db = db, .name = name};
    qv_error e = {0};
    qv_err rc = qv_auth_check(a, user, &t, &e);

    if (rc != QV_OK) {
        ck_assert_int_eq(rc, QV_EDENIED);
        ck_assert_ptr_nonnull(strstr(e.msg, "permission deny to"));
    }
    return rc == QV_OK;
}

START_TEST(test_pbkdf2_rfc7914_vectors)
{
    static const uint8_t v1[16] = {0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f,
                                   0xec, 0x16, 0x91, 0xc2, 0x25, 0x44, 0xb6, 0x05};
    static const uint8_t v2[16] = {0x4d, 0xdc, 0xd8, 0xf6, 0x0b, 0x98, 0xbe, 0x21,
                                   0x83, 0x0c, 0xee, 0x5e, 0xf2, 0x27, 0x01, 0xf9};
    uint8_t out[64];

    ck_assert_int_eq(qv_crypto_pbkdf2_sha256("passwd", 6, "salt", 4, 1, out, 64, NULL), QV_OK);
    ck_assert_mem_eq(out, v1, sizeof v1);
    ck_assert_int_eq(qv_crypto_pbkdf2_sha256("Password", 8, "NaCl", 4, 80000, out, 64, NULL), QV_OK);
    ck_assert_mem_eq(out, v2, sizeof v2);
}
END_TEST

START_TEST(test_enabled_needs_root_password)
{
    qv_auth_opts o = {.data_dir = dir, .io = io, .enabled = true, .root_password = "",
                      .kdf_iterations = 1000};
    qv_auth *a = NULL;
    qv_error e = {0};

    ck_assert_int_eq(qv_auth_open(&o, &a, &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "auth.root_password"));
    o.root_password = "short";
    ck_assert_int_eq(qv_auth_open(&o, &a, &e), QV_EINVAL);
    /* auth off: root gets Milvus's default and nothing is written */
    qv_auth_close(open_store(false, "", ""));
    ck_assert_int_ne(access(dir, F_OK), -1);
    {
        char path[512];
        snprintf(path, sizeof path, "%s/auth.qva", dir);
        ck_assert_int_eq(access(path, F_OK), -1);
    }
}
END_TEST

START_TEST(test_credentials)
{
    qv_auth *a = open_store(true, "rootpass1", "alice=abcdefghijklmnop0123, ghost=zzzzzzzzzzzzzzzz9");

    ck_assert(authenticates(a, "Bearer root:rootpass1", "root"));
    ck_assert(authenticates(a, "Bearer root:rootpass1", "root")); /* cached digest */
    ck_assert(authenticates(a, "bearer  root:rootpass1", "root"));
    ck_assert(authenticates(a, "Basic cm9vdDpyb290cGFzczE=", "root")); /* root:rootpass1 */
    ck_assert(!authenticates(a, "Bearer root:rootpass2", NULL));
    ck_assert(!authenticates(a, "Basic cm9vdDpyb290cGFzczI=", NULL));
    ck_assert(!authenticates(a, "Basic !!!", NULL));
    ck_assert(!authenticates(a, "Bearer nobody:rootpass1", NULL));
    ck_assert(!authenticates(a, "Token root:rootpass1", NULL));
    ck_assert(!authenticates(a, "", NULL));
    ck_assert(!authenticates(a, NULL, NULL));
    /* an API key acts as its user once that user exists */
    ck_assert(!authenticates(a, "Bearer abcdefghijklmnop0123", NULL));
    ck_assert_int_eq(qv_auth_user_create(a, "alice", "alicepass", NULL), QV_OK);
    ck_assert(authenticates(a, "Bearer abcdefghijklmnop0123", "alice"));
    ck_assert(!authenticates(a, "Bearer abcdefghijklmnop0124", NULL));
    ck_assert(!authenticates(a, "Bearer zzzzzzzzzzzzzzzz9", NULL)); /* no user ghost */
    ck_assert(authenticates(a, "Bearer alice:alicepass", "alice"));
    qv_auth_close(a);
}
END_TEST

START_TEST(test_bad_api_keys_are_refused)
{
    static const char *const bad[] = {"alice", "alice=short", "=abcdefghijklmnopq",
                                      "1alice=abcdefghijklmnopq", "alice=abcdefgh:ijklmnopq"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qv_auth_opts o = {.data_dir = dir, .io = io, .root_password = "", .api_keys = bad[i],
                          .kdf_iterations = 1000};
        qv_auth *a = NULL;
        qv_error e = {0};
        ck_assert_int_eq(qv_auth_open(&o, &a, &e), QV_EINVAL);
        ck_assert_ptr_null(strstr(e.msg, "abcdefgh")); /* a key never shows in messages */
    }
}
END_TEST

START_TEST(test_persisted_without_plaintext)
{
    qv_auth *a = open_store(true, "rootpass1", "");
    char path[512];
    void *data = NULL;
    size_t len = 0;
    qv_names names;

    ck_assert_int_eq(qv_auth_user_create(a, "bob", "bob-secret-pw", NULL), QV_OK);
    ck_assert_int_eq(qv_auth_role_create(a, "reader", NULL), QV_OK);
    ck_assert_int_eq(qv_auth_user_set_role(a, "bob", "reader", true, NULL), QV_OK);
    ck_assert_int_eq(qv_auth_group_create(a, "searchers", NULL), QV_OK);
    qv_auth_close(a);
    snprintf(path, sizeof path, "%s/auth.qva", dir);
    ck_assert_int_eq(qv_io_read_file(io, path, 1 << 20, &data, &len, NULL), QV_OK);
    ck_assert_ptr_null(memmem(data, len, "bob-secret-pw", 13));
    ck_assert_ptr_null(memmem(data, len, "rootpass1", 9));
    qv_free(data);

    a = open_store(true, "rootpass1", "");
    ck_assert(authenticates(a, "Bearer bob:bob-secret-pw", "bob"));
    ck_assert_int_eq(qv_auth_user_roles(a, "bob", &names, NULL), QV_OK);
    ck_assert_uint_eq(names.count, 1);
    ck_assert_str_eq(names.items[0], "reader");
    qv_names_fini(&names);
    ck_assert_int_eq(qv_auth_role_list(a, &names, NULL), QV_OK);
    ck_assert_uint_eq(names.count, 3); /* admin, public, reader */
    qv_names_fini(&names);
    qv_auth_close(a);
}
END_TEST

START_TEST(test_damage_is_detected)
{
    char path[512];
    FILE *f;

    qv_auth_close(open_store(true, "rootpass1", ""));
    snprintf(path, sizeof path, "%s/auth.qva", dir);
    ck_assert_ptr_nonnull(f = fopen(path, "r+b"));
    fseek(f, 30, SEEK_SET);
    fputc('X', f);
    fclose(f);
    {
        qv_auth_opts o = {.data_dir = dir, .io = io, .enabled = true, .root_password = "rootpass1",
                          .kdf_iterations = 1000};
        qv_auth *a = NULL;
        qv_error e = {0};
        ck_assert_int_eq(qv_auth_open(&o, &a, &e), QV_ECORRUPT);
        ck_assert_ptr_nonnull(strstr(e.msg, "auth.qva"));
    }
}
END_TEST

START_TEST(test_failed_write_changes_nothing)
{
    qv_io *inner = io, *faulty = NULL;
    qv_io_fault fault = {.op = QV_IO_FAULT_WRITE, .nth = 1, .errnum = 5 /* EIO */};
    qv_names names;
    qv_auth *a;

    ck_assert_int_eq(qv_io_faulty_new(inner, NULL, &faulty, NULL), QV_OK);
    io = faulty;
    a = open_store(true, "rootpass1", "");
    qv_io_faulty_arm(faulty, &fault);
    ck_assert_int_eq(qv_auth_user_create(a, "carol", "carolpass", NULL), QV_EIO);
    qv_io_faulty_arm(faulty, NULL);
    ck_assert_int_eq(qv_auth_user_list(a, &names, NULL), QV_OK);
    ck_assert_uint_eq(names.count, 1); /* root only */
    qv_names_fini(&names);
    ck_assert(authenticates(a, "Bearer root:rootpass1", "root"));
    qv_auth_close(a);
    io = inner;
    qv_io_free(faulty);
}
END_TEST

START_TEST(test_root_password_is_initial_only)
{
    qv_auth *a = open_store(true, "rootpass1", "");

    qv_auth_close(a);
    a = open_store(true, "rootpass2", ""); /* never changed through the API: config wins */
    ck_assert(authenticates(a, "Bearer root:rootpass2", "root"));
    ck_assert(!authenticates(a, "Bearer root:rootpass1", NULL));
    ck_assert_int_eq(qv_auth_user_update_password(a, "root", "wrong-old", "rootpass3", false, NULL),
                     QV_ENOTAUTH);
    ck_assert_int_eq(qv_auth_user_update_password(a, "root", "rootpass2", "rootpass3", false, NULL),
                     QV_OK);
    qv_auth_close(a);
    a = open_store(true, "rootpass2", ""); /* changed through the API: the API's stays */
    ck_assert(authenticates(a, "Bearer root:rootpass3", "root"));
    ck_assert(!authenticates(a, "Bearer root:rootpass2", NULL));
    ck_assert_int_eq(qv_auth_user_drop(a, "root", NULL), QV_EINVAL);
    qv_auth_close(a);
}
END_TEST

START_TEST(test_privileges)
{
    qv_auth *a = open_store(true, "rootpass1", "");
    qv_names privs = {0};
    qv_auth_grant g1 = {.object_type = "Collection", .object_name = "books", .db = "",
                        .privilege = "Insert", .grantor = "root"};
    qv_error e = {0};

    ck_assert_int_eq(qv_auth_user_create(a, "bob", "bobpass1", NULL), QV_OK);
    ck_assert_int_eq(qv_auth_role_create(a, "reader", NULL), QV_OK);
    /* public's defaults only */
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "DescribeCollection", "default", "books"));
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "IndexDetail", "db2", "books"));
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Search", "default", "books"));
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_NONE, NULL, "default", NULL));
    /* self access on User objects, and nobody else's */
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_USER, "UpdateUser", "default", "bob"));
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_USER, "UpdateUser", "default", "root"));
    /* v2: a built-in group on every collection of one database */
    ck_assert_int_eq(qv_auth_grant_v2(a, "reader", "CollectionReadOnly", "default", "*", "root",
                                      true, NULL), QV_OK);
    ck_assert_int_eq(qv_auth_user_set_role(a, "bob", "reader", true, NULL), QV_OK);
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Search", "default", "books"));
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Query", "default", "films"));
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Search", "db2", "books"));
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Insert", "default", "books"));
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_GLOBAL, "CreateCollection", "default", NULL));
    /* cluster-level groups need * everywhere */
    ck_assert_int_eq(qv_auth_grant_v2(a, "reader", "ClusterReadOnly", "default", "*", "root",
                                      true, &e), QV_EINVAL);
    ck_assert_int_eq(qv_auth_grant_v2(a, "reader", "Bogus", "default", "*", "root", true, &e),
                     QV_EINVAL);
    /* v1: one privilege on one collection, reached through an alias too */
    ck_assert_int_eq(qv_auth_grant_v1(a, "reader", &g1, true, NULL), QV_OK);
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Insert", "default", "books"));
    {
        qv_auth_target t = {.obj = QV_AUTH_OBJ_COLLECTION, .privilege = "Insert", .db = "default",
                            .name = "books_alias", .resolved = "books"};
        ck_assert_int_eq(qv_auth_check(a, "bob", &t, NULL), QV_OK);
    }
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Insert", "default", "films"));
    g1.object_type = "Global"; /* Insert is a Collection privilege */
    ck_assert_int_eq(qv_auth_grant_v1(a, "reader", &g1, true, &e), QV_EINVAL);
    g1.object_type = "Collection";
    /* a role with grants cannot be dropped; revoking is idempotent */
    ck_assert_int_eq(qv_auth_role_drop(a, "reader", &e), QV_EINVAL);
    ck_assert_int_eq(qv_auth_grant_v1(a, "reader", &g1, false, NULL), QV_OK);
    ck_assert_int_eq(qv_auth_grant_v1(a, "reader", &g1, false, NULL), QV_OK);
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Insert", "default", "books"));
    /* custom privilege groups */
    ck_assert_int_eq(qv_auth_group_create(a, "writers", NULL), QV_OK);
    ck_assert_int_eq(qv_auth_group_create(a, "Search", &e), QV_EINVAL);
    ck_assert_int_eq(qv_names_add(&privs, "Insert"), QV_OK);
    ck_assert_int_eq(qv_names_add(&privs, "Upsert"), QV_OK);
    ck_assert_int_eq(qv_auth_group_edit(a, "writers", &privs, true, NULL), QV_OK);
    ck_assert_int_eq(qv_auth_grant_v2(a, "reader", "writers", "default", "books", "root", true,
                                      NULL), QV_OK);
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Upsert", "default", "books"));
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Upsert", "default", "films"));
    ck_assert_int_eq(qv_auth_group_drop(a, "writers", &e), QV_EINVAL); /* still granted */
    ck_assert_int_eq(qv_auth_group_edit(a, "writers", &privs, false, NULL), QV_OK);
    ck_assert(!allowed(a, "bob", QV_AUTH_OBJ_COLLECTION, "Upsert", "default", "books"));
    qv_names_fini(&privs);
    /* admin holds everything; dropping the role unbinds it */
    ck_assert_int_eq(qv_auth_user_set_role(a, "bob", "admin", true, NULL), QV_OK);
    ck_assert(allowed(a, "bob", QV_AUTH_OBJ_GLOBAL, "DropDatabase", "default", NULL));
    ck_assert(qv_auth_is_admin(a, "bob"));
    ck_assert_int_eq(qv_auth_role_drop(a, "admin", &e), QV_EINVAL);
    ck_assert(allowed(a, "root", QV_AUTH_OBJ_GLOBAL, "DropDatabase", "default", NULL));
    ck_assert(!allowed(a, "nobody", QV_AUTH_OBJ_NONE, NULL, "default", NULL));
    qv_auth_close(a);
}
END_TEST

START_TEST(test_names_and_passwords_are_validated)
{
    qv_auth *a = open_store(false, "", "");
    qv_error e = {0};

    ck_assert_int_eq(qv_auth_user_create(a, "1bob", "bobpass1", &e), QV_EINVAL);
    ck_assert_int_eq(qv_auth_user_create(a, "bob", "short", &e), QV_EINVAL);
    ck_assert_int_eq(qv_auth_user_create(a, "bob/../x", "bobpass1", &e), QV_EINVAL);
    ck_assert_int_eq(qv_auth_user_create(a, "bob.smith-2", "bobpass1", &e), QV_OK);
    ck_assert_int_eq(qv_auth_user_create(a, "bob.smith-2", "bobpass1", &e), QV_EEXIST);
    ck_assert_int_eq(qv_auth_role_create(a, "_ops", &e), QV_OK);
    ck_assert_int_eq(qv_auth_role_create(a, "ops-team", &e), QV_EINVAL);
    ck_assert_int_eq(qv_auth_user_set_role(a, "bob.smith-2", "nope", true, &e), QV_EINVAL);
    ck_assert_int_eq(qv_auth_user_drop(a, "nobody", &e), QV_EINVAL);
    qv_auth_close(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_pbkdf2_rfc7914_vectors);
    tcase_add_test(tc, test_enabled_needs_root_password);
    tcase_add_test(tc, test_credentials);
    tcase_add_test(tc, test_bad_api_keys_are_refused);
    tcase_add_test(tc, test_persisted_without_plaintext);
    tcase_add_test(tc, test_damage_is_detected);
    tcase_add_test(tc, test_failed_write_changes_nothing);
    tcase_add_test(tc, test_root_password_is_initial_only);
    tcase_add_test(tc, test_privileges);
    tcase_add_test(tc, test_names_and_passwords_are_validated);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
