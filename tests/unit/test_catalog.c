/* SPDX-License-Identifier: Apache-2.0 */
/* test_catalog.c - catalog changes, persistence across reopen, rollback on a failed
 * write, corruption detection, and Milvus name rules. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "quiver/catalog.h"
#include "quiver/names.h"
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

/* A quick-setup-like collection: id Int64 pk + vector FloatVector(4), AUTOINDEX. */
static void make_spec(qv_collection_info *spec, const char *db, const char *name)
{
    memset(spec, 0, sizeof *spec);
    spec->db = qv_strdup(db);
    spec->name = qv_strdup(name);
    spec->consistency_level = qv_strdup("Bounded");
    spec->shards_num = 1;
    spec->schema.enable_dynamic = true;
    spec->schema.fields = qv_calloc(2, sizeof(qv_field));
    spec->schema.field_count = 2;
    spec->schema.fields[0] = (qv_field){.name = qv_strdup("id"), .type = QV_TYPE_INT64,
                                        .is_primary = true, .description = qv_strdup("")};
    spec->schema.fields[1] = (qv_field){.name = qv_strdup("vector"), .type = QV_TYPE_FLOAT_VECTOR,
                                        .dim = 4, .description = qv_strdup("")};
    qv_kvlist_set(&spec->schema.fields[1].type_params, "dim", "4");
    spec->indexes = qv_calloc(1, sizeof(qv_index_def));
    spec->index_count = 1;
    spec->indexes[0] = (qv_index_def){.name = qv_strdup("vector"), .field = qv_strdup("vector"),
                                      .index_type = qv_strdup("AUTOINDEX"),
                                      .metric_type = qv_strdup("COSINE")};
    spec->load_state = QV_LOAD_LOADED;
}

static qv_catalog *open_catalog(void)
{
    qv_catalog *c = NULL;
    qv_error e;
    ck_assert_msg(qv_catalog_open(dir, io, &c, &e) == QV_OK, "%s", e.msg);
    return c;
}

START_TEST(test_databases)
{
    qv_catalog *c = open_catalog();
    qv_names names;
    qv_kvlist props = {0};
    qv_database_info info;
    qv_error e;

    ck_assert_int_eq(qv_catalog_list_databases(c, &names, NULL), QV_OK);
    ck_assert_uint_eq(names.count, 1);
    ck_assert_str_eq(names.items[0], "default");
    qv_names_fini(&names);
    qv_kvlist_set(&props, "database.max.collections", "10");
    ck_assert_int_eq(qv_catalog_create_database(c, "db1", &props, NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_create_database(c, "db1", NULL, &e), QV_EUNEXPECTED);
    ck_assert_int_eq(qv_catalog_create_database(c, "1db", NULL, &e), QV_EINVAL);
    ck_assert_int_eq(qv_catalog_get_database(c, "db1", &info, NULL), QV_OK);
    ck_assert_str_eq(qv_kvlist_get(&info.properties, "database.max.collections"), "10");
    qv_database_info_fini(&info);
    ck_assert_int_eq(qv_catalog_get_database(c, "nope", &info, &e), QV_ENODB);
    ck_assert_str_eq(e.msg, "database not found[database=nope]");
    ck_assert_int_eq(qv_catalog_drop_database(c, "default", &e), QV_EUNEXPECTED);
    ck_assert_int_eq(qv_catalog_drop_database(c, "db1", NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_drop_database(c, "db1", NULL), QV_OK); /* idempotent */
    qv_kvlist_fini(&props);
    qv_catalog_close(c);
}
END_TEST

START_TEST(test_collections_aliases_persist)
{
    qv_catalog *c = open_catalog();
    qv_collection_info spec, got;
    qv_names parts = {0};
    qv_error e;
    uint64_t version;

    make_spec(&spec, "default", "books");
    ck_assert_int_eq(qv_catalog_create_collection(c, &spec, NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_create_collection(c, &spec, NULL), QV_OK); /* same schema */
    spec.schema.fields[1].dim = 8;
    ck_assert_int_eq(qv_catalog_create_collection(c, &spec, &e), QV_EUNEXPECTED);
    ck_assert_int_eq(qv_catalog_create_partition(c, "default", "books", "p1", NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_create_alias(c, "default", "b", "books", NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_create_alias(c, "default", "books", "books", &e),
                     QV_EALIASCONFLICT);
    ck_assert_int_eq(qv_catalog_drop_collection(c, "default", "books", &e), QV_EUNEXPECTED);
    qv_names_add(&parts, "p1");
    ck_assert_int_eq(qv_catalog_set_loaded(c, "default", "b", &parts, true, NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_drop_partition(c, "default", "books", "p1", &e), QV_EINVAL);
    version = qv_catalog_version(c);
    qv_catalog_close(c);

    c = open_catalog(); /* everything survives a reopen */
    ck_assert_uint_eq(qv_catalog_version(c), version);
    ck_assert_int_eq(qv_catalog_get_collection(c, "default", "b", &got, NULL), QV_OK);
    ck_assert_str_eq(got.name, "books");
    ck_assert_uint_eq(got.partition_count, 2);
    ck_assert(got.partitions[1].loaded);
    ck_assert_uint_eq(got.aliases.count, 1);
    ck_assert_int_eq(got.schema.fields[0].id, 100);
    ck_assert_uint_eq(got.schema.fields[1].dim, 4);
    ck_assert_int_eq(got.load_state, QV_LOAD_LOADED);
    qv_collection_info_fini(&got);
    ck_assert_int_eq(qv_catalog_get_collection(c, "default", "nope", &got, &e), QV_ENOCOLL);
    ck_assert_str_eq(e.msg, "can't find collection[database=default][collection=nope]");
    ck_assert_int_eq(qv_catalog_drop_alias(c, "default", "b", NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_drop_collection(c, "default", "books", NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_drop_collection(c, "default", "books", NULL), QV_OK);
    qv_names_fini(&parts);
    qv_collection_info_fini(&spec);
    qv_catalog_close(c);
}
END_TEST

START_TEST(test_failed_write_rolls_back)
{
    qv_catalog *c = NULL;
    qv_io *faulty;
    qv_io_fault fault = {.op = QV_IO_FAULT_FSYNC, .nth = 1, .errnum = 5 /* EIO */};
    qv_names names;
    qv_error e;

    ck_assert_int_eq(qv_io_faulty_new(io, NULL, &faulty, NULL), QV_OK);
    ck_assert_int_eq(qv_catalog_open(dir, faulty, &c, NULL), QV_OK);
    qv_io_faulty_arm(faulty, &fault);
    ck_assert_int_ne(qv_catalog_create_database(c, "db1", NULL, &e), QV_OK);
    qv_io_faulty_arm(faulty, NULL);
    ck_assert_int_eq(qv_catalog_list_databases(c, &names, NULL), QV_OK);
    ck_assert_uint_eq(names.count, 1); /* not applied in memory either */
    qv_names_fini(&names);
    qv_catalog_close(c);
    qv_io_free(faulty);
}
END_TEST

START_TEST(test_corruption_refuses_to_open)
{
    qv_catalog *c = open_catalog();
    char path[300];
    qv_error e;
    int fd;

    ck_assert_int_eq(qv_catalog_create_database(c, "db1", NULL, NULL), QV_OK);
    qv_catalog_close(c);
    snprintf(path, sizeof path, "%s/catalog.qvc", dir);
    ck_assert_int_ge(fd = open(path, O_RDWR), 0);
    ck_assert_int_eq(pwrite(fd, "X", 1, 30), 1);
    close(fd);
    ck_assert_int_eq(qv_catalog_open(dir, io, &c, &e), QV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, "checksum"));
}
END_TEST

START_TEST(test_name_rules)
{
    char long_name[300];
    qv_error e;

    memset(long_name, 'a', 256);
    long_name[256] = '\0';
    ck_assert_int_eq(qv_name_validate(QV_NAME_COLLECTION, "_ok_1", NULL), QV_OK);
    ck_assert_int_eq(qv_name_validate(QV_NAME_COLLECTION, "", &e), QV_EINVAL);
    ck_assert_int_eq(qv_name_validate(QV_NAME_COLLECTION, long_name, &e), QV_EINVAL);
    ck_assert_int_eq(qv_name_validate(QV_NAME_COLLECTION, "1abc", &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "Invalid collection name: 1abc"));
    ck_assert_int_eq(qv_name_validate(QV_NAME_COLLECTION, "a-b", &e), QV_EINVAL);
    ck_assert_int_eq(qv_name_validate(QV_NAME_DATABASE, "a-b", &e), QV_OK);
    /* nothing that could escape a directory */
    ck_assert_int_eq(qv_name_validate(QV_NAME_DATABASE, "..", &e), QV_EINVAL);
    ck_assert_int_eq(qv_name_validate(QV_NAME_PARTITION, "a/b", &e), QV_EINVAL);
    ck_assert_int_eq(qv_name_validate(QV_NAME_ALIAS, "a.b", &e), QV_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("catalog");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_databases);
    tcase_add_test(tc, test_collections_aliases_persist);
    tcase_add_test(tc, test_failed_write_rolls_back);
    tcase_add_test(tc, test_corruption_refuses_to_open);
    tcase_add_test(tc, test_name_rules);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
