/* SPDX-License-Identifier: Apache-2.0 */
/* metrics_process.c - process_* metrics from /proc/self (names as the Prometheus
 * client libraries export them). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics_int.h"

static double process_start_time(void)
{
    unsigned long long start_ticks = 0;
    double uptime = 0, now = (double)time(NULL);
    char buf[1024], *p;
    FILE *f;

    if ((f = fopen("/proc/self/stat", "r"))) {
        if (fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')'))) {
            /* field 22 (starttime) counted from field 3 after the comm */
            int field = 2;
            for (p += 2; *p && field < 21; p++)
                if (*p == ' ')
                    field++;
            sscanf(p, "%llu", &start_ticks);
        }
        fclose(f);
    }
    if ((f = fopen("/proc/uptime", "r"))) {
        if (fscanf(f, "%lf", &uptime) != 1)
            uptime = 0;
        fclose(f);
    }
    return now - uptime + (double)start_ticks / (double)sysconf(_SC_CLK_TCK);
}

static long count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;

    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 2 ? n - 3 : 0; /* ".", ".." and the directory's own fd */
}

static void resident_bytes(double *rss, double *vsz)
{
    unsigned long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2)
            size = resident = 0;
        fclose(f);
    }
    *vsz = (double)size * (double)sysconf(_SC_PAGESIZE);
    *rss = (double)resident * (double)sysconf(_SC_PAGESIZE);
}

void metrics_render_process(qv_buf *out)
{
    struct rusage ru;
    struct rlimit rl;
    double cpu = 0, rss, vsz;

    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    resident_bytes(&rss, &vsz);
    qv_buf_printf(out,
                  "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
                  "seconds.\n# TYPE process_cpu_seconds_total counter\n"
                  "process_cpu_seconds_total %.6f\n",
                  cpu);
    qv_buf_printf(out,
                  "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                  "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "
                  "%.0f\n# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                  "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %.0f\n",
                  rss, vsz);
    qv_buf_printf(out,
                  "# HELP process_open_fds Number of open file descriptors.\n"
                  "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
                  count_open_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        qv_buf_printf(out,
                      "# HELP process_max_fds Maximum number of open file descriptors.\n"
                      "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                      (unsigned long long)rl.rlim_cur);
    qv_buf_printf(out,
                  "# HELP process_start_time_seconds Start time of the process since unix epoch "
                  "in seconds.\n# TYPE process_start_time_seconds gauge\n"
                  "process_start_time_seconds %.3f\n",
                  process_start_time());
}
