/* SPDX-License-Identifier: Apache-2.0 */
/* test_config.c - option layering: defaults < YAML file < environment < flags. */
#include <stdio.h>
#include <string.h>

#include "quiver/config.h"
#include "testutil.h"

static qv_err load(int argc, char **argv, char **envp, qv_config *c, qv_error *e)
{
    qv_config_src src = {.argc = argc, .argv = argv, .envp = envp};
    return qv_config_load(&src, c, e);
}

START_TEST(test_defaults)
{
    char *envp[] = {NULL};
    qv_config c;
    ck_assert_int_eq(load(0, NULL, envp, &c, NULL), QV_OK);
    ck_assert_str_eq(c.server_listen, "127.0.0.1:19530");
    ck_assert_str_eq(c.server_data_dir, "./data");
    ck_assert_uint_eq(c.server_body_limit_bytes, 64u << 20);
    ck_assert(!c.server_strict_http_status);
    qv_config_fini(&c);
}
END_TEST

START_TEST(test_layering_file_env_flag)
{
    char dir[256], path[300];
    FILE *f;
    qv_config c;
    qv_error e;

    test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/q.yaml", dir);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs("server:\n  listen: 0.0.0.0:1\n  threads: 3\n  idle_timeout_s: 7\nlog:\n  level: warn\n", f);
    fclose(f);
    {
        char *argv[] = {"--config", path, "--listen", "127.0.0.1:9", "--server.threads=5", NULL};
        char *envp[] = {"QUIVER__SERVER__THREADS=4", "QUIVER__SERVER__BODY_LIMIT_BYTES=2MiB",
                        "QUIVER__SERVER__IDLE_TIMEOUT_S=8", "UNRELATED=1", NULL};
        ck_assert_int_eq(load(5, argv, envp, &c, &e), QV_OK);
    }
    ck_assert_str_eq(c.server_listen, "127.0.0.1:9"); /* flag beats file */
    ck_assert_int_eq(c.server_threads, 5);             /* flag beats env beats file */
    ck_assert_int_eq(c.server_idle_timeout_s, 8);      /* env beats file */
    ck_assert_uint_eq(c.server_body_limit_bytes, 2u << 20);
    ck_assert_str_eq(c.log_level, "warn"); /* file beats default */
    qv_config_fini(&c);
    test_rmtree(dir);
}
END_TEST

START_TEST(test_bad_values_name_the_option)
{
    char *envp[] = {NULL}, *envbad[] = {"QUIVER__SERVER__THREADS=lots", NULL};
    char *argv1[] = {"--server.threads", "9999"}, *argv2[] = {"--no.such", "1"};
    char *argv3[] = {"--server.strict_http_status", "maybe"}, *argv4[] = {"--listen"};
    qv_config c;
    qv_error e;

    ck_assert_int_eq(load(2, argv1, envp, &c, &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "server.threads"));
    ck_assert_int_eq(load(2, argv2, envp, &c, &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "no.such"));
    ck_assert_int_eq(load(2, argv3, envp, &c, &e), QV_EINVAL);
    ck_assert_int_eq(load(1, argv4, envp, &c, &e), QV_EINVAL);
    ck_assert_int_eq(load(0, NULL, envbad, &c, &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "environment"));
}
END_TEST

START_TEST(test_bad_yaml_reports_line)
{
    char dir[256], path[300], *envp[] = {NULL};
    FILE *f;
    qv_config c;
    qv_error e;

    test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/q.yaml", dir);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs("server:\n  listen: [a\n", f);
    fclose(f);
    {
        char *argv[] = {"--config", path};
        ck_assert_int_eq(load(2, argv, envp, &c, &e), QV_EINVAL);
    }
    ck_assert_ptr_nonnull(strstr(e.msg, "q.yaml"));
    test_rmtree(dir);
}
END_TEST

START_TEST(test_dump_and_help)
{
    char *envp[] = {NULL};
    qv_config c;
    qv_buf b;

    ck_assert_int_eq(load(0, NULL, envp, &c, NULL), QV_OK);
    qv_buf_init(&b);
    qv_config_dump(&c, &b);
    ck_assert_ptr_nonnull(strstr((char *)b.data, "server:\n  listen: \"127.0.0.1:19530\"\n"));
    b.len = 0;
    qv_config_help(&b);
    ck_assert_ptr_nonnull(strstr((char *)b.data, "QUIVER__SERVER__BODY_LIMIT_BYTES"));
    qv_buf_fini(&b);
    qv_config_fini(&c);
}
END_TEST

START_TEST(test_split_listen)
{
    char host[64];
    uint16_t port;
    ck_assert_int_eq(qv_config_split_listen("127.0.0.1:80", host, sizeof host, &port, NULL), QV_OK);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_uint_eq(port, 80);
    ck_assert_int_eq(qv_config_split_listen("[::1]:19530", host, sizeof host, &port, NULL), QV_OK);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(qv_config_split_listen("nohost", host, sizeof host, &port, NULL), QV_EINVAL);
    ck_assert_int_eq(qv_config_split_listen("h:99999", host, sizeof host, &port, NULL), QV_EINVAL);
    ck_assert_int_eq(qv_config_split_listen(":1", host, sizeof host, &port, NULL), QV_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_layering_file_env_flag);
    tcase_add_test(tc, test_bad_values_name_the_option);
    tcase_add_test(tc, test_bad_yaml_reports_line);
    tcase_add_test(tc, test_dump_and_help);
    tcase_add_test(tc, test_split_listen);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
