/*
 * theater_world.h - the outside world's imports for C actors built on
 * theater_guest.h (include that first): `theater:simple/store`,
 * `filesystem`, `environment` and `http-client`, component era: the functions
 * the example actors call, with their exact flat core signatures and wrappers
 * that decode their results.
 *
 * A separate header, so that the other actors' builds are unchanged.  As in
 * theater_guest.h, only the imports an actor calls end up in its component.
 */
#ifndef THEATER_WORLD_H
#define THEATER_WORLD_H

#include "theater_guest.h"

/* store: a content-ref (record { hash: string }) flattens to its string. */
TG_IMPORT("store", "new")             /* () -> result<string, string> */
void tg_import_store_new(void *ret);
TG_IMPORT("store", "get")             /* (id, ref) -> result<list<u8>, string> */
void tg_import_store_get(const uint8_t *id, uint32_t id_len, const uint8_t *ref, uint32_t ref_len, void *ret);
TG_IMPORT("store", "get-by-label")    /* (id, label) -> result<option<content-ref>, string> */
void tg_import_store_get_by_label(const uint8_t *id, uint32_t id_len, const uint8_t *label, uint32_t label_len,
                                  void *ret);
TG_IMPORT("store", "store-at-label")  /* (id, label, content) -> result<content-ref, string> */
void tg_import_store_at_label(const uint8_t *id, uint32_t id_len, const uint8_t *label, uint32_t label_len,
                              const uint8_t *content, uint32_t content_len, void *ret);

/* filesystem */
TG_IMPORT("filesystem", "read-file")  /* (path) -> result<list<u8>, string> */
void tg_import_read_file(const uint8_t *path, uint32_t path_len, void *ret);
TG_IMPORT("filesystem", "write-file") /* (path, content: string) -> result<_, string> */
void tg_import_write_file(const uint8_t *path, uint32_t path_len, const uint8_t *content, uint32_t content_len,
                          void *ret);

/* environment */
TG_IMPORT("environment", "get-var")   /* (name) -> option<string>; ret: is_some at 0, string at 4 */
void tg_import_get_var(const uint8_t *name, uint32_t name_len, void *ret);

/* http-client: send-http(http-request) -> result<http-response, string> */
TG_IMPORT("http-client", "send-http")
void tg_import_send_http(const uint8_t *method, uint32_t method_len, const uint8_t *uri, uint32_t uri_len,
                         const tg_bytes *headers, uint32_t header_count, int32_t has_body, const uint8_t *body,
                         uint32_t body_len, void *ret);

typedef struct {          /* result<option<content-ref>, string> */
    uint8_t is_err;       /* offset 0 */
    union {               /* offset 4 */
        struct {
            uint8_t some;       /* offset 4 */
            tg__flat_list hash; /* offset 8 */
        } ref;
        tg__flat_list err;
    } val;
} tg__ret_opt_ref;        /* size 16, align 4 */

typedef struct {          /* result<http-response, string> */
    uint8_t is_err;       /* offset 0 */
    union {               /* offset 4 */
        struct {
            uint16_t status;         /* offset 4 */
            tg__flat_list headers;   /* offset 8: list<tuple<string, string>> */
            uint8_t has_body;        /* offset 16 */
            tg__flat_list body;      /* offset 20 */
        } response;
        tg__flat_list err;
    } val;
} tg__ret_http;           /* size 28, align 4 */

_Static_assert(__builtin_offsetof(tg__ret_opt_ref, val.ref.hash) == 8 && sizeof(tg__ret_opt_ref) == 16, "abi");
_Static_assert(__builtin_offsetof(tg__ret_http, val.response.body) == 20 && sizeof(tg__ret_http) == 28, "abi");

/* A header: a tuple<string, string> is laid out as two tg_bytes. */
typedef struct {
    tg_bytes name, value;
} tg_header;

/* The decoded answer of send-http (`ok` false: `err` says why). */
typedef struct {
    bool ok;
    tg_bytes err;
    uint16_t status;
    const tg_header *headers;
    uint32_t header_count;
    tg_bytes body; /* empty when none */
} tg_http;

TG_FN tg_call tg_store_new(void) {
    tg__ret_list r;
    tg_import_store_new(&r);
    return tg__from_list(&r);
}

/* store.get-by-label: `value` is the content ref's hash; ok with an empty hash
 * when the label points nowhere. */
TG_FN tg_call tg_store_get_by_label(tg_bytes store_id, tg_bytes label) {
    tg__ret_opt_ref r;
    tg_call c = {0};
    tg_import_store_get_by_label(store_id.ptr, store_id.len, label.ptr, label.len, &r);
    c.ok = !r.is_err;
    if (!c.ok) c.err = (tg_bytes){r.val.err.ptr, r.val.err.len};
    else if (r.val.ref.some) c.value = (tg_bytes){r.val.ref.hash.ptr, r.val.ref.hash.len};
    return c;
}

TG_FN tg_call tg_store_get(tg_bytes store_id, tg_bytes ref) {
    tg__ret_list r;
    tg_import_store_get(store_id.ptr, store_id.len, ref.ptr, ref.len, &r);
    return tg__from_list(&r);
}

/* store.store-at-label: `value` is the new content's ref. */
TG_FN tg_call tg_store_at_label(tg_bytes store_id, tg_bytes label, tg_bytes content) {
    tg__ret_list r;
    tg_import_store_at_label(store_id.ptr, store_id.len, label.ptr, label.len, content.ptr, content.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_read_file(tg_bytes path) {
    tg__ret_list r;
    path = tg_utf8_lossy(path);
    tg_import_read_file(path.ptr, path.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_write_file(tg_bytes path, tg_bytes content) {
    tg__ret_list r;
    path = tg_utf8_lossy(path);
    content = tg_utf8_lossy(content);
    tg_import_write_file(path.ptr, path.len, content.ptr, content.len, &r);
    return tg__from_list(&r);
}

/* environment.get-var: `some` false when unset or not accessible. */
TG_FN tg_opt tg_get_var(tg_bytes name) {
    tg__ret_list r; /* is_some at 0, the string at 4: the layout of a result's */
    name = tg_utf8_lossy(name);
    tg_import_get_var(name.ptr, name.len, &r);
    return r.is_err ? tg_some((tg_bytes){r.val.ptr, r.val.len}) : TG_NONE;
}

/* http-client.send-http with `header_count` headers (name, value pairs) and an
 * optional body. */
TG_FN tg_http tg_send_http(tg_bytes method, tg_bytes uri, const tg_header *headers, uint32_t header_count,
                           tg_opt body) {
    tg__ret_http r;
    tg_http h = {0};
    method = tg_utf8_lossy(method);
    uri = tg_utf8_lossy(uri);
    tg_import_send_http(method.ptr, method.len, uri.ptr, uri.len, (const tg_bytes *)headers, header_count,
                        body.some, body.val.ptr, body.val.len, &r);
    h.ok = !r.is_err;
    if (!h.ok) {
        h.err = (tg_bytes){r.val.err.ptr, r.val.err.len};
        return h;
    }
    h.status = r.val.response.status;
    h.headers = (const tg_header *)r.val.response.headers.ptr;
    h.header_count = r.val.response.headers.len;
    if (r.val.response.has_body) h.body = (tg_bytes){r.val.response.body.ptr, r.val.response.body.len};
    return h;
}

#endif /* THEATER_WORLD_H */
