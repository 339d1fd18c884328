/* SPDX-License-Identifier: Apache-2.0 */
/* test_metrics.c - families, series, histograms and the Prometheus text format. */
#include <stdio.h>
#include <string.h>

#include "quiver/metrics.h"
#include "testutil.h"

START_TEST(test_render)
{
    qv_metrics *m = qv_metrics_new();
    qv_metric *c = qv_metrics_counter(m, "quiver_test_total", "A \"test\" counter.", "route,code");
    double bounds[] = {0.1, 1};
    qv_metric *h = qv_metrics_histogram(m, "quiver_test_seconds", "Latency.", NULL, bounds, 2);
    const char *v1[] = {"/a", "200"}, *v2[] = {"/b\"x", "500"};
    qv_buf b;

    qv_series_add(qv_metric_series(c, v1), 2);
    qv_series_add(qv_metric_series(c, v1), 1);
    qv_series_add(qv_metric_series(c, v2), 1);
    ck_assert(qv_metric_series(c, v1) == qv_metric_series(c, v1));
    ck_assert_double_eq(qv_series_value(qv_metric_series(c, v1)), 3);
    qv_series_observe(qv_metric_default(h), 0.05);
    qv_series_observe(qv_metric_default(h), 0.5);
    qv_series_observe(qv_metric_default(h), 5);
    qv_buf_init(&b);
    qv_metrics_render(m, &b);
    ck_assert_ptr_nonnull(strstr((char *)b.data, "# TYPE quiver_test_total counter\n"));
    ck_assert_ptr_nonnull(strstr((char *)b.data, "quiver_test_total{route=\"/a\",code=\"200\"} 3\n"));
    ck_assert_ptr_nonnull(strstr((char *)b.data, "route=\"/b\\\"x\""));
    ck_assert_ptr_nonnull(strstr((char *)b.data, "quiver_test_seconds_bucket{le=\"0.1\"} 1\n"));
    ck_assert_ptr_nonnull(strstr((char *)b.data, "quiver_test_seconds_bucket{le=\"1\"} 2\n"));
    ck_assert_ptr_nonnull(strstr((char *)b.data, "quiver_test_seconds_bucket{le=\"+Inf\"} 3\n"));
    ck_assert_ptr_nonnull(strstr((char *)b.data, "quiver_test_seconds_count 3\n"));
    ck_assert_ptr_nonnull(strstr((char *)b.data, "process_resident_memory_bytes "));
    qv_buf_fini(&b);
    qv_metrics_free(m);
}
END_TEST

START_TEST(test_series_cap_overflows)
{
    qv_metrics *m = qv_metrics_new();
    qv_metric *c = qv_metrics_counter(m, "quiver_many_total", "Many.", "k");
    char name[32];
    const char *v[] = {name};

    for (int i = 0; i < QV_METRIC_MAX_SERIES + 10; i++) {
        snprintf(name, sizeof name, "v%d", i);
        qv_series_add(qv_metric_series(c, v), 1);
    }
    /* past the cap, updates land in one overflow series instead of growing without bound */
    snprintf(name, sizeof name, "v%d", QV_METRIC_MAX_SERIES + 5);
    ck_assert_double_eq(qv_series_value(qv_metric_series(c, v)), 10);
    qv_metrics_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_render);
    tcase_add_test(tc, test_series_cap_overflows);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
