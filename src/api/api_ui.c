/* SPDX-License-Identifier: Apache-2.0 */
/* api_ui.c - the web console (GET /ui): static files from ui/, embedded at build time
 * by src/meson.build. They are public (no credentials); the page itself calls only the
 * Milvus REST API and the native probes, sending the credentials the user typed.
 * Caching: an ETag per file (its content hash) with `Cache-Control: no-cache`, so a
 * browser revalidates on each load and gets 304 until the binary changes. */
#include <string.h>

#include "api/api_int.h"

#define UI_ASSET(sym)                                                                              \
    extern const unsigned char sym[];                                                              \
    extern const unsigned long sym##_len;                                                          \
    extern const char sym##_etag[];
UI_ASSET(qv_asset_ui_index_html)
UI_ASSET(qv_asset_ui_app_js)
UI_ASSET(qv_asset_ui_style_css)
#undef UI_ASSET

/* Everything the page loads comes from this origin; nothing inline, nothing framed. */
#define UI_CSP                                                                                     \
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "             \
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

static const struct {
    const char *path;
    const unsigned char *data;
    const unsigned long *len;
    const char *etag;
    const char *content_type;
} ui_files[] = {
#define F(path, sym, type) {path, sym, &sym##_len, sym##_etag, type}
    F("/ui", qv_asset_ui_index_html, "text/html; charset=utf-8"),
    F("/ui/", qv_asset_ui_index_html, "text/html; charset=utf-8"),
    F("/ui/app.js", qv_asset_ui_app_js, "text/javascript; charset=utf-8"),
    F("/ui/style.css", qv_asset_ui_style_css, "text/css; charset=utf-8"),
#undef F
};

/* If-None-Match holds tag (or *): a comma-separated list, weak tags compare equal. */
static bool etag_matches(const char *header, const char *tag)
{
    size_t n = strlen(tag);

    if (!header)
        return false;
    for (const char *p = header; *p;) {
        p += strspn(p, " \t,");
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '*' || (strncmp(p, tag, n) == 0 && (p[n] == '\0' || strchr(" \t,", p[n]))))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

qv_err api_ui(qv_req *req, qv_resp *resp)
{
    for (size_t i = 0; i < sizeof ui_files / sizeof ui_files[0]; i++) {
        if (strcmp(req->path, ui_files[i].path) != 0)
            continue;
        resp->content_type = ui_files[i].content_type;
        resp->headers[0] = (qv_resp_header){"ETag", ui_files[i].etag};
        resp->headers[1] = (qv_resp_header){"Cache-Control", "no-cache"};
        resp->headers[2] = (qv_resp_header){"X-Content-Type-Options", "nosniff"};
        resp->headers[3] = (qv_resp_header){"Content-Security-Policy", UI_CSP};
        resp->headers[4] = (qv_resp_header){"Referrer-Policy", "no-referrer"};
        if (etag_matches(req->header(req->header_ctx, "If-None-Match"), ui_files[i].etag)) {
            resp->status = 304;
            return QV_OK;
        }
        qv_buf_put(&resp->body, ui_files[i].data, *ui_files[i].len);
        return qv_buf_status(&resp->body, &resp->err);
    }
    return qv_error_set(&resp->err, QV_ENOROUTE, "path %s not found", req->path);
}
