/* SPDX-License-Identifier: Apache-2.0 */
/* heartbeat.c - the thread that pings every peer and then runs the node's catch-up tick. */
#include <string.h>
#include <time.h>

#include "cluster/cluster_int.h"
#include "quiver/alloc.h"
#include "quiver/json.h"
#include "quiver/log.h"

/* A ping answer: {"node": id, "catalogVersion": n, "ready": b}. */
static void take_answer(qv_cluster *c, const qv_peer_call *call)
{
    qv_jdoc *doc = NULL;
    int64_t version = 0;
    bool ready = false;
    const char *node = NULL;
    cluster_peer *p = &c->peers[call->peer];

    if (!call->ok || call->status != 200 ||
        qv_jdoc_parse((const char *)call->resp.data, call->resp.len, 8, &doc, NULL) != QV_OK)
        return;
    qv_jget_str(qv_jdoc_root(doc), "node", false, &node, NULL, NULL);
    qv_jget_int(qv_jdoc_root(doc), "catalogVersion", false, &version, NULL, NULL);
    qv_jget_bool(qv_jdoc_root(doc), "ready", false, &ready, NULL, NULL);
    pthread_mutex_lock(&c->lock);
    if (node && !strcmp(node, p->id)) {
        p->state.catalog_version = (uint64_t)version;
        p->state.ready = ready && p->missed == p->told; /* told: it answers not ready */
    } else {
        p->state.live = p->state.ready = false; /* another process on that address */
    }
    pthread_mutex_unlock(&c->lock);
    qv_jdoc_free(doc);
}

/* Every ping to a peer that missed writes of ours asks it to catch up
 * (X-Quiver-Resync); once one got through, the peer answers not ready until it has. */
static void ping_all(qv_cluster *c)
{
    qv_peer_call calls[QV_CLUSTER_MAX_PEERS];
    uint64_t missed[QV_CLUSTER_MAX_PEERS];
    size_t n = 0;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->npeers; i++) {
        if (i == c->self)
            continue;
        missed[n] = c->peers[i].missed;
        calls[n] = (qv_peer_call){.peer = i, .method = "GET", .path = "/internal/v1/ping"};
        if (missed[n] != c->peers[i].told)
            calls[n].header = "X-Quiver-Resync: 1";
        n++;
    }
    pthread_mutex_unlock(&c->lock);
    qv_cluster_call(c, calls, n, cluster_ping_timeout_ms(c));
    for (size_t i = 0; i < n; i++) {
        if (calls[i].ok && calls[i].status != 200)
            qv_cluster_mark(c, calls[i].peer, false); /* up, but not a peer of ours */
        if (calls[i].header && calls[i].ok && calls[i].status == 200) {
            pthread_mutex_lock(&c->lock);
            c->peers[calls[i].peer].told = missed[i];
            pthread_mutex_unlock(&c->lock);
        }
        take_answer(c, &calls[i]);
    }
    qv_peer_calls_fini(calls, n);
}

/* Was this thread silent for longer than a sleep and a ping round? Then the process was
 * stopped (SIGSTOP, a stall) long enough for peers to mark it down and write without
 * it: ask for a catch-up before showing it runs again, so no read in between trusts
 * the local copies (qv_cluster_peer_state judges a silent thread the same way). */
static void check_alive(qv_cluster *c)
{
    uint64_t now = cluster_mono_ms(), alive = atomic_load(&c->alive_ms);

    if (alive && now > alive + cluster_pause_limit_ms(c)) {
        qv_log_warn("cluster", "no heartbeat for %llu ms (was this process stopped?)",
                    (unsigned long long)(now - alive));
        qv_cluster_resync(c, "this process was paused");
    }
    atomic_store(&c->alive_ms, now);
}

static void *heartbeat_main(void *arg)
{
    qv_cluster *c = arg;
    struct timespec until;

    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        pthread_mutex_unlock(&c->lock);
        check_alive(c); /* after the sleep */
        ping_all(c);
        check_alive(c); /* after a ping round */
        atomic_store(&c->in_tick, true);
        if (c->tick)
            c->tick(c->tick_ctx);
        atomic_store(&c->alive_ms, cluster_mono_ms());
        atomic_store(&c->in_tick, false);
        pthread_mutex_lock(&c->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += c->heartbeat_ms / 1000;
        until.tv_nsec += (long)(c->heartbeat_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!c->stopping)
            pthread_cond_timedwait(&c->wake, &c->lock, &until);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

qv_err qv_cluster_start(qv_cluster *c, void (*tick)(void *), void *ctx, qv_error *err)
{
    c->tick = tick;
    c->tick_ctx = ctx;
    if (pthread_create(&c->heartbeat, NULL, heartbeat_main, c) != 0)
        return qv_error_set(err, QV_EINTERNAL, "cannot start the heartbeat thread");
    c->running = true;
    return QV_OK;
}

void qv_cluster_close(qv_cluster *c)
{
    if (!c)
        return;
    if (c->running) {
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_broadcast(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->heartbeat, NULL);
    }
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    qv_free(c);
}
