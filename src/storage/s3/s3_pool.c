/* SPDX-License-Identifier: Apache-2.0 */
/* s3_pool.c - the client's worker threads: qv_s3_run_jobs hands them one batch of uploads
 * and deletes (one batch at a time) and waits until every job has finished. Each worker
 * keeps its own curl handle, so its requests reuse connections. The batch is the bounded
 * queue: its producer (the store's offloader thread) decides how many jobs go in it, and
 * nobody else ever waits on it. */
#include <pthread.h>
#include <string.h>

#include "quiver/alloc.h"
#include "storage/s3/s3_int.h"

struct s3_pool {
    pthread_mutex_t batch;  /* one batch at a time */
    pthread_mutex_t lock;   /* guards everything below */
    pthread_cond_t work, done;
    qv_s3_job *jobs;
    size_t njobs, next, finished;
    bool stopping;
    pthread_t *threads;
    int nthreads;
};

static void run_job(qv_s3 *s, qv_s3_job *j)
{
    qv_s3_object remote = {0};
    s3_put_check chk = {.check_crc = j->check_crc, .expect_crc = j->expect_crc};

    memset(&j->err, 0, sizeof j->err);
    j->skipped = false;
    if (j->op == QV_S3_JOB_DELETE) {
        j->rc = qv_s3_delete(s, j->key, &j->err);
        return;
    }
    if (j->skip_same && (j->rc = qv_s3_head(s, j->key, &remote, &j->err)) != QV_OK)
        return;
    chk.remote = j->skip_same ? &remote : NULL;
    if (j->op == QV_S3_JOB_PUT) {
        j->bytes = j->len;
        j->rc = s3_put_data_ex(s, j->key, j->data, j->len, chk.remote, &j->crc, &j->skipped,
                               &j->err);
    } else {
        j->rc = s3_put_file_ex(s, j->key, j->path, &chk, &j->crc, &j->bytes, &j->skipped,
                               &j->err);
    }
}

static void *worker_main(void *arg)
{
    qv_s3 *s = arg;
    struct s3_pool *p = s->pool;

    s3_pool_thread_easy(true);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && p->next >= p->njobs)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->next >= p->njobs) /* stopping, and no job left (a batch always finishes) */
            break;
        qv_s3_job *j = &p->jobs[p->next++];
        pthread_mutex_unlock(&p->lock);
        run_job(s, j);
        pthread_mutex_lock(&p->lock);
        if (++p->finished == p->njobs)
            pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    s3_pool_thread_easy(false);
    return NULL;
}

qv_err s3_pool_start(qv_s3 *s, qv_error *err)
{
    struct s3_pool *p = qv_calloc(1, sizeof *p);

    if (!p || !(p->threads = qv_calloc((size_t)s->concurrency, sizeof *p->threads))) {
        qv_free(p);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->batch, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    s->pool = p;
    for (int i = 0; i < s->concurrency; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, s) != 0)
            return qv_error_set(err, QV_EINTERNAL, "cannot start the S3 worker threads");
        p->nthreads++;
    }
    return QV_OK;
}

void s3_pool_stop(qv_s3 *s)
{
    struct s3_pool *p = s->pool;

    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->batch);
    qv_free(p->threads);
    qv_free(p);
    s->pool = NULL;
}

void qv_s3_run_jobs(qv_s3 *s, qv_s3_job *jobs, size_t n)
{
    struct s3_pool *p = s->pool;

    if (!n)
        return;
    pthread_mutex_lock(&p->batch);
    pthread_mutex_lock(&p->lock);
    p->jobs = jobs;
    p->njobs = n;
    p->next = p->finished = 0;
    pthread_cond_broadcast(&p->work);
    while (p->finished < n)
        pthread_cond_wait(&p->done, &p->lock);
    p->jobs = NULL;
    p->njobs = p->next = p->finished = 0;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->batch);
}
