/* SPDX-License-Identifier: Apache-2.0 */
/* api_import.c - /v2/vectordb/jobs/import/{create,list,get_progress,describe}: bulk load
 * of JSON row-based files (a JSON array of row objects, or {"rows": [...]}, Milvus's two
 * JSON import layouts) from a local path under the data directory or the S3 bucket.
 *
 * DESIGN. Jobs run one at a time on a background thread, in creation order. A job first
 * decodes every file with the row codec (PreImporting): a malformed file fails the job,
 * its detail naming the file and the line, column and byte offset of the damage, or the
 * row and its line for a row the schema refuses, and nothing of any file is imported.
 * Then each file's rows become new sealed segments at once (Importing; qv_coll_import:
 * segment files, then the manifest, no WAL round trip), with fresh autoIDs when the
 * collection has autoID and each row in its key's partition on a partition-key
 * collection. Job state lives in memory only: a restart forgets every job (a file whose
 * import was interrupted is either wholly imported or not at all). Paths are resolved
 * (realpath) and must lie under the data directory, which refuses `..` and symlinks
 * leading out. A file may also be an object of the configured S3 bucket,
 * s3://<s3.bucket>/<key>, fetched whole into memory at PreImporting.
 *
 * CLUSTER. Every jobs/import route runs on the catalog leader (QV_ROUTE_LEADER), so one
 * node holds every job and any node answers list and progress. The leader decodes the
 * files as above, then writes the rows through the replicated write path in batches
 * (import_routed): each batch is durable on its shards' owners when written, but a
 * failure mid-file (an owner down beyond the write quorum) leaves the batches before it
 * imported and fails the job, naming the file and its imported row count.
 *
 * LOCKING: imp->lock guards the job list and every job's state fields; the worker reads,
 * decodes and imports without it, and a job is never freed while it can run. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/dist.h"
#include "quiver/log.h"
#include "quiver/rowcodec.h"
#include "quiver/s3.h"

#define MAX_IMPORT_FILES 1024            /* Milvus's dataCoord.import.maxFilesPerImportReq */
#define MAX_FILE_BYTES ((size_t)1 << 30) /* each file is decoded in memory */
#define MAX_JOBS 1024                    /* finished jobs beyond this are forgotten */
#define IMPORT_BATCH_ROWS 10000          /* rows per routed write on a cluster */

typedef enum job_state {
    JOB_PENDING,
    JOB_PREIMPORTING,
    JOB_IMPORTING,
    JOB_COMPLETED,
    JOB_FAILED,
} job_state;
static const char *const state_names[] = {"Pending", "PreImporting", "Importing", "Completed",
                                          "Failed"};

typedef struct import_file {
    char *name;   /* as the request gave it */
    char *path;   /* resolved at create: a local file, or */
    char *s3_key; /* an object of the configured bucket (s3://<bucket>/<key>) */
    uint64_t size, rows, imported, complete_ms;
    job_state state;
    char *reason;
    qv_rowbatch batch; /* decoded rows, from PreImporting until imported */
    bool decoded;
} import_file;

typedef struct import_job {
    int64_t id;
    char *db, *coll;
    int64_t coll_id;
    char *partition; /* NULL: the default partition, or routing by partition key */
    job_state state;
    uint64_t create_ms, complete_ms;
    char *reason;
    import_file *files;
    size_t nfiles;
    struct import_job *next;
} import_job;

struct api_importer {
    qv_node *node;
    pthread_mutex_t lock; /* guards everything below and the jobs' state */
    pthread_cond_t wake;
    pthread_t thread;
    bool running, stopping;
    import_job *head, *tail;
    size_t njobs;
    int64_t next_id;
};

/* ---- jobs --------------------------------------------------------------------------- */

static void job_free(import_job *j)
{
    for (size_t i = 0; j && i < j->nfiles; i++) {
        qv_free(j->files[i].name);
        qv_free(j->files[i].path);
        qv_free(j->files[i].s3_key);
        qv_free(j->files[i].reason);
        if (j->files[i].decoded)
            qv_rowbatch_fini(&j->files[i].batch);
    }
    if (j) {
        qv_free(j->files);
        qv_free(j->db);
        qv_free(j->coll);
        qv_free(j->partition);
        qv_free(j->reason);
        qv_free(j);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Set a job's or file's reason (lock held); the first one wins. */
static void set_reason(char **reason, const char *msg)
{
    if (!*reason)
        *reason = qv_strdup(msg);
}

static void job_finish(api_importer *imp, import_job *j, job_state st, const char *reason)
{
    pthread_mutex_lock(&imp->lock);
    j->state = st;
    j->complete_ms = now_ms();
    if (reason)
        set_reason(&j->reason, reason);
    for (size_t i = 0; i < j->nfiles; i++) {
        if (st == JOB_FAILED && j->files[i].state != JOB_COMPLETED)
            j->files[i].state = JOB_FAILED;
        if (j->files[i].decoded) {
            qv_rowbatch_fini(&j->files[i].batch);
            j->files[i].decoded = false;
        }
    }
    pthread_mutex_unlock(&imp->lock);
}

/* ---- decoding a file ------------------------------------------------------------------ */

/* Offset of element `want` of the JSON array starting at t[off], or SIZE_MAX. */
static size_t element_offset(const char *t, size_t off, size_t end, size_t want)
{
    size_t depth = 0, idx = 0;
    bool str = false, esc = false, start = true;

    for (size_t p = off; p < end; p++) {
        char ch = t[p];
        if (str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                str = false;
            continue;
        }
        if (depth == 1 && start && ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') {
            if (idx == want)
                return p;
            start = false;
        }
        if (ch == '"')
            str = true;
        else if (ch == '[' || ch == '{')
            depth++;
        else if ((ch == ']' || ch == '}') && depth-- == 1)
            return SIZE_MAX;
        else if (ch == ',' && depth == 1)
            idx++, start = true;
    }
    return SIZE_MAX;
}

static void line_col(const char *t, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t p = 0; p < off; p++) {
        if (t[p] == '\n')
            ++*line, *col = 1;
        else
            ++*col;
    }
}

/* Rewrite a codec error into where it is in the file: the line and column of a syntax
 * error ("... at offset N"), or the row and its line for a row error ("data[i]..."). */
static void locate_error(const import_file *f, const char *t, size_t len, qv_text_span span,
                         qv_error *err)
{
    char msg[sizeof err->msg];
    const char *at = strstr(err->msg, " at offset "), *row = strstr(err->msg, "data[");
    size_t off = SIZE_MAX, line, col, r;
    int n; /* the detail may be cut short to fit */

    if (at)
        off = (size_t)strtoull(at + 11, NULL, 10);
    if (row && !at && sscanf(row, "data[%zu]", &r) == 1 &&
        (off = element_offset(t, span.off, span.off + span.len, r)) != SIZE_MAX) {
        line_col(t, off, &line, &col);
        n = snprintf(msg, sizeof msg, "file %s: row %zu (line %zu): %s", f->name, r, line,
                     err->msg);
    } else if (off <= len) {
        line_col(t, off, &line, &col);
        n = snprintf(msg, sizeof msg, "file %s: line %zu, column %zu (offset %zu): %s", f->name,
                     line, col, off, err->msg);
    } else {
        n = snprintf(msg, sizeof msg, "file %s: %s", f->name, err->msg);
    }
    if (n > 0)
        memcpy(err->msg, msg, sizeof msg);
}

/* The bytes of file f: a local file or an S3 object. */
static qv_err read_source(qv_node *n, const import_file *f, qv_buf *out, qv_error *err)
{
    void *data = NULL;
    size_t len = 0;
    qv_err rc;

    qv_buf_init(out);
    if (f->s3_key)
        return qv_s3_get(n->s3, f->s3_key, MAX_FILE_BYTES, out, NULL, err);
    if ((rc = qv_io_read_file(n->io, f->path, MAX_FILE_BYTES, &data, &len, err)) == QV_OK) {
        out->data = data; /* qv_io_read_file allocates with qv_malloc, as qv_buf does */
        out->len = out->cap = len;
    }
    return rc;
}

/* Read and decode file f for schema s into f->batch. */
static qv_err decode_file(qv_node *n, const qv_schema *s, import_file *f, qv_error *err)
{
    const qv_field *pk = qv_schema_primary(s);
    qv_rows_opts o = {.pk_auto = pk->auto_id};
    qv_text_span span = {0, 0};
    qv_jdoc *rest = NULL;
    qv_buf src;
    char *data;
    size_t len, p = 0;
    qv_err rc = read_source(n, f, &src, err);

    if (rc != QV_OK) {
        qv_buf_fini(&src);
        return qv_error_prefix(err, "file %s: ", f->name), rc;
    }
    data = (char *)src.data;
    len = src.len;
    f->size = len;
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) /* a UTF-8 byte order mark */
        p = 3;
    while (p < len && (data[p] == ' ' || data[p] == '\n' || data[p] == '\r' || data[p] == '\t'))
        p++;
    if (p < len && data[p] == '[') {
        span = (qv_text_span){p, len - p};
    } else if (p < len && data[p] == '{') {
        if ((rc = qv_codec_split_body(data, len, "rows", 0, &rest, &span, err)) == QV_OK &&
            !span.len)
            rc = qv_error_set(err, QV_EIMPORT, "file %s: the object has no \"rows\" array",
                              f->name);
        qv_jdoc_free(rest);
    } else {
        rc = qv_error_set(err, QV_EIMPORT,
                          "file %s: a JSON import file holds an array of row objects or "
                          "{\"rows\": [...]}",
                          f->name);
    }
    if (rc == QV_OK && (rc = qv_codec_decode_rows_text(data, span, s, &o, &f->batch, err)) == QV_OK)
        f->decoded = true;
    else if (rc == QV_EBADJSON || rc == QV_EBADDATA)
        locate_error(f, data, len, span, err);
    qv_buf_fini(&src);
    return rc;
}

/* ---- running a job ------------------------------------------------------------------- */

/* Whether the node is stopping (the job then fails between two files). */
static bool stopping(api_importer *imp, qv_error *err)
{
    bool stop;

    pthread_mutex_lock(&imp->lock);
    stop = imp->stopping;
    pthread_mutex_unlock(&imp->lock);
    if (stop)
        qv_error_set(err, QV_EIMPORT, "the node is shutting down: importing data failed");
    return stop;
}

/* Every file decoded, or the job failed with the first bad file's reason. */
static bool preimport(api_importer *imp, import_job *j, const qv_schema *s)
{
    for (size_t i = 0; i < j->nfiles; i++) {
        import_file *f = &j->files[i];
        qv_error err = {0};
        qv_err rc = stopping(imp, &err) ? QV_EIMPORT : decode_file(imp->node, s, f, &err);
        pthread_mutex_lock(&imp->lock);
        if (rc == QV_OK) {
            f->rows = f->batch.rows;
            f->state = JOB_IMPORTING; /* decoded: waits for its turn */
        } else {
            f->state = JOB_FAILED;
            set_reason(&f->reason, err.msg);
        }
        pthread_mutex_unlock(&imp->lock);
        if (rc != QV_OK) {
            job_finish(imp, j, JOB_FAILED, err.msg);
            return false;
        }
    }
    return true;
}

/* Fresh autoIDs for a collection with autoID. */
static qv_err assign_ids(api_importer *imp, const qv_collection_info *ci, qv_rowbatch *b,
                         qv_error *err)
{
    const qv_field *pk = qv_schema_primary(&ci->schema);
    size_t pk_col = (size_t)(pk - ci->schema.fields);
    int64_t first = 0;
    qv_err rc = QV_OK;

    if (pk->auto_id && b->rows &&
        (rc = qv_idalloc_next(imp->node->ids, b->rows, &first, err)) == QV_OK) {
        for (size_t i = 0; i < b->rows; i++) {
            int64_t id = first + (int64_t)i;
            qv_colbuf_push_fixed(&b->cols[pk_col], &id);
        }
        if (b->cols[pk_col].data.failed)
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    return rc;
}

/* One node: the rows' partitions, then new sealed segments at once. */
static qv_err import_local(const qv_collection_info *ci, qv_coll_data *data, int64_t part,
                           import_file *f, qv_error *err)
{
    int64_t *parts = NULL;
    qv_err rc = QV_OK;

    if (qv_schema_partition_key(&ci->schema))
        rc = api_route_rows(ci, &f->batch, &parts, err);
    if (rc == QV_OK)
        rc = qv_coll_import(data, part, parts, &f->batch, err);
    qv_free(parts);
    return rc;
}

/* A cluster: the shards live on their owners, so the rows go through the replicated
 * write path (routed by shard, durable on W owners) in batches of IMPORT_BATCH_ROWS;
 * progress counts the batches written. */
static qv_err import_routed(api_importer *imp, const qv_dist_coll *dc, int64_t part,
                            import_file *f, qv_error *err)
{
    const qv_rowbatch *b = &f->batch;
    bool routed = qv_schema_partition_key(&dc->ci->schema) != NULL;
    uint32_t *idx = qv_malloc(IMPORT_BATCH_ROWS * sizeof *idx);
    qv_rowbatch sub = {0};
    qv_err rc = idx ? QV_OK : qv_error_set(err, QV_ENOMEM, "out of memory");

    for (size_t at = 0; rc == QV_OK && at < b->rows; at += IMPORT_BATCH_ROWS) {
        size_t n = b->rows - at < IMPORT_BATCH_ROWS ? b->rows - at : IMPORT_BATCH_ROWS;
        for (size_t i = 0; i < n; i++)
            idx[i] = (uint32_t)(at + i);
        if ((rc = qv_rowbatch_init(&sub, &dc->ci->schema)) == QV_OK &&
            (rc = qv_rowbatch_append_rows(&sub, b, idx, n, err)) == QV_OK)
            rc = routed ? api_write_routed(dc, false, &sub, err)
                        : qv_dist_write(dc, false, part, NULL, &sub, err);
        qv_rowbatch_fini(&sub);
        if (rc == QV_OK && !stopping(imp, err)) {
            pthread_mutex_lock(&imp->lock);
            f->imported = at + n;
            pthread_mutex_unlock(&imp->lock);
        } else if (rc == QV_OK) {
            rc = QV_EIMPORT;
        }
    }
    qv_free(idx);
    return rc;
}

static qv_err import_file_rows(api_importer *imp, const qv_collection_info *ci,
                               qv_coll_data *data, int64_t part, import_file *f, qv_error *err)
{
    qv_dist_coll dc = {imp->node, ci, data};
    qv_err rc = assign_ids(imp, ci, &f->batch, err);

    if (rc != QV_OK)
        return rc;
    return imp->node->cluster ? import_routed(imp, &dc, part, f, err)
                              : import_local(ci, data, part, f, err);
}

static void run_import(api_importer *imp, import_job *j)
{
    qv_collection_info ci = {0};
    qv_coll_data *data = NULL;
    qv_error err = {0};
    int64_t part = 0;
    qv_err rc = qv_catalog_get_collection(imp->node->catalog, j->db, j->coll, &ci, &err);

    if (rc == QV_OK && ci.id != j->coll_id)
        rc = qv_error_set(&err, QV_ENOCOLL, "collection %s was dropped", j->coll);
    if (rc == QV_OK && !qv_schema_partition_key(&ci.schema))
        rc = api_partition_id(&ci, j->partition ? j->partition : QV_DEFAULT_PARTITION, &part,
                              &err);
    if (rc == QV_OK && preimport(imp, j, &ci.schema)) {
        pthread_mutex_lock(&imp->lock);
        j->state = JOB_IMPORTING;
        pthread_mutex_unlock(&imp->lock);
        rc = qv_store_get(imp->node->store, &ci, &data, &err);
        for (size_t i = 0; rc == QV_OK && i < j->nfiles; i++) {
            import_file *f = &j->files[i];
            if (stopping(imp, &err))
                rc = QV_EIMPORT;
            else if ((rc = import_file_rows(imp, &ci, data, part, f, &err)) != QV_OK)
                qv_error_prefix(&err, "file %s: ", f->name);
            pthread_mutex_lock(&imp->lock);
            f->state = rc == QV_OK ? JOB_COMPLETED : JOB_FAILED;
            f->imported = rc == QV_OK ? f->rows : imp->node->cluster ? f->imported : 0;
            f->complete_ms = now_ms();
            if (rc != QV_OK)
                set_reason(&f->reason, err.msg);
            qv_rowbatch_fini(&f->batch);
            f->decoded = false;
            pthread_mutex_unlock(&imp->lock);
            if (rc == QV_OK)
                qv_series_add(qv_metric_default(imp->node->m.rows_inserted), (double)f->rows);
        }
        job_finish(imp, j, rc == QV_OK ? JOB_COMPLETED : JOB_FAILED, rc == QV_OK ? NULL : err.msg);
    } else if (rc != QV_OK) {
        job_finish(imp, j, JOB_FAILED, err.msg);
    }
    if (j->state == JOB_FAILED)
        qv_log_warn("import", "job %lld failed: %s", (long long)j->id, j->reason);
    else
        qv_log_info("import", "job %lld completed", (long long)j->id);
    qv_coll_data_unref(data);
    qv_collection_info_fini(&ci);
}

static void *worker_main(void *arg)
{
    api_importer *imp = arg;

    pthread_mutex_lock(&imp->lock);
    while (!imp->stopping) {
        import_job *j = imp->head;
        while (j && j->state != JOB_PENDING)
            j = j->next;
        if (!j) {
            pthread_cond_wait(&imp->wake, &imp->lock);
            continue;
        }
        j->state = JOB_PREIMPORTING;
        pthread_mutex_unlock(&imp->lock);
        run_import(imp, j);
        pthread_mutex_lock(&imp->lock);
    }
    pthread_mutex_unlock(&imp->lock);
    return NULL;
}

qv_err api_import_start(qv_node *n, qv_error *err)
{
    api_importer *imp = qv_calloc(1, sizeof *imp);

    if (!imp)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    imp->node = n;
    imp->next_id = (int64_t)now_ms() * 1000; /* distinct from the ids of earlier runs */
    pthread_mutex_init(&imp->lock, NULL);
    pthread_cond_init(&imp->wake, NULL);
    if (pthread_create(&imp->thread, NULL, worker_main, imp) != 0) {
        pthread_mutex_destroy(&imp->lock);
        pthread_cond_destroy(&imp->wake);
        qv_free(imp);
        return qv_error_set(err, QV_EINTERNAL, "cannot start the import thread");
    }
    imp->running = true;
    n->importer = imp;
    return QV_OK;
}

void api_import_stop(qv_node *n)
{
    api_importer *imp = n ? n->importer : NULL;

    if (!imp)
        return;
    pthread_mutex_lock(&imp->lock);
    imp->stopping = true; /* a job in progress fails after the file it is on */
    pthread_cond_broadcast(&imp->wake);
    pthread_mutex_unlock(&imp->lock);
    if (imp->running)
        pthread_join(imp->thread, NULL);
    for (import_job *j = imp->head, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    pthread_cond_destroy(&imp->wake);
    pthread_mutex_destroy(&imp->lock);
    qv_free(imp);
    n->importer = NULL;
}

/* ---- jobs/import/create ----------------------------------------------------------------- */

/* A file path of the request resolved under the data directory: no `..` or symlink may
 * lead out of it; only existing regular .json files. */
static bool json_name(const char *given)
{
    size_t n = strlen(given);
    return n >= 5 && strcmp(given + n - 5, ".json") == 0;
}

/* s3://<bucket>/<key>: an object of the configured bucket, read with the node's S3
 * client (s3.*); other buckets and schemes are refused. */
static qv_err resolve_s3(const qv_node *n, const char *given, char **key, qv_error *err)
{
    const char *bucket = given + 5, *slash = strchr(bucket, '/');

    if (strncmp(given, "s3://", 5) != 0)
        return qv_error_set(err, QV_EIMPORT,
                            "import from %s is not supported: give s3://<bucket>/<key> or a "
                            "path under the data directory: importing data failed",
                            given);
    if (!n->s3)
        return qv_error_set(err, QV_EIMPORT,
                            "import from %s needs S3 (s3.endpoint is not set): importing data "
                            "failed",
                            given);
    if (!slash || !slash[1] || (size_t)(slash - bucket) != strlen(n->cfg->s3_bucket) ||
        strncmp(bucket, n->cfg->s3_bucket, (size_t)(slash - bucket)) != 0)
        return qv_error_set(err, QV_EIMPORT,
                            "import from %s: only objects of the configured bucket %s can be "
                            "imported: importing data failed",
                            given, n->cfg->s3_bucket);
    if (!json_name(given))
        return qv_error_set(err, QV_EIMPORT,
                            "unsupported file type of %s: only JSON row-based files (.json) can "
                            "be imported: importing data failed",
                            given);
    return (*key = qv_strdup(slash + 1)) ? QV_OK : qv_error_set(err, QV_ENOMEM, "out of memory");
}

static qv_err resolve_path(const qv_node *node, const char *given, import_file *f,
                           qv_error *err)
{
    const char *data_dir = node->cfg->server_data_dir;
    char full[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
    size_t n = strlen(given), rn;
    struct stat st;

    if (strstr(given, "://"))
        return resolve_s3(node, given, &f->s3_key, err);
    if (!n || n >= PATH_MAX)
        return qv_error_set(err, QV_EINVAL, "invalid import file path '%s': invalid parameter",
                            given);
    if (!json_name(given))
        return qv_error_set(err, QV_EIMPORT,
                            "unsupported file type of %s: only JSON row-based files (.json) can "
                            "be imported: importing data failed",
                            given);
    if (snprintf(full, sizeof full, "%s%s%s", given[0] == '/' ? "" : data_dir,
                 given[0] == '/' ? "" : "/", given) >= (int)sizeof full ||
        !realpath(data_dir, root))
        return qv_error_set(err, QV_EINVAL, "invalid import file path '%s': invalid parameter",
                            given);
    if (!realpath(full, real) || stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return qv_error_set(err, QV_EIMPORT,
                            "import file %s is not a file under the data directory: importing "
                            "data failed",
                            given);
    rn = strlen(root);
    if (strncmp(real, root, rn) != 0 || real[rn] != '/')
        return qv_error_set(err, QV_EIMPORT,
                            "import file %s is outside the data directory: importing data failed",
                            given);
    return (f->path = qv_strdup(real)) ? QV_OK : qv_error_set(err, QV_ENOMEM, "out of memory");
}

/* files: [[path], ...], one JSON file per inner list (Milvus's row-based layout). */
static qv_err decode_files(qv_req *req, import_job *j, qv_error *err)
{
    const qv_jval *files;
    qv_err rc = qv_jget_arr(req->root, "files", true, &files, err);
    size_t n = rc == QV_OK ? qv_jarr_len(files) : 0;

    if (rc != QV_OK)
        return rc;
    if (n == 0)
        return qv_error_set(err, QV_EINVAL, "import request is empty: invalid parameter");
    if (n > MAX_IMPORT_FILES)
        return qv_error_set(err, QV_EIMPORT,
                            "The max number of import files should not exceed %d, but got %zu: "
                            "importing data failed",
                            MAX_IMPORT_FILES, n);
    if (!(j->files = qv_calloc(n, sizeof *j->files)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == QV_OK; i++) {
        const qv_jval *list = qv_jarr_at(files, i);
        const char *path;
        j->nfiles = i + 1;
        if (qv_jval_type(list) != QV_J_ARRAY || qv_jarr_len(list) != 1 ||
            !qv_jval_str(qv_jarr_at(list, 0), &path, NULL))
            rc = qv_error_set(err, QV_EIMPORT,
                              "files[%zu]: a row-based JSON import takes exactly one file path "
                              "per list: importing data failed",
                              i);
        else if (!(j->files[i].name = qv_strdup(path)))
            rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        else
            rc = resolve_path(req->node, path, &j->files[i], err);
    }
    return rc;
}

/* Queue j, forgetting the oldest finished job when there are too many. */
static void enqueue(api_importer *imp, import_job *j)
{
    pthread_mutex_lock(&imp->lock);
    if (imp->njobs >= MAX_JOBS) {
        for (import_job **pp = &imp->head; *pp; pp = &(*pp)->next) {
            import_job *old = *pp;
            if (old->state != JOB_COMPLETED && old->state != JOB_FAILED)
                continue;
            *pp = old->next;
            if (imp->tail == old)
                imp->tail = NULL;
            job_free(old);
            imp->njobs--;
            break;
        }
        if (!imp->tail)
            for (imp->tail = imp->head; imp->tail && imp->tail->next;)
                imp->tail = imp->tail->next;
    }
    j->id = imp->next_id++;
    if (imp->tail)
        imp->tail->next = j;
    else
        imp->head = j;
    imp->tail = j;
    imp->njobs++;
    pthread_cond_signal(&imp->wake);
    pthread_mutex_unlock(&imp->lock);
}

qv_err api_import_create(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci = {0};
    import_job *j = qv_calloc(1, sizeof *j);
    const char *name, *part = NULL;
    const qv_jval *options;
    int64_t part_id;
    char id[24];
    qv_err rc = j ? QV_OK : qv_error_set(&resp->err, QV_ENOMEM, "out of memory");
    qv_jw w;

    if (rc == QV_OK && ((rc = api_req_str(req, "collectionName", &name, &resp->err)) != QV_OK ||
                        (rc = qv_jget_str(req->root, "partitionName", false, &part, NULL,
                                          &resp->err)) != QV_OK ||
                        (rc = qv_jget_obj(req->root, "options", false, &options, &resp->err)) ||
                        (rc = qv_catalog_get_collection(req->node->catalog, api_db(req), name,
                                                        &ci, &resp->err)) != QV_OK))
        goto done;
    if (rc == QV_OK && part && *part && qv_schema_partition_key(&ci.schema))
        rc = qv_error_set(&resp->err, QV_EIMPORT,
                          "not allow to set partition name for collection with partition key: "
                          "importing data failed");
    else if (rc == QV_OK && part && *part)
        rc = api_partition_id(&ci, part, &part_id, &resp->err);
    if (rc == QV_OK)
        rc = decode_files(req, j, &resp->err);
    if (rc == QV_OK &&
        (!(j->db = qv_strdup(ci.db)) || !(j->coll = qv_strdup(ci.name)) ||
         (part && *part && !(j->partition = qv_strdup(part)))))
        rc = qv_error_set(&resp->err, QV_ENOMEM, "out of memory");
    if (rc != QV_OK)
        goto done;
    j->coll_id = ci.id;
    j->create_ms = now_ms();
    enqueue(req->node->importer, j);
    snprintf(id, sizeof id, "%lld", (long long)j->id);
    j = NULL;
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kstr(&w, "jobId", id);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
done:
    job_free(j);
    qv_collection_info_fini(&ci);
    return rc;
}

/* ---- list / describe -------------------------------------------------------------------- */

static int progress_of(const import_job *j)
{
    uint64_t rows = 0, done = 0, decoded = 0;

    if (j->state == JOB_COMPLETED)
        return 100;
    for (size_t i = 0; i < j->nfiles; i++) {
        rows += j->files[i].rows;
        done += j->files[i].imported;
        decoded += j->files[i].decoded || j->files[i].state == JOB_COMPLETED;
    }
    if (j->state == JOB_PREIMPORTING)
        return (int)(50 * decoded / j->nfiles);
    if (j->state == JOB_IMPORTING)
        return 50 + (int)(rows ? 49 * done / rows : 0);
    return 0;
}

/* Go's time.RFC3339 in UTC, or "" when not finished. */
static void write_time(qv_jw *w, const char *key, uint64_t ms)
{
    char text[32] = "";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms && gmtime_r(&t, &tm))
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    qv_jw_kstr(w, key, text);
}

static void write_job(qv_jw *w, const import_job *j, bool details)
{
    char id[24];
    uint64_t rows = 0, done = 0, size = 0;

    for (size_t i = 0; i < j->nfiles; i++) {
        rows += j->files[i].rows;
        done += j->files[i].imported;
        size += j->files[i].size;
    }
    snprintf(id, sizeof id, "%lld", (long long)j->id);
    qv_jw_obj_begin(w);
    qv_jw_kstr(w, "jobId", id);
    qv_jw_kstr(w, "collectionName", j->coll);
    qv_jw_kstr(w, "state", state_names[j->state]);
    qv_jw_kint(w, "progress", progress_of(j));
    if (j->reason)
        qv_jw_kstr(w, "reason", j->reason);
    if (details) {
        write_time(w, "completeTime", j->complete_ms);
        qv_jw_kint(w, "importedRows", (int64_t)done);
        qv_jw_kint(w, "totalRows", (int64_t)rows);
        qv_jw_kint(w, "fileSize", (int64_t)size);
        qv_jw_key(w, "details");
        qv_jw_arr_begin(w);
        for (size_t i = 0; i < j->nfiles; i++) {
            const import_file *f = &j->files[i];
            qv_jw_obj_begin(w);
            qv_jw_kstr(w, "fileName", f->name);
            qv_jw_kint(w, "fileSize", (int64_t)f->size);
            qv_jw_kint(w, "progress", f->state == JOB_COMPLETED ? 100 : f->decoded ? 50 : 0);
            write_time(w, "completeTime", f->complete_ms);
            qv_jw_kstr(w, "state", state_names[f->state]);
            qv_jw_kint(w, "importedRows", (int64_t)f->imported);
            qv_jw_kint(w, "totalRows", (int64_t)f->rows);
            if (f->reason)
                qv_jw_kstr(w, "reason", f->reason);
            qv_jw_obj_end(w);
        }
        qv_jw_arr_end(w);
    }
    qv_jw_obj_end(w);
}

qv_err api_import_list(qv_req *req, qv_resp *resp)
{
    api_importer *imp = req->node->importer;
    const char *coll = NULL, *db = api_db(req);
    qv_err rc = qv_jget_str(req->root, "collectionName", false, &coll, NULL, &resp->err);
    qv_jw w;

    if (rc != QV_OK)
        return rc;
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_key(&w, "records");
    qv_jw_arr_begin(&w);
    pthread_mutex_lock(&imp->lock);
    for (const import_job *j = imp->head; j; j = j->next)
        if (!strcmp(j->db, db) && (!coll || !*coll || !strcmp(j->coll, coll)))
            write_job(&w, j, false);
    pthread_mutex_unlock(&imp->lock);
    qv_jw_arr_end(&w);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return qv_buf_status(&resp->body, &resp->err);
}

qv_err api_import_describe(qv_req *req, qv_resp *resp)
{
    api_importer *imp = req->node->importer;
    const char *text;
    const import_job *j = NULL;
    char *end;
    long long id;
    qv_err rc = qv_jget_str(req->root, "jobId", true, &text, NULL, &resp->err);
    qv_jw w;

    if (rc != QV_OK)
        return rc;
    errno = 0;
    id = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return qv_error_set(&resp->err, QV_EIMPORT,
                            "parse job id failed, err=invalid jobId '%s': importing data failed",
                            text);
    pthread_mutex_lock(&imp->lock);
    for (j = imp->head; j && j->id != id; j = j->next) {
    }
    if (j) {
        api_ok_begin(resp, &w);
        write_job(&w, j, true);
        api_ok_end(&w);
    }
    pthread_mutex_unlock(&imp->lock);
    if (!j)
        return qv_error_set(&resp->err, QV_EIMPORT,
                            "import job does not exist, jobID=%lld: importing data failed", id);
    return qv_buf_status(&resp->body, &resp->err);
}
