/* SPDX-License-Identifier: Apache-2.0 */
/* cluster_int.h - shared by the cluster module's files. */
#ifndef QUIVER_CLUSTER_INT_H
#define QUIVER_CLUSTER_INT_H

#include <pthread.h>

#include "quiver/cluster.h"

#define QV_CLUSTER_MAX_ID 48

typedef struct cluster_peer {
    char id[QV_CLUSTER_MAX_ID + 1];
    char url[256];
    qv_peer_state state; /* guarded by the cluster lock; the self entry is not used */
    /* writes of ours it missed (cluster lock): it must catch up before anyone reads from
     * it; `told` is the count our last delivered resync ping covered */
    uint64_t missed, told;
} cluster_peer;

struct qv_cluster {
    pthread_mutex_t lock; /* guards peer states, self_ready, stopping */
    pthread_cond_t wake;
    cluster_peer peers[QV_CLUSTER_MAX_PEERS]; /* sorted by id */
    size_t npeers, self;
    size_t replication, write_quorum;
    int heartbeat_ms, timeout_ms;
    bool allow_partial;
    bool self_ready;
    _Atomic uint64_t resyncs; /* catch-ups asked of this node (qv_cluster_resync) */
    /* pause detection (heartbeat.c): CLOCK_MONOTONIC ms when the heartbeat thread last
     * showed it runs, and whether it is inside the node's tick (which may take long) */
    _Atomic uint64_t alive_ms;
    _Atomic bool in_tick;
    char secret[256];
    char ca_file[512]; /* https:// peers are verified against it ("" : the system store) */
    pthread_t heartbeat;
    bool running, stopping;
    void (*tick)(void *);
    void *tick_ctx;
    struct qv_metric *m_requests, *m_duration; /* peer,code and peer; NULL: none */
};

uint64_t cluster_now_ms(void);  /* CLOCK_REALTIME */
uint64_t cluster_mono_ms(void); /* CLOCK_MONOTONIC: keeps running while the process is stopped */
/* How long a ping waits: a peer silent this long is marked down and written without. */
int cluster_ping_timeout_ms(const qv_cluster *c);
/* Longest normal silence of the heartbeat thread outside the tick: one sleep, one ping
 * round. A longer one means this process was stopped long enough for peers to write
 * without it. */
uint64_t cluster_pause_limit_ms(const qv_cluster *c);

#endif
