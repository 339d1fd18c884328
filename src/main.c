/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - process wiring only: config -> node -> http -> wait for a signal -> drain.
 *
 *   quiverd [serve] [flags]   run a node (default)
 *   quiverd version           print the version
 *   quiverd healthcheck       exit 0 when the local node answers /livez (Docker)
 *   quiverd config [flags]    print the effective configuration, secrets redacted
 *   quiverd --help            usage and every option */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "quiver/config.h"
#include "quiver/http.h"
#include "quiver/log.h"
#include "quiver/node.h"

extern char **environ;

static void print_buf(FILE *f, qv_buf *b)
{
    if (b->data)
        fwrite(b->data, 1, b->len, f);
    qv_buf_fini(b);
}

static int usage(FILE *f)
{
    qv_buf b;

    qv_buf_init(&b);
    qv_buf_puts(&b, "usage: quiverd [serve|version|healthcheck|config] [--config FILE] "
                    "[--listen HOST:PORT] [--data-dir DIR] [--section.key VALUE ...]\n\n");
    qv_config_help(&b);
    print_buf(f, &b);
    return f == stdout ? 0 : 2;
}

/* Block the signals main waits for, before any thread starts (threads inherit it). */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int serve(const qv_config *cfg)
{
    qv_node *node = NULL;
    qv_http_server *http = NULL;
    qv_error err = {0};
    sigset_t set;
    int sig = 0, left;

    block_signals(&set);
    if (qv_node_open(cfg, &node, &err) != QV_OK || qv_http_start(node, &http, &err) != QV_OK) {
        qv_log_error("main", "cannot start: %s", err.msg);
        qv_node_close(node);
        return 1;
    }
    qv_log_info("main", "quiverd %s ready (node %s)", QV_VERSION, node->node_id);
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
        qv_log_info("main", "SIGHUP: nothing to reload yet");
    qv_log_info("main", "%s: draining (readyz now 503, waiting up to %lld ms)",
                sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)cfg->server_drain_timeout_ms);
    atomic_store(&node->draining, true);
    left = qv_http_drain(http, (int)cfg->server_drain_timeout_ms);
    if (left)
        qv_log_warn("main", "%d requests still running at the drain deadline", left);
    qv_http_stop(http);
    qv_node_close(node);
    qv_log_info("main", "stopped cleanly");
    /* _exit: a background index build may still be inside FAISS (see qv_store_close); exit()
     * would run library destructors under it. Every file is synced already. */
    fflush(NULL);
    _exit(0);
}

int main(int argc, char **argv)
{
    const char *cmd = "serve";
    qv_config cfg;
    qv_error err = {0};
    qv_config_src src;
    int rc;

    if (argc > 1 && argv[1][0] != '-')
        cmd = argv[1], argc--, argv++;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return usage(stdout);
    if (!strcmp(cmd, "version")) {
        printf("quiverd %s (allocator %s)\n", QV_VERSION, qv_alloc_name());
        return 0;
    }
    src = (qv_config_src){.argc = argc - 1, .argv = argv + 1, .envp = environ};
    if (qv_config_load(&src, &cfg, &err) != QV_OK) {
        fprintf(stderr, "quiverd: %s\n", err.msg);
        return 2;
    }
    qv_log_setup(cfg.log_level, cfg.log_format);
    if (!strcmp(cmd, "serve")) {
        rc = serve(&cfg);
    } else if (!strcmp(cmd, "healthcheck")) {
        const char *tls = cfg.server_tls_cert_file[0] ? cfg.server_tls_cert_file : NULL;
        rc = qv_http_probe(cfg.server_listen, "/livez", 3000, tls, &err) == QV_OK ? 0 : 1;
        if (rc)
            fprintf(stderr, "quiverd healthcheck: %s\n", err.msg);
    } else if (!strcmp(cmd, "config")) {
        qv_buf b;
        qv_buf_init(&b);
        qv_config_dump(&cfg, &b);
        print_buf(stdout, &b);
        rc = 0;
    } else {
        fprintf(stderr, "quiverd: unknown command '%s'\n", cmd);
        rc = usage(stderr);
    }
    qv_config_fini(&cfg);
    return rc;
}
