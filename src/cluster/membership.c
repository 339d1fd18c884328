/* SPDX-License-Identifier: Apache-2.0 */
/* membership.c - the peer list, rendezvous placement, liveness, the catalog leader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

uint64_t cluster_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t cluster_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cluster_ping_timeout_ms(const qv_cluster *c)
{
    return c->timeout_ms < c->heartbeat_ms * 2 ? c->timeout_ms : c->heartbeat_ms * 2;
}

uint64_t cluster_pause_limit_ms(const qv_cluster *c)
{
    return (uint64_t)c->heartbeat_ms + (uint64_t)cluster_ping_timeout_ms(c);
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t qv_cluster_score(int64_t coll, uint32_t shard, const char *node_id)
{
    uint64_t h = 14695981039346656037ull;

    for (const unsigned char *p = (const unsigned char *)node_id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return splitmix64(h ^ splitmix64(((uint64_t)coll << 32) + shard));
}

static bool valid_id(const char *s, size_t n)
{
    if (n == 0 || n > QV_CLUSTER_MAX_ID)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
              (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

static qv_err add_peer(qv_cluster *c, const char *id, size_t idn, const char *url, size_t urln,
                       qv_error *err)
{
    cluster_peer *p;

    if (!valid_id(id, idn))
        return qv_error_set(err, QV_EINVAL,
                            "cluster.peers: bad node id '%.*s' (1-%d of A-Z a-z 0-9 . _ -)",
                            (int)idn, id, QV_CLUSTER_MAX_ID);
    if (urln < 8 || urln >= sizeof p->url ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return qv_error_set(err, QV_EINVAL, "cluster.peers: bad URL '%.*s' for %.*s", (int)urln,
                            url, (int)idn, id);
    for (size_t i = 0; i < c->npeers; i++)
        if (strlen(c->peers[i].id) == idn && !memcmp(c->peers[i].id, id, idn))
            return qv_error_set(err, QV_EINVAL, "cluster.peers: node id %.*s twice", (int)idn, id);
    if (c->npeers == QV_CLUSTER_MAX_PEERS)
        return qv_error_set(err, QV_EINVAL, "cluster.peers: more than %d peers",
                            QV_CLUSTER_MAX_PEERS);
    p = &c->peers[c->npeers++];
    memcpy(p->id, id, idn);
    p->id[idn] = 0;
    memcpy(p->url, url, urln);
    p->url[urln] = 0;
    while (urln && p->url[urln - 1] == '/')
        p->url[--urln] = 0;
    p->state.live = true; /* until a ping says otherwise */
    return QV_OK;
}

/* "id=url,id=url" */
static qv_err parse_peers(qv_cluster *c, const char *list, qv_error *err)
{
    const char *p = list;
    qv_err rc = QV_OK;

    while (*p && rc == QV_OK) {
        const char *end = strchr(p, ','), *eq;
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ')) {
            p++;
            n--;
        }
        eq = memchr(p, '=', n);
        if (n && !eq)
            rc = qv_error_set(err, QV_EINVAL, "cluster.peers: '%.*s' is not id=url", (int)n, p);
        else if (n)
            rc = add_peer(c, p, (size_t)(eq - p), eq + 1, n - (size_t)(eq - p) - 1, err);
        p += n + (end != NULL);
    }
    return rc;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const cluster_peer *)a)->id, ((const cluster_peer *)b)->id);
}

qv_err qv_cluster_open(const qv_config *cfg, const char *self_id, const char *self_url,
                       qv_cluster **out, qv_error *err)
{
    qv_cluster *c;
    qv_err rc;

    *out = NULL;
    if (!cfg->cluster_peers[0])
        return QV_OK;
    if (!cfg->cluster_secret[0])
        return qv_error_set(err, QV_EINVAL, "cluster.secret is required with cluster.peers");
    if (!(c = qv_calloc(1, sizeof *c)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    snprintf(c->secret, sizeof c->secret, "%s", cfg->cluster_secret);
    snprintf(c->ca_file, sizeof c->ca_file, "%s",
             cfg->cluster_tls_ca_file[0] ? cfg->cluster_tls_ca_file : cfg->server_tls_cert_file);
    if ((rc = parse_peers(c, cfg->cluster_peers, err)) == QV_OK) {
        bool have = false;
        for (size_t i = 0; i < c->npeers; i++)
            have |= !strcmp(c->peers[i].id, self_id);
        if (!have)
            rc = add_peer(c, self_id, strlen(self_id), self_url, strlen(self_url), err);
    }
    if (rc != QV_OK) {
        qv_cluster_close(c);
        return rc;
    }
    qsort(c->peers, c->npeers, sizeof *c->peers, by_id);
    for (size_t i = 0; i < c->npeers; i++)
        if (!strcmp(c->peers[i].id, self_id))
            c->self = i;
    c->replication = cfg->cluster_replication_factor ? (size_t)cfg->cluster_replication_factor
                                                      : (c->npeers >= 2 ? 2 : 1);
    if (c->replication > c->npeers)
        c->replication = c->npeers;
    c->write_quorum = (size_t)cfg->cluster_write_quorum;
    if (c->write_quorum > c->replication)
        c->write_quorum = c->replication;
    c->heartbeat_ms = (int)cfg->cluster_heartbeat_ms;
    c->timeout_ms = (int)cfg->cluster_peer_timeout_ms;
    c->allow_partial = cfg->cluster_allow_partial;
    qv_log_info("cluster", "node %s of %zu peers, replication %zu, write quorum %zu", self_id,
                c->npeers, c->replication, c->write_quorum);
    *out = c;
    return QV_OK;
}

void qv_cluster_set_metrics(qv_cluster *c, struct qv_metric *requests, struct qv_metric *duration)
{
    c->m_requests = requests;
    c->m_duration = duration;
}

size_t qv_cluster_size(const qv_cluster *c) { return c->npeers; }
size_t qv_cluster_self(const qv_cluster *c) { return c->self; }
const char *qv_cluster_peer_id(const qv_cluster *c, size_t i) { return c->peers[i].id; }
const char *qv_cluster_peer_url(const qv_cluster *c, size_t i) { return c->peers[i].url; }
size_t qv_cluster_replication(const qv_cluster *c) { return c->replication; }
size_t qv_cluster_write_quorum(const qv_cluster *c) { return c->write_quorum; }
int qv_cluster_timeout_ms(const qv_cluster *c) { return c->timeout_ms; }
bool qv_cluster_allow_partial(const qv_cluster *c) { return c->allow_partial; }

void qv_cluster_peer_state(qv_cluster *c, size_t i, qv_peer_state *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->peers[i].state;
    if (i == c->self) {
        uint64_t now = cluster_mono_ms(), alive = atomic_load(&c->alive_ms);
        uint64_t limit = atomic_load(&c->in_tick) ? (uint64_t)c->timeout_ms + 1000
                                                  : cluster_pause_limit_ms(c);
        out->live = true;
        /* a silent heartbeat thread means this process was stopped and peers may have
         * written without us: not ready, even before the heartbeat thread runs again
         * and asks for a catch-up (heartbeat.c) */
        out->ready = c->self_ready && (!alive || now <= alive + limit);
        out->last_ok_ms = cluster_now_ms();
    }
    pthread_mutex_unlock(&c->lock);
}

void qv_cluster_set_ready(qv_cluster *c, bool ready)
{
    pthread_mutex_lock(&c->lock);
    if (c->self_ready != ready)
        qv_log_info("cluster", "node %s is %s", c->peers[c->self].id,
                    ready ? "ready" : "catching up");
    c->self_ready = ready;
    pthread_mutex_unlock(&c->lock);
}

void qv_cluster_note_missed(qv_cluster *c, size_t peer)
{
    if (peer == c->self)
        return;
    pthread_mutex_lock(&c->lock);
    cluster_peer *p = &c->peers[peer];
    if (p->missed == p->told)
        qv_log_warn("cluster", "peer %s missed a write: no reads from it until it caught up",
                    p->id);
    p->missed++;
    p->state.ready = false;
    pthread_mutex_unlock(&c->lock);
}

void qv_cluster_resync(qv_cluster *c, const char *why)
{
    atomic_fetch_add(&c->resyncs, 1);
    pthread_mutex_lock(&c->lock);
    if (c->self_ready)
        qv_log_warn("cluster", "node %s catches up again: %s", c->peers[c->self].id, why);
    c->self_ready = false;
    pthread_mutex_unlock(&c->lock);
}

uint64_t qv_cluster_resyncs(qv_cluster *c) { return atomic_load(&c->resyncs); }

void qv_cluster_mark(qv_cluster *c, size_t peer, bool ok)
{
    if (peer == c->self)
        return;
    pthread_mutex_lock(&c->lock);
    cluster_peer *p = &c->peers[peer];
    if (ok)
        p->state.last_ok_ms = cluster_now_ms();
    if (p->state.live != ok)
        qv_log_info("cluster", "peer %s is %s", p->id, ok ? "up" : "down");
    p->state.live = ok;
    if (!ok)
        p->state.ready = false;
    pthread_mutex_unlock(&c->lock);
}

size_t qv_cluster_owners(const qv_cluster *c, int64_t coll, uint32_t shard, size_t *out)
{
    uint64_t score[QV_CLUSTER_MAX_PEERS];
    size_t n = 0;

    for (size_t i = 0; i < c->npeers; i++)
        score[i] = qv_cluster_score(coll, shard, c->peers[i].id);
    /* selection of the R best; peers are sorted by id, so '>' keeps ties by id */
    for (size_t r = 0; r < c->replication; r++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < c->npeers; i++) {
            bool taken = false;
            for (size_t k = 0; k < n; k++)
                taken |= out[k] == i;
            if (!taken && (best == SIZE_MAX || score[i] > score[best]))
                best = i;
        }
        out[n++] = best;
    }
    return n;
}

size_t qv_cluster_leader(qv_cluster *c)
{
    size_t leader = c->self;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->npeers; i++) {
        if (i == c->self || c->peers[i].state.live) {
            leader = i; /* peers are sorted by id: the first live one */
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return leader;
}
