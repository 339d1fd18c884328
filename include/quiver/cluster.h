/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/cluster.h - identical peers: membership, shard placement, peer liveness, the
 * authenticated peer protocol's client side.
 *
 * Members come from a static list (`cluster.peers`: id=url,...; the node itself is added
 * when the list leaves it out). Each shard of a collection is owned by the R peers with the
 * highest rendezvous score (qv_cluster_score); its primary is the first owner, in score
 * order, that is live and ready. A heartbeat thread pings every peer; a peer is live while
 * its pings answer within cluster.peer_timeout_ms, ready once it has caught up with the
 * shards it owns (it says so in its ping answer).
 *
 * Peer requests go to /internal/v1/... and carry X-Quiver-Peer: "<node id> <unix ms>
 * <hex HMAC-SHA256>" over the secret cluster.secret; see qv_cluster_sign. */
#ifndef QUIVER_CLUSTER_H
#define QUIVER_CLUSTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/config.h"
#include "quiver/err.h"

#define QV_CLUSTER_MAX_PEERS 64
#define QV_CLUSTER_MAX_REPLICAS 8
#define QV_PEER_HEADER "X-Quiver-Peer"
#define QV_PEER_AUTH_MAX 160 /* bytes of an X-Quiver-Peer value, NUL included */

typedef struct qv_cluster qv_cluster;

typedef struct qv_peer_state {
    bool live, ready;
    uint64_t catalog_version; /* as of its last ping answer */
    uint64_t last_ok_ms;      /* CLOCK_REALTIME ms of its last answer; 0: never */
} qv_peer_state;

/* Parse the configuration. *out is NULL (no error) when cluster.peers is empty: a single
 * node. self_url is how peers reach this node (http://listen). */
qv_err qv_cluster_open(const qv_config *cfg, const char *self_id, const char *self_url,
                       qv_cluster **out, qv_error *err);
/* Start the heartbeat thread: every cluster.heartbeat_ms it pings each peer
 * (GET /internal/v1/ping answers {"node","catalogVersion","ready"}), then calls tick(ctx)
 * on its own thread (the node's catch-up work). */
qv_err qv_cluster_start(qv_cluster *c, void (*tick)(void *), void *ctx, qv_error *err);
void qv_cluster_close(qv_cluster *c); /* NULL is a no-op */

size_t qv_cluster_size(const qv_cluster *c);
size_t qv_cluster_self(const qv_cluster *c);
const char *qv_cluster_peer_id(const qv_cluster *c, size_t i);
const char *qv_cluster_peer_url(const qv_cluster *c, size_t i);
void qv_cluster_peer_state(qv_cluster *c, size_t i, qv_peer_state *out);
size_t qv_cluster_replication(const qv_cluster *c);
size_t qv_cluster_write_quorum(const qv_cluster *c);
int qv_cluster_timeout_ms(const qv_cluster *c);
bool qv_cluster_allow_partial(const qv_cluster *c);
/* This node is ready (caught up); set by the node once its shards are in sync. */
void qv_cluster_set_ready(qv_cluster *c, bool ready);
/* A peer answered (or failed) a request: liveness follows at once. */
void qv_cluster_mark(qv_cluster *c, size_t peer, bool ok);
/* A write of ours went on without peer (down, or its replication failed): it is read from
 * by no one until it has caught up. Our next ping to it carries X-Quiver-Resync. */
void qv_cluster_note_missed(qv_cluster *c, size_t peer);
/* This node missed writes (a peer said so, or it was paused): not ready until a catch-up
 * that starts after this call completes. qv_cluster_resyncs counts the calls, so a
 * catch-up can tell whether it began after the last one. */
void qv_cluster_resync(qv_cluster *c, const char *why);
uint64_t qv_cluster_resyncs(qv_cluster *c);

/* Rendezvous score of node_id for shard `shard` of collection coll: SplitMix64 finaliser
 * of FNV-1a-64(node id bytes) XOR SplitMix64(coll * 2^32 + shard). Part of the wire and
 * on-disk contract: owners are the R highest scores (ties by node id). */
uint64_t qv_cluster_score(int64_t coll, uint32_t shard, const char *node_id);
/* Owners of a shard, best first: peer indexes into out[], returns R (or fewer peers). */
size_t qv_cluster_owners(const qv_cluster *c, int64_t coll, uint32_t shard, size_t *out);
/* The catalog leader: the live peer with the smallest id (this node if none answers). */
size_t qv_cluster_leader(qv_cluster *c);

/* X-Quiver-Peer value for a request (out has QV_PEER_AUTH_MAX bytes):
 * "<id> <ms> <hex HMAC-SHA256(secret, id \n ms \n method \n path \n hex SHA-256(body))>". */
void qv_cluster_sign(const qv_cluster *c, const char *method, const char *path,
                     const void *body, size_t len, char *out);
/* Check a request's X-Quiver-Peer (NULL: missing): known peer, clock within 5 minutes,
 * MAC. *peer gets the caller's index. QV_EAUTH otherwise. */
qv_err qv_cluster_verify(const qv_cluster *c, const char *header, const char *method,
                         const char *path, const void *body, size_t len, size_t *peer,
                         qv_error *err);

/* One request to a peer, run with others in parallel by qv_cluster_call. */
typedef struct qv_peer_call {
    size_t peer;
    const char *method; /* "GET" or "POST" */
    const char *path;   /* /internal/v1/... */
    const void *body;
    size_t len;
    const char *content_type; /* NULL: application/octet-stream */
    const char *header;       /* one extra "Name: value" header, or NULL */
    /* results */
    bool ok;    /* a complete HTTP response arrived */
    long status;
    qv_buf resp; /* initialised by qv_cluster_call; caller finis */
    char error[160];
} qv_peer_call;

/* Count every peer request in requests{peer,code} (code: the HTTP status, or "error" when
 * no response came) and time it in duration{peer,code}; NULL families count nothing.
 * Call before qv_cluster_start. */
struct qv_metric;
void qv_cluster_set_metrics(qv_cluster *c, struct qv_metric *requests, struct qv_metric *duration);

/* Send every call at once (libcurl multi, keep-alive connections cached per thread) and
 * wait for all of them, at most timeout_ms. Liveness is updated from the outcome. */
void qv_cluster_call(qv_cluster *c, qv_peer_call *calls, size_t n, int timeout_ms);
/* The same in two halves, so the caller can work while the calls are in flight: begin
 * sends them (calls must stay put until end), end waits and fills the results. */
typedef struct qv_peer_batch qv_peer_batch;
qv_peer_batch *qv_cluster_call_begin(qv_cluster *c, qv_peer_call *calls, size_t n,
                                     int timeout_ms);
void qv_cluster_call_end(qv_peer_batch *b);
void qv_peer_calls_fini(qv_peer_call *calls, size_t n);

#endif
