/* SPDX-License-Identifier: Apache-2.0 */
/* io_crashsim.c - test backend simulating a power loss (SQLite's crash-test VFS,
 * src/test6.c; LevelDB's FaultInjectionTestEnv). Compiled into the core library so
 * the power-loss suite (tests/unit/test_powerloss.c) can run the store on it.
 *
 * It wraps another backend (the real files always hold what a page cache would: every
 * write so far) and keeps, for everything under its root directory, a model of what a
 * power loss would leave:
 *   files        per inode, the content now and the content at its last fsync
 *                (fdatasync, write_sync); bytes are kept in memory (test-sized data);
 *   directories  per directory inode, the entries at its last directory fsync and the
 *                entry operations since (create, mkdir, rename, unlink), in order.
 * A crash (qv_io_crashsim_crash, or automatically at the opts.crash_at_sync-th sync
 * point: an fsync, fdatasync, write_sync or directory fsync, just before it takes
 * effect) replaces the root's contents on disk with the surviving state:
 *   DROP  every unsynced byte and every unsynced directory operation is lost;
 *   KEEP  all of them survive (as if the crash came right after the sync);
 *   TEAR  per directory a prefix of its unsynced operations survives (journals commit
 *         metadata in order); per file the size is the synced or the current one, and
 *         every sector (sector_bytes, 512 by default) that differs is independently the
 *         synced or the current version, or, with opts.garbage, the synced version with
 *         random bytes wherever it differs from the current one (synced bytes are never
 *         damaged: SQLite's "powersafe overwrite", which disks with atomic sector writes
 *         give). Space past the synced size that no surviving write covers reads as
 *         zeros.
 * Then opts.on_crash runs (the harness usually _exit()s there: a crashed process does
 * nothing more); if it returns, every later operation fails with EIO.
 *
 * One mutex serialises every operation, so a crash sees a consistent model and other
 * threads block until the process exits. Paths are compared as strings: callers build
 * them as "<root>/a/b" without "." or ".." components, as the store does. Directories
 * removed behind the backend's back (rmdir(2)) are not modelled. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "storage/io/io_int.h"

typedef struct cs_inode cs_inode;

typedef struct cs_entry {
    char *name;
    cs_inode *ino;
} cs_entry;

typedef enum { OP_ADD, OP_DEL, OP_RENAME } cs_op_kind;

typedef struct cs_op {
    cs_op_kind kind;
    char *name, *to; /* OP_RENAME: name -> to */
    cs_inode *ino;   /* OP_ADD and OP_RENAME */
} cs_op;

struct cs_inode {
    bool is_dir;
    uint8_t *cur, *dur; /* files: content now and at the last fsync */
    size_t cur_len, cur_cap, dur_len;
    cs_entry *ents;     /* directories: entries at the last directory fsync */
    size_t nents, ents_cap;
    cs_op *ops;         /* ... and the operations since, oldest first */
    size_t nops, ops_cap;
    uint8_t *res;       /* crash: the surviving content (resolved once) */
    size_t res_len;
    bool resolved;
    cs_inode *next;     /* every inode, for freeing */
};

typedef struct cs_path {
    char *path;
    cs_inode *ino;
} cs_path;

typedef struct crash_io {
    qv_io base;
    qv_io *inner; /* borrowed */
    qv_io_crash_opts o;
    char *root;
    size_t root_len;
    pthread_mutex_t mu; /* guards everything below */
    cs_inode *root_ino, *all;
    cs_path *paths;     /* the current namespace under root (root itself excluded) */
    size_t npaths, paths_cap;
    uint64_t syncs, rng;
    bool crashed;
} crash_io;

typedef struct crash_file {
    qv_file base;
    qv_file *inner;
    cs_inode *ino; /* NULL: outside root, not modelled */
    bool append;
} crash_file;

static crash_io *cio(qv_io *io) { return (crash_io *)io; }
static crash_file *cfile(qv_file *f) { return (crash_file *)f; }

static uint64_t rnd(crash_io *cx)
{
    uint64_t z = (cx->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- the model ------------------------------------------------------------------------ */

static bool grow(void **p, size_t *cap, size_t want, size_t elem)
{
    size_t n = *cap ? *cap : 8;
    void *q;

    if (want <= *cap)
        return true;
    while (n < want)
        n *= 2;
    if ((q = qv_reallocarray(*p, n, elem)) == NULL)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static cs_inode *inode_new(crash_io *cx, bool is_dir)
{
    cs_inode *in = qv_calloc(1, sizeof *in);

    if (in) {
        in->is_dir = is_dir;
        in->next = cx->all;
        cx->all = in;
    }
    return in;
}

static void inode_free(cs_inode *in)
{
    for (size_t i = 0; i < in->nents; i++)
        qv_free(in->ents[i].name);
    for (size_t i = 0; i < in->nops; i++) {
        qv_free(in->ops[i].name);
        qv_free(in->ops[i].to);
    }
    qv_free(in->ents);
    qv_free(in->ops);
    qv_free(in->cur);
    qv_free(in->dur);
    qv_free(in->res);
    qv_free(in);
}

/* Under root (strictly below it)? */
static bool tracked(const crash_io *cx, const char *path)
{
    return strncmp(path, cx->root, cx->root_len) == 0 && path[cx->root_len] == '/' &&
           path[cx->root_len + 1] != '\0';
}

static cs_path *path_find(crash_io *cx, const char *path)
{
    for (size_t i = 0; i < cx->npaths; i++)
        if (strcmp(cx->paths[i].path, path) == 0)
            return &cx->paths[i];
    return NULL;
}

static cs_inode *lookup(crash_io *cx, const char *path)
{
    cs_path *p;

    if (strcmp(path, cx->root) == 0)
        return cx->root_ino;
    p = path_find(cx, path);
    return p ? p->ino : NULL;
}

static bool path_set(crash_io *cx, const char *path, cs_inode *in)
{
    cs_path *p = path_find(cx, path);

    if (p) {
        p->ino = in;
        return true;
    }
    if (!grow((void **)&cx->paths, &cx->paths_cap, cx->npaths + 1, sizeof *cx->paths))
        return false;
    if ((cx->paths[cx->npaths].path = qv_strdup(path)) == NULL)
        return false;
    cx->paths[cx->npaths++].ino = in;
    return true;
}

static void path_remove(crash_io *cx, const char *path)
{
    cs_path *p = path_find(cx, path);

    if (p) {
        qv_free(p->path);
        *p = cx->paths[--cx->npaths];
    }
}

/* The directory inode holding path, and the entry name (a pointer into path). */
static cs_inode *parent_of(crash_io *cx, const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    size_t n;

    if (!slash || (n = (size_t)(slash - path)) >= sizeof dir)
        return NULL;
    memcpy(dir, path, n);
    dir[n] = '\0';
    *name = slash + 1;
    return lookup(cx, dir);
}

/* Record an unsynced entry operation in path's directory. */
static bool dir_op(crash_io *cx, cs_op_kind kind, const char *path, const char *to,
                   cs_inode *in)
{
    const char *name, *to_name = NULL;
    cs_inode *dir = parent_of(cx, path, &name);
    cs_op *op;

    if (!dir)
        return false;
    if (to)
        to_name = strrchr(to, '/') + 1;
    if (!grow((void **)&dir->ops, &dir->ops_cap, dir->nops + 1, sizeof *dir->ops))
        return false;
    op = &dir->ops[dir->nops];
    *op = (cs_op){.kind = kind, .ino = in, .name = qv_strdup(name)};
    if (!op->name || (to_name && (op->to = qv_strdup(to_name)) == NULL)) {
        qv_free(op->name);
        return false;
    }
    dir->nops++;
    return true;
}

static bool ents_apply(cs_entry **ents, size_t *n, size_t *cap, const cs_op *op)
{
    const char *add = op->kind == OP_ADD ? op->name : op->kind == OP_RENAME ? op->to : NULL;
    const char *del = op->kind == OP_ADD ? NULL : op->name;

    for (size_t i = 0; del && i < *n; i++) {
        if (strcmp((*ents)[i].name, del) == 0) {
            qv_free((*ents)[i].name);
            (*ents)[i] = (*ents)[--*n];
            break;
        }
    }
    if (!add)
        return true;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*ents)[i].name, add) == 0) {
            (*ents)[i].ino = op->ino;
            return true;
        }
    }
    if (!grow((void **)ents, cap, *n + 1, sizeof **ents))
        return false;
    if (((*ents)[*n].name = qv_strdup(add)) == NULL)
        return false;
    (*ents)[(*n)++].ino = op->ino;
    return true;
}

/* A directory fsync: its operations so far become durable. */
static bool dir_sync(cs_inode *dir)
{
    bool ok = true;

    for (size_t i = 0; i < dir->nops; i++) {
        ok = ok && ents_apply(&dir->ents, &dir->nents, &dir->ents_cap, &dir->ops[i]);
        qv_free(dir->ops[i].name);
        qv_free(dir->ops[i].to);
    }
    dir->nops = 0;
    return ok;
}

static bool file_sync(cs_inode *in)
{
    uint8_t *d = in->dur;

    if (in->cur_len && (d = qv_realloc(in->dur, in->cur_len)) == NULL)
        return false;
    if (in->cur_len)
        memcpy(d, in->cur, in->cur_len);
    in->dur = d;
    in->dur_len = in->cur_len;
    return true;
}

static bool file_write(cs_inode *in, const void *p, size_t n, uint64_t off)
{
    size_t end = (size_t)off + n;

    if (end > in->cur_len) {
        if (!grow((void **)&in->cur, &in->cur_cap, end, 1))
            return false;
        if (off > in->cur_len)
            memset(in->cur + in->cur_len, 0, (size_t)off - in->cur_len);
        in->cur_len = end;
    }
    if (n)
        memcpy(in->cur + off, p, n);
    return true;
}

static bool file_truncate(cs_inode *in, uint64_t size)
{
    if (size > in->cur_len) {
        if (!grow((void **)&in->cur, &in->cur_cap, (size_t)size, 1))
            return false;
        memset(in->cur + in->cur_len, 0, (size_t)size - in->cur_len);
    }
    in->cur_len = (size_t)size;
    return true;
}

/* Register what is on disk under dir as durable (at creation and for files that appear
 * behind the backend's back). */
static qv_err scan_dir(crash_io *cx, cs_inode *dir, const char *path, int depth,
                       qv_error *err);

static qv_err scan_entry(crash_io *cx, cs_inode *dir, const char *path, const char *name,
                         int depth, qv_error *err)
{
    cs_op add = {.kind = OP_ADD, .name = (char *)name};
    struct stat st;
    cs_inode *in;
    qv_err rc = QV_OK;

    if (lstat(path, &st) != 0)
        return io_sys_error(err, errno, "crashsim: stat %s", path);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return QV_OK;
    if ((in = inode_new(cx, S_ISDIR(st.st_mode))) == NULL || !path_set(cx, path, in))
        return qv_error_set(err, QV_ENOMEM, "crashsim: out of memory");
    add.ino = in;
    if (!ents_apply(&dir->ents, &dir->nents, &dir->ents_cap, &add))
        return qv_error_set(err, QV_ENOMEM, "crashsim: out of memory");
    if (in->is_dir)
        return scan_dir(cx, in, path, depth + 1, err);
    if (st.st_size > 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t got = -1;
        if (fd >= 0 && file_truncate(in, (uint64_t)st.st_size))
            got = pread(fd, in->cur, in->cur_len, 0);
        if (fd >= 0)
            close(fd);
        if (got != (ssize_t)in->cur_len)
            rc = io_sys_error(err, errno ? errno : EIO, "crashsim: read %s", path);
    }
    if (rc == QV_OK && !file_sync(in))
        rc = qv_error_set(err, QV_ENOMEM, "crashsim: out of memory");
    return rc;
}

static qv_err scan_dir(crash_io *cx, cs_inode *dir, const char *path, int depth, qv_error *err)
{
    char child[4096];
    struct dirent *de;
    DIR *d;
    qv_err rc = QV_OK;

    if (depth > 16)
        return qv_error_set(err, QV_EINVAL, "crashsim: %s nests too deep", path);
    if ((d = opendir(path)) == NULL)
        return io_sys_error(err, errno, "crashsim: opendir %s", path);
    while (rc == QV_OK && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (snprintf(child, sizeof child, "%s/%s", path, de->d_name) >= (int)sizeof child)
            rc = qv_error_set(err, QV_EINVAL, "crashsim: path too long under %s", path);
        else
            rc = scan_entry(cx, dir, child, de->d_name, depth, err);
    }
    closedir(d);
    return rc;
}

/* ---- the crash ------------------------------------------------------------------------ */

/* The content a power loss leaves in a file (resolved once per inode). */
static void resolve_file(crash_io *cx, cs_inode *in)
{
    qv_io_crash_mode m = cx->o.mode;
    size_t sector = cx->o.sector_bytes ? cx->o.sector_bytes : 512;
    uint64_t r = 0;
    size_t len;

    if (in->resolved)
        return;
    in->resolved = true;
    len = m == QV_IO_CRASH_DROP ? in->dur_len
          : m == QV_IO_CRASH_KEEP || in->cur_len == in->dur_len ? in->cur_len
          : (rnd(cx) & 1) ? in->cur_len
                          : in->dur_len;
    if (!len || (in->res = qv_calloc(1, len)) == NULL)
        return;
    in->res_len = len;
    for (size_t at = 0; at < len; at += sector) {
        size_t n = len - at < sector ? len - at : sector;
        size_t nc = at < in->cur_len ? (in->cur_len - at < n ? in->cur_len - at : n) : 0;
        size_t nd = at < in->dur_len ? (in->dur_len - at < n ? in->dur_len - at : n) : 0;
        bool same = nc == nd && (!nc || memcmp(in->cur + at, in->dur + at, nc) == 0);
        /* 0: the synced version, 1: the current one, 2: garbage (1 sector in 16) */
        int pick = m == QV_IO_CRASH_DROP                ? 0
                   : m == QV_IO_CRASH_KEEP || same       ? 1
                   : (r = rnd(cx) % 16) == 0 && cx->o.garbage ? 2
                                                         : (int)(r & 1);
        if (pick == 2) { /* the unsynced bytes of a sector the disk scribbled on */
            for (size_t i = 0; i < n; i++)
                in->res[at + i] = i < nd && i < nc && in->cur[at + i] == in->dur[at + i]
                                      ? in->dur[at + i]
                                      : (uint8_t)rnd(cx);
        } else if (pick == 1 && nc) {
            memcpy(in->res + at, in->cur + at, nc);
        } else if (pick == 0 && nd) {
            memcpy(in->res + at, in->dur + at, nd);
        }
    }
}

static int write_all(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t done = 0;

    if (fd < 0)
        return -1;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    return close(fd);
}

/* Recreate directory `dir` at path from the entries a crash leaves it. */
static int rebuild_dir(crash_io *cx, cs_inode *dir, const char *path, int depth)
{
    size_t keep = cx->o.mode == QV_IO_CRASH_DROP   ? 0
                  : cx->o.mode == QV_IO_CRASH_KEEP ? dir->nops
                                                   : (size_t)(rnd(cx) % (dir->nops + 1));
    cs_entry *ents = NULL;
    size_t n = 0, cap = 0;
    char child[4096];
    int rc = 0;

    if (depth > 16)
        return -1;
    for (size_t i = 0; i < dir->nents; i++) {
        cs_op add = {.kind = OP_ADD, .name = dir->ents[i].name, .ino = dir->ents[i].ino};
        if (!ents_apply(&ents, &n, &cap, &add))
            rc = -1;
    }
    for (size_t i = 0; i < keep && rc == 0; i++)
        if (!ents_apply(&ents, &n, &cap, &dir->ops[i]))
            rc = -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cs_inode *in = ents[i].ino;
        snprintf(child, sizeof child, "%s/%s", path, ents[i].name);
        if (in->is_dir) {
            rc = mkdir(child, 0755) == 0 || errno == EEXIST ? rebuild_dir(cx, in, child, depth + 1)
                                                          : -1;
        } else {
            resolve_file(cx, in);
            rc = write_all(child, in->res, in->res_len);
        }
    }
    for (size_t i = 0; i < n; i++)
        qv_free(ents[i].name);
    qv_free(ents);
    return rc;
}

static int remove_tree(const char *path, int depth)
{
    char child[4096];
    struct dirent *de;
    DIR *d = opendir(path);
    int rc = 0;

    if (!d || depth > 16)
        return d ? (closedir(d), -1) : -1;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            rc |= remove_tree(child, depth + 1) | rmdir(child);
        else
            rc |= unlink(child);
    }
    closedir(d);
    return rc;
}

/* Lay the surviving state on disk, then run on_crash (mu held: nobody writes after). */
static void crash_locked(crash_io *cx)
{
    if (cx->crashed)
        return;
    cx->crashed = true;
    if (remove_tree(cx->root, 0) != 0 || rebuild_dir(cx, cx->root_ino, cx->root, 0) != 0)
        fprintf(stderr, "crashsim: laying out the crash state under %s failed: %s\n", cx->root,
                strerror(errno));
    if (cx->o.on_crash)
        cx->o.on_crash(cx->o.ctx, cx->syncs);
}

/* A sync point: count it and crash there if it is the chosen one. */
static bool sync_point(crash_io *cx)
{
    if (!cx->crashed && ++cx->syncs == cx->o.crash_at_sync)
        crash_locked(cx);
    return cx->crashed;
}

static qv_err crashed_error(qv_error *err, const char *op, const char *path)
{
    return io_sys_error(err, EIO, "%s %s: the simulated power loss happened", op, path);
}

static qv_err oom(qv_error *err, const char *path)
{
    return qv_error_set(err, QV_ENOMEM, "crashsim %s: out of memory", path);
}

/* ---- operations ----------------------------------------------------------------------- */

static qv_err cs_open(qv_io *io, const char *path, unsigned flags, qv_file **out, qv_error *err)
{
    crash_io *cx = cio(io);
    crash_file *cf = NULL;
    qv_file *in = NULL;
    qv_err rc;

    pthread_mutex_lock(&cx->mu);
    if (cx->crashed) {
        rc = crashed_error(err, "open", path);
        goto done;
    }
    if ((rc = qv_io_open(cx->inner, path, flags, &in, err)) != QV_OK)
        goto done;
    if ((cf = qv_calloc(1, sizeof *cf)) == NULL || (cf->base.path = qv_strdup(path)) == NULL) {
        rc = oom(err, path);
        goto done;
    }
    cf->base.io = io;
    cf->base.fd = -1;
    cf->inner = in;
    cf->append = (flags & QV_IO_APPEND) != 0;
    if (tracked(cx, path)) {
        const char *name;
        cs_inode *dir = parent_of(cx, path, &name);
        cf->ino = lookup(cx, path);
        if (!cf->ino && dir) { /* created now, or there before without our knowing */
            bool fresh = (flags & QV_IO_CREATE) != 0;
            if (fresh && ((cf->ino = inode_new(cx, false)) == NULL ||
                          !path_set(cx, path, cf->ino) || !dir_op(cx, OP_ADD, path, NULL, cf->ino)))
                rc = oom(err, path);
            else if (!fresh && (rc = scan_entry(cx, dir, path, name, 0, err)) == QV_OK)
                cf->ino = lookup(cx, path);
        }
        if (rc == QV_OK && cf->ino && (flags & QV_IO_TRUNC) && !file_truncate(cf->ino, 0))
            rc = oom(err, path);
    }
    if (rc == QV_OK) {
        *out = &cf->base;
        cf = NULL;
        in = NULL;
    }
done:
    if (cf)
        qv_free(cf->base.path);
    qv_free(cf);
    qv_io_close(in);
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static void cs_close(qv_file *f)
{
    qv_io_close(cfile(f)->inner);
    qv_free(f->path);
    qv_free(f);
}

static qv_err write_locked(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    crash_file *cf = cfile(f);
    qv_err rc;

    if (cio(f->io)->crashed)
        return crashed_error(err, "write", f->path);
    if (cf->append && cf->ino)
        off = cf->ino->cur_len;
    if ((rc = qv_io_pwrite(cf->inner, p, n, off, err)) != QV_OK)
        return rc;
    return !cf->ino || file_write(cf->ino, p, n, off) ? QV_OK : oom(err, f->path);
}

static qv_err cs_pwrite(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    crash_io *cx = cio(f->io);
    qv_err rc;

    pthread_mutex_lock(&cx->mu);
    rc = write_locked(f, p, n, off, err);
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static qv_err cs_pread(qv_file *f, void *p, size_t n, uint64_t off, size_t *got, qv_error *err)
{
    return qv_io_pread(cfile(f)->inner, p, n, off, got, err);
}

static qv_err sync_locked(qv_file *f, bool datasync, qv_error *err)
{
    crash_io *cx = cio(f->io);
    crash_file *cf = cfile(f);
    qv_err rc = QV_OK;

    if (sync_point(cx))
        return crashed_error(err, datasync ? "fdatasync" : "fsync", f->path);
    if (!cx->o.skip_inner_sync)
        rc = datasync ? qv_io_fdatasync(cf->inner, err) : qv_io_fsync(cf->inner, err);
    if (rc == QV_OK && cf->ino && !file_sync(cf->ino))
        rc = oom(err, f->path);
    return rc;
}

static qv_err cs_write_sync(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    crash_io *cx = cio(f->io);
    qv_err rc;

    pthread_mutex_lock(&cx->mu);
    if ((rc = write_locked(f, p, n, off, err)) == QV_OK)
        rc = sync_locked(f, true, err);
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static qv_err cs_sync(qv_file *f, bool datasync, qv_error *err)
{
    crash_io *cx = cio(f->io);
    qv_err rc;

    pthread_mutex_lock(&cx->mu);
    rc = sync_locked(f, datasync, err);
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static qv_err cs_truncate(qv_file *f, uint64_t size, qv_error *err)
{
    crash_io *cx = cio(f->io);
    crash_file *cf = cfile(f);
    qv_err rc;

    pthread_mutex_lock(&cx->mu);
    if (cx->crashed)
        rc = crashed_error(err, "truncate", f->path);
    else if ((rc = qv_io_truncate(cf->inner, size, err)) == QV_OK && cf->ino &&
             !file_truncate(cf->ino, size))
        rc = oom(err, f->path);
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static qv_err cs_size(qv_file *f, uint64_t *out, qv_error *err)
{
    return qv_io_file_size(cfile(f)->inner, out, err);
}

static qv_err cs_rename(qv_io *io, const char *from, const char *to, qv_error *err)
{
    crash_io *cx = cio(io);
    cs_inode *in;
    qv_err rc;

    pthread_mutex_lock(&cx->mu);
    if (cx->crashed) {
        rc = crashed_error(err, "rename", from);
    } else if ((rc = qv_io_rename(cx->inner, from, to, err)) == QV_OK && tracked(cx, from) &&
               (in = lookup(cx, from)) != NULL) {
        const char *a = strrchr(from, '/'), *b = strrchr(to, '/');
        bool same_dir = a - from == b - to && strncmp(from, to, (size_t)(a - from)) == 0;
        bool ok = same_dir ? dir_op(cx, OP_RENAME, from, to, in)
                           : dir_op(cx, OP_DEL, from, NULL, NULL) &&
                                 dir_op(cx, OP_ADD, to, NULL, in);
        path_remove(cx, from);
        if (!ok || !path_set(cx, to, in))
            rc = oom(err, from);
    }
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static qv_err cs_unlink(qv_io *io, const char *path, qv_error *err)
{
    crash_io *cx = cio(io);
    qv_err rc;

    pthread_mutex_lock(&cx->mu);
    if (cx->crashed) {
        rc = crashed_error(err, "unlink", path);
    } else if ((rc = qv_io_unlink(cx->inner, path, err)) == QV_OK && lookup(cx, path) &&
               tracked(cx, path)) {
        path_remove(cx, path);
        if (!dir_op(cx, OP_DEL, path, NULL, NULL))
            rc = oom(err, path);
    }
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static qv_err cs_mkdir(qv_io *io, const char *path, qv_error *err)
{
    crash_io *cx = cio(io);
    bool existed = false;
    cs_inode *in;
    qv_err rc;

    pthread_mutex_lock(&cx->mu);
    if (cx->crashed)
        rc = crashed_error(err, "mkdir", path);
    else if ((rc = qv_io_exists(cx->inner, path, &existed, err)) == QV_OK)
        rc = qv_io_mkdir(cx->inner, path, err);
    if (rc == QV_OK && !existed && tracked(cx, path) && !lookup(cx, path) &&
        ((in = inode_new(cx, true)) == NULL || !path_set(cx, path, in) ||
         !dir_op(cx, OP_ADD, path, NULL, in)))
        rc = oom(err, path);
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static qv_err cs_sync_dir(qv_io *io, const char *path, qv_error *err)
{
    crash_io *cx = cio(io);
    cs_inode *dir;
    qv_err rc = QV_OK;

    pthread_mutex_lock(&cx->mu);
    if (sync_point(cx))
        rc = crashed_error(err, "fsync directory", path);
    else if (!cx->o.skip_inner_sync)
        rc = qv_io_sync_dir(cx->inner, path, err);
    if (rc == QV_OK && (dir = lookup(cx, path)) != NULL && dir->is_dir && !dir_sync(dir))
        rc = oom(err, path);
    pthread_mutex_unlock(&cx->mu);
    return rc;
}

static qv_err cs_exists(qv_io *io, const char *path, bool *out, qv_error *err)
{
    return qv_io_exists(cio(io)->inner, path, out, err);
}

static qv_err cs_list_dir(qv_io *io, const char *dir, char ***names, size_t *count,
                          qv_error *err)
{
    return qv_io_list_dir(cio(io)->inner, dir, names, count, err);
}

static void cs_destroy(qv_io *io)
{
    crash_io *cx = cio(io);

    for (cs_inode *in = cx->all, *next; in; in = next) {
        next = in->next;
        inode_free(in);
    }
    for (size_t i = 0; i < cx->npaths; i++)
        qv_free(cx->paths[i].path);
    qv_free(cx->paths);
    qv_free(cx->root);
    pthread_mutex_destroy(&cx->mu);
    qv_free(cx);
}

static const qv_io_ops crashsim_ops = {
    .name = "crashsim",
    .open = cs_open,
    .close = cs_close,
    .pwrite = cs_pwrite,
    .pread = cs_pread,
    .write_sync = cs_write_sync,
    .sync = cs_sync,
    .truncate = cs_truncate,
    .size = cs_size,
    .rename = cs_rename,
    .unlink = cs_unlink,
    .mkdir = cs_mkdir,
    .sync_dir = cs_sync_dir,
    .exists = cs_exists,
    .list_dir = cs_list_dir,
    .destroy = cs_destroy,
};

qv_err qv_io_crashsim_new(qv_io *inner, const qv_io_crash_opts *o, qv_io **out, qv_error *err)
{
    crash_io *cx;
    size_t n;
    qv_err rc;

    if (!inner || !o || !o->root)
        return qv_error_set(err, QV_EINVAL, "crashsim: an inner backend and a root are needed");
    n = strlen(o->root);
    while (n > 1 && o->root[n - 1] == '/')
        n--;
    if ((cx = qv_calloc(1, sizeof *cx)) == NULL || (cx->root = qv_malloc(n + 1)) == NULL) {
        qv_free(cx);
        return qv_error_set(err, QV_ENOMEM, "crashsim: out of memory");
    }
    memcpy(cx->root, o->root, n);
    cx->root[n] = '\0';
    cx->root_len = n;
    cx->base.ops = &crashsim_ops;
    cx->inner = inner;
    cx->o = *o;
    cx->o.root = cx->root;
    cx->rng = o->seed;
    pthread_mutex_init(&cx->mu, NULL);
    if ((cx->root_ino = inode_new(cx, true)) == NULL)
        rc = qv_error_set(err, QV_ENOMEM, "crashsim: out of memory");
    else
        rc = scan_dir(cx, cx->root_ino, cx->root, 0, err);
    if (rc != QV_OK) {
        cs_destroy(&cx->base);
        return rc;
    }
    *out = &cx->base;
    return QV_OK;
}

void qv_io_crashsim_crash(qv_io *io)
{
    crash_io *cx;

    if (!io || io->ops != &crashsim_ops)
        return;
    cx = cio(io);
    pthread_mutex_lock(&cx->mu);
    crash_locked(cx);
    pthread_mutex_unlock(&cx->mu);
}

uint64_t qv_io_crashsim_syncs(qv_io *io)
{
    uint64_t n = 0;

    if (io && io->ops == &crashsim_ops) {
        pthread_mutex_lock(&cio(io)->mu);
        n = cio(io)->syncs;
        pthread_mutex_unlock(&cio(io)->mu);
    }
    return n;
}
