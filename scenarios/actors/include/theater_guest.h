/*
 * theater_guest.h - a tiny freestanding C guest library for Theater actors.
 *
 * It implements the component-model canonical ABI for the `theater:simple`
 * interfaces by hand, for C compiled to wasm32-freestanding with no libc:
 *
 *   - a bump allocator behind `cabi_realloc`, reset after every export call;
 *   - the six exports every actor has (`theater:simple/actor#init` and the five
 *     `theater:simple/message-server-client#handle-*` functions) with their
 *     post-return functions.  The actor implements them as plain C functions:
 *
 *         tg_result actor_init(tg_opt state);                        // era B
 *         tg_result actor_init(tg_opt state, tg_bytes actor_id);     // era A (TG_ERA_A)
 *         tg_result actor_handle_send(tg_opt state, tg_bytes msg);
 *         tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg);
 *         tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg);
 *         tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg);
 *         tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id);
 *
 *   - declarations of every `theater:simple` host import an actor may call
 *     (runtime, message-server-host, timing, random; supervisor with
 *     TG_SUPERVISOR) with their exact flat core signatures, plus small
 *     wrappers that decode their results;
 *   - byte-string, UTF-8 and JSON helpers for the small JSON states the
 *     example actors keep.
 *
 * Define TG_ERA_A before including this header to build against the early
 * (v0.2.x) WIT, where `init` also receives the actor's own id.
 *
 * Define TG_SUPERVISOR before including it to make a supervisor: the actor
 * then also exports `theater:simple/supervisor-handlers` (see the end of this
 * file) and can call the `theater:simple/supervisor` imports.
 *
 * Memory model: everything an export receives or returns lives in the bump
 * heap (or in static data) and is valid until the export's post-return
 * function runs, which resets the heap.  Actors keep no state in globals:
 * their state is the `option<list<u8>>` the host passes in and gets back.
 *
 * Only functions the actor actually calls become core imports, and
 * `wasm-tools component new` keeps only those in the component, so a
 * component imports exactly the interfaces its C code uses.
 *
 * Build (see build.py):
 *   python -m ziglang cc --target=wasm32-freestanding -O2 -nostdlib \
 *       -Wl,--no-entry -Wl,-z,stack-size=65536 -Wl,--strip-all -Iinclude ...
 * zig's default wasm32 CPU enables bulk memory, so copies lower to
 * `memory.copy` and no libc `memcpy` is needed.
 */
#ifndef THEATER_GUEST_H
#define THEATER_GUEST_H

#include <stdbool.h> /* freestanding compiler headers only: no libc */
#include <stddef.h>
#include <stdint.h>

/* Every helper here is file-local; the unused ones vanish without warnings.
 * (Not `inline`: leaving inlining to the compiler keeps the modules small.) */
#define TG_FN static __attribute__((unused))

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/* A borrowed byte string: `list<u8>` or `string` (UTF-8) in canonical ABI. */
typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} tg_bytes;

/* `option<list<u8>>`: the actor state, replies, channel messages. */
typedef struct {
    bool some;
    tg_bytes val;
} tg_opt;

/* A list of byte strings, e.g. `list<string>` from the host (whose elements
 * are laid out exactly like tg_bytes on wasm32) or parsed from JSON. */
typedef struct {
    tg_bytes *items;
    uint32_t len;
} tg_strings;

/* A byte string from a C string literal (not a pointer: uses sizeof). */
#define TG_STR(lit) ((tg_bytes){(const uint8_t *)(lit), (uint32_t)(sizeof(lit) - 1)})

#define TG_NONE ((tg_opt){false, {0, 0}})

TG_FN tg_opt tg_some(tg_bytes b) { return (tg_opt){true, b}; }

/* `state` if it is `some`, else `fallback` (handy for "none means {}"). */
TG_FN tg_bytes tg_opt_or(tg_opt o, tg_bytes fallback) {
    return o.some ? o.val : fallback;
}

/*
 * What an export returns.  One struct serves all five result shapes; each
 * export reads only the fields its WIT result has:
 *   init, handle-send, handle-channel-message/close:
 *       result<tuple<option<list<u8>>>, string>                  -> state
 *   handle-request:
 *       result<tuple<option<list<u8>>, tuple<option<list<u8>>>>, string>
 *                                                                -> state, reply
 *   handle-channel-open:
 *       result<tuple<option<list<u8>>, tuple<channel-accept>>, string>
 *                                                   -> state, accepted, message
 */
typedef struct {
    bool is_err;
    tg_bytes err;   /* error message (made valid UTF-8 before it is returned) */
    tg_opt state;   /* the new state */
    tg_opt reply;   /* handle-request: none = "I will answer later" */
    bool accepted;  /* handle-channel-open */
    tg_opt message; /* handle-channel-open: optional message back to the opener */
} tg_result;

TG_FN tg_result tg_ok(tg_opt state) {
    tg_result r = {0};
    r.state = state;
    return r;
}
TG_FN tg_result tg_ok_reply(tg_opt state, tg_opt reply) {
    tg_result r = {0};
    r.state = state;
    r.reply = reply;
    return r;
}
TG_FN tg_result tg_ok_accept(tg_opt state, bool accepted, tg_opt message) {
    tg_result r = {0};
    r.state = state;
    r.accepted = accepted;
    r.message = message;
    return r;
}
TG_FN tg_result tg_err(tg_bytes message) {
    tg_result r = {0};
    r.is_err = true;
    r.err = message;
    return r;
}

/* ------------------------------------------------------------------------ */
/* Memory: byte helpers and the bump allocator                              */
/* ------------------------------------------------------------------------ */

TG_FN void tg_memcpy(void *dst, const void *src, uint32_t n) {
    __builtin_memcpy(dst, src, n); /* memory.copy with bulk memory */
}

TG_FN bool tg_memeq(const void *a, const void *b, uint32_t n) {
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    for (uint32_t i = 0; i < n; i++)
        if (x[i] != y[i]) return false;
    return true;
}

TG_FN uint32_t tg_strlen(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}

TG_FN tg_bytes tg_cstr(const char *s) {
    return (tg_bytes){(const uint8_t *)s, tg_strlen(s)};
}

TG_FN bool tg_eq(tg_bytes a, tg_bytes b) {
    return a.len == b.len && tg_memeq(a.ptr, b.ptr, a.len);
}

/* Whether `needle` occurs in `hay` (the empty needle always does). */
TG_FN bool tg_contains(tg_bytes hay, tg_bytes needle) {
    for (uint32_t i = 0; i + needle.len <= hay.len; i++)
        if (tg_memeq(hay.ptr + i, needle.ptr, needle.len)) return true;
    return false;
}

/* If `s` starts with `prefix`, store the remainder in *rest and return true. */
TG_FN bool tg_strip_prefix(tg_bytes s, tg_bytes prefix, tg_bytes *rest) {
    if (s.len < prefix.len || !tg_memeq(s.ptr, prefix.ptr, prefix.len)) return false;
    *rest = (tg_bytes){s.ptr + prefix.len, s.len - prefix.len};
    return true;
}

#define TG_PAGE_SIZE 65536u

extern unsigned char __heap_base[]; /* first byte after data and stack (wasm-ld) */

static uintptr_t tg__heap_top; /* next free byte; 0 = start at __heap_base */

/* Forget every allocation.  Called by the post-return functions, when the
 * host has finished copying the export's results out of linear memory. */
TG_FN void tg_heap_reset(void) { tg__heap_top = 0; }

/* Allocate `size` bytes aligned to `align` (a power of two).  Grows linear
 * memory as needed; traps when memory cannot grow (out of memory). */
TG_FN void *tg_alloc(uint32_t size, uint32_t align) {
    uint64_t top = tg__heap_top ? tg__heap_top : (uintptr_t)__heap_base;
    uint64_t start = (top + align - 1) & ~(uint64_t)(align - 1);
    uint64_t end = start + size;
    uint64_t limit = (uint64_t)__builtin_wasm_memory_size(0) * TG_PAGE_SIZE;
    if (end > limit) {
        uint64_t pages = (end - limit + TG_PAGE_SIZE - 1) / TG_PAGE_SIZE;
        if (end > ((uint64_t)1 << 32) ||
            __builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1)
            __builtin_trap();
    }
    tg__heap_top = (uintptr_t)end;
    return (void *)(uintptr_t)start;
}

/* The canonical ABI allocator, used by the host to pass lists and strings
 * into the actor (export arguments, import results).  The most recent
 * allocation is resized in place; anything else is moved. */
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    if (old && (uintptr_t)old + old_size == tg__heap_top &&
        ((uintptr_t)old & (align - 1)) == 0) {
        tg__heap_top = (uintptr_t)old; /* release the old block, re-grow it */
        return tg_alloc((uint32_t)new_size, (uint32_t)align);
    }
    void *p = tg_alloc((uint32_t)new_size, (uint32_t)align);
    if (old) tg_memcpy(p, old, (uint32_t)(old_size < new_size ? old_size : new_size));
    return p;
}

/* Copy bytes into the heap. */
TG_FN tg_bytes tg_dup(tg_bytes b) {
    uint8_t *p = (uint8_t *)tg_alloc(b.len, 1);
    tg_memcpy(p, b.ptr, b.len);
    return (tg_bytes){p, b.len};
}

/* ------------------------------------------------------------------------ */
/* Lists of strings (in the bump heap)                                      */
/* ------------------------------------------------------------------------ */

/* The index of the first item equal to `s`, or -1. */
TG_FN int32_t tg_strings_index(tg_strings list, tg_bytes s) {
    for (uint32_t i = 0; i < list.len; i++)
        if (tg_eq(list.items[i], s)) return (int32_t)i;
    return -1;
}

/* Append `s` (the bytes are borrowed, not copied).  The items move to a new
 * array, so a list from the host or from JSON can be extended too. */
TG_FN void tg_strings_append(tg_strings *list, tg_bytes s) {
    tg_bytes *items = (tg_bytes *)tg_alloc((list->len + 1) * (uint32_t)sizeof(tg_bytes), 4);
    if (list->len) tg_memcpy(items, list->items, list->len * (uint32_t)sizeof(tg_bytes));
    items[list->len] = s;
    list->items = items;
    list->len++;
}

/* Remove the first item equal to `s`, keeping the order of the others;
 * false if there is none. */
TG_FN bool tg_strings_remove(tg_strings *list, tg_bytes s) {
    int32_t at = tg_strings_index(*list, s);
    if (at < 0) return false;
    for (uint32_t i = (uint32_t)at; i + 1 < list->len; i++) list->items[i] = list->items[i + 1];
    list->len--;
    return true;
}

/* ------------------------------------------------------------------------ */
/* A growable byte buffer (in the bump heap)                                */
/* ------------------------------------------------------------------------ */

typedef struct {
    uint8_t *ptr;
    uint32_t len, cap;
} tg_buf;

TG_FN tg_buf tg_buf_new(uint32_t cap) {
    return (tg_buf){(uint8_t *)tg_alloc(cap, 1), 0, cap};
}

TG_FN void tg_buf_put(tg_buf *b, const void *data, uint32_t n) {
    if (b->len + n > b->cap) {
        uint32_t cap = b->cap * 2 > b->len + n ? b->cap * 2 : b->len + n;
        b->ptr = (uint8_t *)cabi_realloc(b->ptr, b->cap, 1, cap); /* in place if last */
        b->cap = cap;
    }
    tg_memcpy(b->ptr + b->len, data, n);
    b->len += n;
}

TG_FN void tg_buf_put_bytes(tg_buf *b, tg_bytes s) { tg_buf_put(b, s.ptr, s.len); }
TG_FN void tg_buf_puts(tg_buf *b, const char *s) { tg_buf_put(b, s, tg_strlen(s)); }
TG_FN void tg_buf_putc(tg_buf *b, uint8_t c) { tg_buf_put(b, &c, 1); }

TG_FN void tg_buf_put_u64(tg_buf *b, uint64_t v) {
    uint8_t digits[20];
    uint32_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v);
    tg_buf_put(b, digits + sizeof digits - n, n);
}

TG_FN void tg_buf_put_i64(tg_buf *b, int64_t v) {
    if (v < 0) {
        tg_buf_putc(b, '-');
        tg_buf_put_u64(b, (uint64_t)0 - (uint64_t)v); /* also right for INT64_MIN */
    } else {
        tg_buf_put_u64(b, (uint64_t)v);
    }
}

TG_FN tg_bytes tg_buf_bytes(const tg_buf *b) { return (tg_bytes){b->ptr, b->len}; }

/* "prefix" + "text" as one new byte string. */
TG_FN tg_bytes tg_concat(tg_bytes a, tg_bytes b) {
    tg_buf buf = tg_buf_new(a.len + b.len);
    tg_buf_put_bytes(&buf, a);
    tg_buf_put_bytes(&buf, b);
    return tg_buf_bytes(&buf);
}

TG_FN tg_bytes tg_fmt_i64(int64_t v) {
    tg_buf b = tg_buf_new(20);
    tg_buf_put_i64(&b, v);
    return tg_buf_bytes(&b);
}

TG_FN tg_bytes tg_fmt_u64(uint64_t v) {
    tg_buf b = tg_buf_new(20);
    tg_buf_put_u64(&b, v);
    return tg_buf_bytes(&b);
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

/* Parse all of `s` as an unsigned decimal ("0".."18446744073709551615"). */
TG_FN bool tg_parse_u64(tg_bytes s, uint64_t *out) {
    if (s.len == 0) return false;
    uint64_t v = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        uint32_t d = (uint32_t)s.ptr[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Parse all of `s` as a signed decimal with an optional leading '-'. */
TG_FN bool tg_parse_i64(tg_bytes s, int64_t *out) {
    bool neg = s.len > 0 && s.ptr[0] == '-';
    uint64_t mag;
    if (!tg_parse_u64((tg_bytes){s.ptr + neg, s.len - neg}, &mag)) return false;
    if (mag > (uint64_t)INT64_MAX + neg) return false;
    *out = neg ? (int64_t)((uint64_t)0 - mag) : (int64_t)mag;
    return true;
}

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                    */
/* ------------------------------------------------------------------------ */

#include "guest_utf8.h"  /* guest_utf8_seq */

TG_FN bool tg_utf8_valid(tg_bytes s) {
    uint32_t bad;
    for (uint32_t i = 0, k; i < s.len; i += k)
        if ((k = guest_utf8_seq(s.ptr + i, s.len - i, &bad)) == 0) return false;
    return true;
}

/* `s` itself if it is valid UTF-8, else a copy with each ill-formed part
 * replaced by U+FFFD.  Strings crossing the ABI must be valid UTF-8: the host
 * traps on anything else. */
TG_FN tg_bytes tg_utf8_lossy(tg_bytes s) {
    if (tg_utf8_valid(s)) return s;
    tg_buf b = tg_buf_new(s.len + 8);
    uint32_t bad;
    for (uint32_t i = 0, k; i < s.len; i += k) {
        k = guest_utf8_seq(s.ptr + i, s.len - i, &bad);
        if (k) {
            tg_buf_put(&b, s.ptr + i, k);
        } else {
            tg_buf_put(&b, "\xEF\xBF\xBD", 3); /* U+FFFD */
            k = bad;
        }
    }
    return tg_buf_bytes(&b);
}

TG_FN void tg_buf_put_utf8(tg_buf *b, uint32_t cp) {
    uint8_t u[4];
    uint32_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | cp >> 12), u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (uint8_t)(0xF0 | cp >> 18), u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), u[3] = (uint8_t)(0x80 | (cp & 0x3F)), n = 4;
    }
    tg_buf_put(b, u, n);
}

/* ------------------------------------------------------------------------ */
/* JSON (just enough for small flat state objects)                          */
/* ------------------------------------------------------------------------ */

TG_FN bool tg__json_ws(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

TG_FN uint32_t tg__json_skip_ws(const uint8_t *p, uint32_t i, uint32_t n) {
    while (i < n && tg__json_ws(p[i])) i++;
    return i;
}

/* p[i] is '"': return the index just past the closing quote (n if none). */
TG_FN uint32_t tg__json_skip_string(const uint8_t *p, uint32_t i, uint32_t n) {
    for (i++; i < n; i++) {
        if (p[i] == '\\') i++;
        else if (p[i] == '"') return i + 1;
    }
    return n;
}

/* Skip one value (string, object, array, number or literal) starting at i. */
TG_FN uint32_t tg__json_skip_value(const uint8_t *p, uint32_t i, uint32_t n) {
    if (i >= n) return n;
    if (p[i] == '"') return tg__json_skip_string(p, i, n);
    if (p[i] == '{' || p[i] == '[') {
        uint32_t depth = 0;
        while (i < n) {
            uint8_t c = p[i];
            if (c == '"') {
                i = tg__json_skip_string(p, i, n);
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
            i++;
        }
        return n;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && !tg__json_ws(p[i])) i++;
    return i;
}

/* Find member `key` of the top-level JSON object `doc` and store the raw text
 * of its value in *value.  Nested objects are skipped, not searched; the key
 * is compared without decoding escapes; the first match wins. */
TG_FN bool tg_json_get(tg_bytes doc, const char *key, tg_bytes *value) {
    const uint8_t *p = doc.ptr;
    uint32_t n = doc.len, klen = tg_strlen(key);
    uint32_t i = tg__json_skip_ws(p, 0, n);
    if (i >= n || p[i] != '{') return false;
    i++;
    for (;;) {
        i = tg__json_skip_ws(p, i, n);
        if (i >= n || p[i] != '"') return false; /* also the end of "{}" */
        uint32_t kstart = i + 1;
        i = tg__json_skip_string(p, i, n);
        uint32_t kend = i - 1;
        i = tg__json_skip_ws(p, i, n);
        if (i >= n || p[i] != ':') return false;
        i = tg__json_skip_ws(p, i + 1, n);
        uint32_t vstart = i;
        i = tg__json_skip_value(p, i, n);
        if (kend - kstart == klen && tg_memeq(p + kstart, key, klen)) {
            *value = (tg_bytes){p + vstart, i - vstart};
            return true;
        }
        i = tg__json_skip_ws(p, i, n);
        if (i >= n || p[i] != ',') return false;
        i++;
    }
}

/* Integer member `key` of a JSON object, or `fallback` when the state is
 * none, the member is missing, or its value is not an integer literal. */
TG_FN int64_t tg_json_int(tg_opt doc, const char *key, int64_t fallback) {
    tg_bytes v;
    int64_t out;
    if (doc.some && tg_json_get(doc.val, key, &v) && tg_parse_i64(v, &out)) return out;
    return fallback;
}

/* Unsigned integer member `key` (up to 2^64 - 1), like tg_json_int. */
TG_FN uint64_t tg_json_uint(tg_opt doc, const char *key, uint64_t fallback) {
    tg_bytes v;
    uint64_t out;
    if (doc.some && tg_json_get(doc.val, key, &v) && tg_parse_u64(v, &out)) return out;
    return fallback;
}

TG_FN int tg__hex(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The four hex digits of a \uXXXX escape at p[i..i+4), or -1. */
TG_FN int32_t tg__json_hex4(const uint8_t *p, uint32_t i, uint32_t n) {
    int32_t v = 0;
    if (i + 4 > n) return -1;
    for (uint32_t k = 0; k < 4; k++) {
        int d = tg__hex(p[i + k]);
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* String member `key` of a JSON object, unescaped and valid UTF-8 (lone
 * surrogates and bad escapes become U+FFFD).  False when the state is none,
 * the member is missing, or it is not a string. */
TG_FN bool tg_json_str(tg_opt doc, const char *key, tg_bytes *out) {
    tg_bytes v;
    if (!doc.some || !tg_json_get(doc.val, key, &v)) return false;
    if (v.len < 2 || v.ptr[0] != '"' || v.ptr[v.len - 1] != '"') return false;
    const uint8_t *p = v.ptr + 1;
    uint32_t n = v.len - 2, i;
    for (i = 0; i < n && p[i] != '\\'; i++) {}
    if (i == n) { /* no escapes: borrow the text */
        *out = tg_utf8_lossy((tg_bytes){p, n});
        return true;
    }
    tg_buf b = tg_buf_new(n);
    for (i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c != '\\' || i + 1 >= n) {
            tg_buf_putc(&b, c);
            continue;
        }
        c = p[++i];
        switch (c) {
        case 'b': tg_buf_putc(&b, '\b'); break;
        case 'f': tg_buf_putc(&b, '\f'); break;
        case 'n': tg_buf_putc(&b, '\n'); break;
        case 'r': tg_buf_putc(&b, '\r'); break;
        case 't': tg_buf_putc(&b, '\t'); break;
        case 'u': {
            int32_t cp = tg__json_hex4(p, i + 1, n);
            if (cp < 0) {
                tg_buf_put_utf8(&b, 0xFFFD);
                break;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < n && p[i + 1] == '\\' && p[i + 2] == 'u') {
                int32_t lo = tg__json_hex4(p, i + 3, n);
                if (lo >= 0xDC00 && lo <= 0xDFFF) { /* a surrogate pair */
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            tg_buf_put_utf8(&b, (uint32_t)cp);
            break;
        }
        default: tg_buf_putc(&b, c); /* \" \\ \/ and anything else: the char */
        }
    }
    *out = tg_utf8_lossy(tg_buf_bytes(&b));
    return true;
}

/* The raw JSON string `v` (quotes included), unescaped as tg_json_str does
 * (it does the work, on the one-member object {"":v}; its own code stays as
 * it was, so the actors that only use it build byte for byte as before).
 * False if `v` is not a string. */
TG_FN bool tg_json_decode_str(tg_bytes v, tg_bytes *out) {
    tg_buf doc = tg_buf_new(v.len + 5);
    tg_buf_put(&doc, "{\"\":", 4);
    tg_buf_put_bytes(&doc, v);
    tg_buf_putc(&doc, '}');
    return tg_json_str(tg_some(tg_buf_bytes(&doc)), "", out);
}

/* Member `key` of a JSON object as a list of strings: the string elements of
 * its array value, unescaped, in order (other elements are skipped).  Empty
 * when the state is none, the member is missing, or it is not an array. */
TG_FN tg_strings tg_json_strs(tg_opt doc, const char *key) {
    tg_strings list = {0, 0};
    tg_bytes v;
    if (!doc.some || !tg_json_get(doc.val, key, &v) || v.len < 2 || v.ptr[0] != '[' ||
        v.ptr[v.len - 1] != ']')
        return list;
    const uint8_t *p = v.ptr;
    uint32_t n = v.len - 1; /* the closing ']' (skip_value ended there) */
    for (uint32_t i = tg__json_skip_ws(p, 1, n); i < n;) {
        uint32_t end = tg__json_skip_value(p, i, n);
        tg_bytes item;
        if (end == i) break; /* a stray ']' or ',' : malformed, stop */
        if (tg_json_decode_str((tg_bytes){p + i, end - i}, &item)) tg_strings_append(&list, item);
        i = tg__json_skip_ws(p, end, n);
        if (i < n && p[i] == ',') i = tg__json_skip_ws(p, i + 1, n);
    }
    return list;
}

/* Writing compact JSON objects: {"a":1,"b":"x"} with no spaces.
 *
 *     tg_json o = tg_json_begin();
 *     tg_json_put_int(&o, "count", 3);
 *     tg_bytes text = tg_json_end(&o);        // {"count":3}
 */
typedef struct {
    tg_buf buf;
} tg_json;

TG_FN tg_json tg_json_begin(void) {
    tg_json o = {tg_buf_new(64)};
    tg_buf_putc(&o.buf, '{');
    return o;
}

TG_FN void tg__json_key(tg_json *o, const char *key) {
    if (o->buf.len > 1) tg_buf_putc(&o->buf, ',');
    tg_buf_putc(&o->buf, '"');
    tg_buf_puts(&o->buf, key); /* keys are plain ASCII literals */
    tg_buf_put(&o->buf, "\":", 2);
}

TG_FN void tg_json_put_int(tg_json *o, const char *key, int64_t v) {
    tg__json_key(o, key);
    tg_buf_put_i64(&o->buf, v);
}

TG_FN void tg_json_put_uint(tg_json *o, const char *key, uint64_t v) {
    tg__json_key(o, key);
    tg_buf_put_u64(&o->buf, v);
}

/* Append `s` as a JSON string: `s` must be valid UTF-8; quotes, backslashes
 * and control characters are escaped, everything else is copied as is. */
TG_FN void tg_buf_put_json_str(tg_buf *b, tg_bytes s) {
    static const char hex[] = "0123456789abcdef";
    tg_buf_putc(b, '"');
    for (uint32_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (c == '"' || c == '\\') {
            uint8_t esc[2] = {'\\', c};
            tg_buf_put(b, esc, 2);
        } else if (c < 0x20) {
            uint8_t esc[6] = {'\\', 'u', '0', '0', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            tg_buf_put(b, esc, 6);
        } else {
            tg_buf_putc(b, c);
        }
    }
    tg_buf_putc(b, '"');
}

/* Append a JSON array of strings, compact: ["a","b"]. */
TG_FN void tg_buf_put_json_strs(tg_buf *b, tg_strings list) {
    tg_buf_putc(b, '[');
    for (uint32_t i = 0; i < list.len; i++) {
        if (i) tg_buf_putc(b, ',');
        tg_buf_put_json_str(b, tg_utf8_lossy(list.items[i]));
    }
    tg_buf_putc(b, ']');
}

/* A string member (see tg_buf_put_json_str). */
TG_FN void tg_json_put_str(tg_json *o, const char *key, tg_bytes s) {
    tg__json_key(o, key);
    tg_buf_put_json_str(&o->buf, s);
}

/* A member whose value is a JSON array of strings. */
TG_FN void tg_json_put_strs(tg_json *o, const char *key, tg_strings list) {
    tg__json_key(o, key);
    tg_buf_put_json_strs(&o->buf, list);
}

TG_FN tg_bytes tg_json_end(tg_json *o) {
    tg_buf_putc(&o->buf, '}');
    return tg_buf_bytes(&o->buf);
}

/* The counter examples' state: {"count":N}. */
TG_FN tg_opt tg_json_count(int64_t n) {
    tg_json o = tg_json_begin();
    tg_json_put_int(&o, "count", n);
    return tg_some(tg_json_end(&o));
}

/* ------------------------------------------------------------------------ */
/* Host imports: exact flat core signatures                                 */
/* ------------------------------------------------------------------------ */
/*
 * Lowering rules used below: a string or list<u8> argument is (ptr, len);
 * an option<list<u8>> argument is (is_some, ptr, len); u32 is i32, u64 is
 * i64.  A result with more than one flat value is written by the host to a
 * return area whose address is the last argument (`ret`), laid out as the
 * canonical ABI stores the type (see the tg__ret_* structs).
 */
#define TG_IMPORT(iface, name) \
    __attribute__((import_module("theater:simple/" iface), import_name(name)))

/* runtime */
TG_IMPORT("runtime", "log")        /* (msg: string) */
void tg_import_log(const uint8_t *msg, uint32_t msg_len);
TG_IMPORT("runtime", "get-chain")  /* () -> chain; ret: tg__flat_list of tg_meta_event */
void tg_import_get_chain(void *ret);
TG_IMPORT("runtime", "shutdown")   /* (data: option<list<u8>>) -> result<_, string> */
void tg_import_shutdown(int32_t has_data, const uint8_t *data, uint32_t data_len, void *ret);

/* message-server-host */
TG_IMPORT("message-server-host", "send")            /* -> result<_, string> */
void tg_import_send(const uint8_t *actor_id, uint32_t actor_id_len,
                    const uint8_t *msg, uint32_t msg_len, void *ret);
TG_IMPORT("message-server-host", "request")         /* -> result<list<u8>, string> */
void tg_import_request(const uint8_t *actor_id, uint32_t actor_id_len,
                       const uint8_t *msg, uint32_t msg_len, void *ret);
TG_IMPORT("message-server-host", "open-channel")    /* -> result<channel-id, string> */
void tg_import_open_channel(const uint8_t *actor_id, uint32_t actor_id_len,
                            const uint8_t *initial_msg, uint32_t initial_msg_len, void *ret);
TG_IMPORT("message-server-host", "send-on-channel") /* -> result<_, string> */
void tg_import_send_on_channel(const uint8_t *channel_id, uint32_t channel_id_len,
                               const uint8_t *msg, uint32_t msg_len, void *ret);
TG_IMPORT("message-server-host", "close-channel")   /* -> result<_, string> */
void tg_import_close_channel(const uint8_t *channel_id, uint32_t channel_id_len, void *ret);
TG_IMPORT("message-server-host", "list-outstanding-requests") /* -> list<string>; ret: tg__flat_list */
void tg_import_list_outstanding_requests(void *ret);
TG_IMPORT("message-server-host", "respond-to-request")        /* -> result<_, string> */
void tg_import_respond_to_request(const uint8_t *request_id, uint32_t request_id_len,
                                  const uint8_t *response, uint32_t response_len, void *ret);
TG_IMPORT("message-server-host", "cancel-request")            /* -> result<_, string> */
void tg_import_cancel_request(const uint8_t *request_id, uint32_t request_id_len, void *ret);

/* timing (milliseconds) */
TG_IMPORT("timing", "now")      /* () -> u64: the only import with a direct result */
uint64_t tg_import_now(void);
TG_IMPORT("timing", "sleep")    /* (duration: u64) -> result<_, string> */
void tg_import_sleep(uint64_t duration_ms, void *ret);
TG_IMPORT("timing", "deadline") /* (timestamp: u64) -> result<_, string> */
void tg_import_deadline(uint64_t timestamp_ms, void *ret);

/* random */
TG_IMPORT("random", "random-bytes")  /* (length: u32) -> result<list<u8>, string> */
void tg_import_random_bytes(uint32_t length, void *ret);
TG_IMPORT("random", "random-range")  /* (min: u64, max: u64) -> result<u64, string> */
void tg_import_random_range(uint64_t min, uint64_t max, void *ret);
TG_IMPORT("random", "random-float")  /* () -> result<f64, string> */
void tg_import_random_float(void *ret);
TG_IMPORT("random", "generate-uuid") /* () -> result<string, string> */
void tg_import_generate_uuid(void *ret);

/* Return areas of the imports, as the canonical ABI lays them out in memory
 * (wasm32: pointers and lengths are 4 bytes). */
typedef struct { const uint8_t *ptr; uint32_t len; } tg__flat_list; /* list/string */

typedef struct {          /* result<_, string>, result<list<u8>|string, string> */
    uint8_t is_err;       /* offset 0 */
    tg__flat_list val;    /* offset 4: the ok list/string or the err string */
} tg__ret_list;           /* size 12, align 4 */

typedef struct {          /* result<u64, string>, result<f64, string> */
    uint8_t is_err;       /* offset 0 */
    union {               /* offset 8: the 8-byte payload is 8-aligned */
        uint64_t u64;
        double f64;
        tg__flat_list err;
    } val;
} tg__ret_64;             /* size 16, align 8 */

typedef struct {          /* types.event */
    tg__flat_list event_type;   /* offset 0 */
    uint8_t has_parent;         /* offset 8 */
    uint64_t parent;            /* offset 16 */
    tg__flat_list data;         /* offset 24 */
} tg_event;                     /* size 32, align 8 */

typedef struct {          /* types.meta-event: the element of chain.events */
    uint64_t hash;              /* offset 0 */
    tg_event event;             /* offset 8 */
} tg_meta_event;                /* size 40, align 8 */

_Static_assert(__builtin_offsetof(tg__ret_list, val) == 4 && sizeof(tg__ret_list) == 12, "abi");
_Static_assert(__builtin_offsetof(tg__ret_64, val) == 8 && sizeof(tg__ret_64) == 16, "abi");
_Static_assert(__builtin_offsetof(tg_event, parent) == 16 && sizeof(tg_meta_event) == 40, "abi");
/* A list<string> element is a tg__flat_list, so host lists are read as tg_strings. */
_Static_assert(sizeof(tg_bytes) == 8 && sizeof(tg__flat_list) == 8, "abi");

/* ------------------------------------------------------------------------ */
/* Host import wrappers                                                     */
/* ------------------------------------------------------------------------ */

/* The decoded result of a host call.  `value` holds a list/string ok payload
 * (request, open-channel, random-bytes, generate-uuid); `u64` and `f64` the
 * numeric ones.  Host memory handed back lives in the bump heap until the
 * current export returns. */
typedef struct {
    bool ok;
    tg_bytes err;
    tg_bytes value;
    uint64_t u64;
    double f64;
} tg_call;

TG_FN tg_call tg__from_list(const tg__ret_list *r) {
    tg_call c = {0};
    tg_bytes v = {r->val.ptr, r->val.len};
    c.ok = !r->is_err;
    if (c.ok) c.value = v;
    else c.err = v;
    return c;
}

TG_FN tg_call tg__from_64(const tg__ret_64 *r) {
    tg_call c = {0};
    c.ok = !r->is_err;
    if (c.ok) c.u64 = r->val.u64, c.f64 = r->val.f64;
    else c.err = (tg_bytes){r->val.err.ptr, r->val.err.len};
    return c;
}

/* runtime.log; invalid UTF-8 is replaced, never trapped on. */
TG_FN void tg_log(tg_bytes msg) {
    msg = tg_utf8_lossy(msg);
    tg_import_log(msg.ptr, msg.len);
}

TG_FN void tg_log2(tg_bytes a, tg_bytes b) { tg_log(tg_concat(a, b)); }

TG_FN tg_call tg_send(tg_bytes actor_id, tg_bytes msg) {
    tg__ret_list r;
    actor_id = tg_utf8_lossy(actor_id);
    tg_import_send(actor_id.ptr, actor_id.len, msg.ptr, msg.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_request(tg_bytes actor_id, tg_bytes msg) {
    tg__ret_list r;
    actor_id = tg_utf8_lossy(actor_id);
    tg_import_request(actor_id.ptr, actor_id.len, msg.ptr, msg.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_send_on_channel(tg_bytes channel_id, tg_bytes msg) {
    tg__ret_list r;
    channel_id = tg_utf8_lossy(channel_id);
    tg_import_send_on_channel(channel_id.ptr, channel_id.len, msg.ptr, msg.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_open_channel(tg_bytes actor_id, tg_bytes initial_msg) {
    tg__ret_list r; /* ok: the new channel id */
    actor_id = tg_utf8_lossy(actor_id);
    tg_import_open_channel(actor_id.ptr, actor_id.len, initial_msg.ptr, initial_msg.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_close_channel(tg_bytes channel_id) {
    tg__ret_list r;
    channel_id = tg_utf8_lossy(channel_id);
    tg_import_close_channel(channel_id.ptr, channel_id.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_respond_to_request(tg_bytes request_id, tg_bytes response) {
    tg__ret_list r;
    request_id = tg_utf8_lossy(request_id);
    tg_import_respond_to_request(request_id.ptr, request_id.len, response.ptr, response.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_cancel_request(tg_bytes request_id) {
    tg__ret_list r;
    request_id = tg_utf8_lossy(request_id);
    tg_import_cancel_request(request_id.ptr, request_id.len, &r);
    return tg__from_list(&r);
}

/* runtime.get-chain: this actor's event chain so far. */
typedef struct {
    const tg_meta_event *events;
    uint32_t len;
} tg_chain;

TG_FN tg_chain tg_get_chain(void) {
    tg__flat_list r; /* chain { events: list<meta-event> } flattens to the one list */
    tg_import_get_chain(&r);
    return (tg_chain){(const tg_meta_event *)r.ptr, r.len};
}

/* message-server-host.list-outstanding-requests: the ids of the requests this
 * actor has not answered yet. */
TG_FN tg_strings tg_list_outstanding_requests(void) {
    tg__flat_list r;
    tg_import_list_outstanding_requests(&r);
    return (tg_strings){(tg_bytes *)r.ptr, r.len};
}

/* runtime.shutdown: ask the host to stop this actor (the parent gets `data`). */
TG_FN tg_call tg_shutdown(tg_opt data) {
    tg__ret_list r;
    tg_import_shutdown(data.some, data.val.ptr, data.val.len, &r);
    return tg__from_list(&r);
}

TG_FN uint64_t tg_now(void) { return tg_import_now(); }

TG_FN tg_call tg_sleep(uint64_t duration_ms) {
    tg__ret_list r;
    tg_import_sleep(duration_ms, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_deadline(uint64_t timestamp_ms) {
    tg__ret_list r;
    tg_import_deadline(timestamp_ms, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_random_bytes(uint32_t length) {
    tg__ret_list r;
    tg_import_random_bytes(length, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_random_range(uint64_t min, uint64_t max) {
    tg__ret_64 r;
    tg_import_random_range(min, max, &r);
    return tg__from_64(&r);
}

TG_FN tg_call tg_random_float(void) {
    tg__ret_64 r;
    tg_import_random_float(&r);
    return tg__from_64(&r);
}

TG_FN tg_call tg_generate_uuid(void) {
    tg__ret_list r;
    tg_import_generate_uuid(&r);
    return tg__from_list(&r);
}

/* ------------------------------------------------------------------------ */
/* Exports                                                                  */
/* ------------------------------------------------------------------------ */

/* The actor implements these (see the top of this file). */
#ifdef TG_ERA_A
static tg_result actor_init(tg_opt state, tg_bytes actor_id);
#else
static tg_result actor_init(tg_opt state);
#endif
static tg_result actor_handle_send(tg_opt state, tg_bytes msg);
static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg);
static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg);
static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg);
static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id);

/* Return areas of the exports.  Every result is
 * `result<tuple<option<list<u8>>, ...>, string>`: discriminant byte at 0,
 * payload at 4 (alignment 4). */
typedef struct {            /* option<list<u8>> */
    uint8_t is_some;        /* offset 0 */
    tg__flat_list val;      /* offset 4 */
} tg__flat_opt;             /* size 12, align 4 */

typedef struct {
    uint8_t is_err;                         /* offset 0 */
    union {                                 /* offset 4 */
        tg__flat_list err;
        tg__flat_opt state;                 /* tuple<option<list<u8>>> */
        struct {                            /* handle-request */
            tg__flat_opt state;             /* offset 4 */
            tg__flat_opt reply;             /* offset 16: tuple<option<list<u8>>> */
        } request;
        struct {                            /* handle-channel-open */
            tg__flat_opt state;             /* offset 4 */
            uint8_t accepted;               /* offset 16: channel-accept.accepted */
            tg__flat_opt message;           /* offset 20: channel-accept.message */
        } open;
    } ok;
} tg__ret_export;                           /* size 32, align 4 */

_Static_assert(__builtin_offsetof(tg__ret_export, ok.request.reply) == 16, "abi");
_Static_assert(__builtin_offsetof(tg__ret_export, ok.open.accepted) == 16, "abi");
_Static_assert(__builtin_offsetof(tg__ret_export, ok.open.message) == 20, "abi");
_Static_assert(sizeof(tg__ret_export) == 32, "abi");

static tg__ret_export tg__ret; /* one call at a time: a static area suffices */

TG_FN tg_opt tg__opt_arg(int32_t is_some, const uint8_t *ptr, uint32_t len) {
    return is_some ? tg_some((tg_bytes){ptr, len}) : TG_NONE;
}

TG_FN tg__flat_opt tg__flat(tg_opt o) {
    tg__flat_opt f = {0};
    if (o.some) f.is_some = 1, f.val.ptr = o.val.ptr, f.val.len = o.val.len;
    return f;
}

/* Store the fields of `r` that `shape` needs; return the area's address. */
enum { TG__STATE, TG__REQUEST, TG__OPEN };

TG_FN void *tg__return(tg_result r, int shape) {
    tg__ret = (tg__ret_export){0};
    if (r.is_err) {
        tg_bytes e = tg_utf8_lossy(r.err);
        tg__ret.is_err = 1;
        tg__ret.ok.err = (tg__flat_list){e.ptr, e.len};
    } else if (shape == TG__STATE) {
        tg__ret.ok.state = tg__flat(r.state);
    } else if (shape == TG__REQUEST) {
        tg__ret.ok.request.state = tg__flat(r.state);
        tg__ret.ok.request.reply = tg__flat(r.reply);
    } else {
        tg__ret.ok.open.state = tg__flat(r.state);
        tg__ret.ok.open.accepted = r.accepted;
        tg__ret.ok.open.message = tg__flat(r.message);
    }
    return &tg__ret;
}

#define TG_EXPORT(name) __attribute__((export_name(name)))
#define TG__MSC "theater:simple/message-server-client#"

/* Post-return: the host has copied the results out; free everything. */
#define TG__POST_RETURN(export_name, c_name) \
    TG_EXPORT("cabi_post_" export_name) void c_name(void *ret) { (void)ret; tg_heap_reset(); }

#ifdef TG_ERA_A
TG_EXPORT("theater:simple/actor#init")
void *tg__export_init(int32_t has_state, const uint8_t *state, uint32_t state_len,
                      const uint8_t *id, uint32_t id_len) {
    return tg__return(actor_init(tg__opt_arg(has_state, state, state_len),
                                 (tg_bytes){id, id_len}),
                      TG__STATE);
}
#else
TG_EXPORT("theater:simple/actor#init")
void *tg__export_init(int32_t has_state, const uint8_t *state, uint32_t state_len) {
    return tg__return(actor_init(tg__opt_arg(has_state, state, state_len)), TG__STATE);
}
#endif
TG__POST_RETURN("theater:simple/actor#init", tg__post_init)

TG_EXPORT(TG__MSC "handle-send")
void *tg__export_handle_send(int32_t has_state, const uint8_t *state, uint32_t state_len,
                             const uint8_t *msg, uint32_t msg_len) {
    return tg__return(actor_handle_send(tg__opt_arg(has_state, state, state_len),
                                        (tg_bytes){msg, msg_len}),
                      TG__STATE);
}
TG__POST_RETURN(TG__MSC "handle-send", tg__post_handle_send)

TG_EXPORT(TG__MSC "handle-request")
void *tg__export_handle_request(int32_t has_state, const uint8_t *state, uint32_t state_len,
                                const uint8_t *request_id, uint32_t request_id_len,
                                const uint8_t *msg, uint32_t msg_len) {
    return tg__return(actor_handle_request(tg__opt_arg(has_state, state, state_len),
                                           (tg_bytes){request_id, request_id_len},
                                           (tg_bytes){msg, msg_len}),
                      TG__REQUEST);
}
TG__POST_RETURN(TG__MSC "handle-request", tg__post_handle_request)

TG_EXPORT(TG__MSC "handle-channel-open")
void *tg__export_handle_channel_open(int32_t has_state, const uint8_t *state, uint32_t state_len,
                                     const uint8_t *channel_id, uint32_t channel_id_len,
                                     const uint8_t *msg, uint32_t msg_len) {
    return tg__return(actor_handle_channel_open(tg__opt_arg(has_state, state, state_len),
                                                (tg_bytes){channel_id, channel_id_len},
                                                (tg_bytes){msg, msg_len}),
                      TG__OPEN);
}
TG__POST_RETURN(TG__MSC "handle-channel-open", tg__post_handle_channel_open)

TG_EXPORT(TG__MSC "handle-channel-message")
void *tg__export_handle_channel_message(int32_t has_state, const uint8_t *state,
                                        uint32_t state_len, const uint8_t *channel_id,
                                        uint32_t channel_id_len, const uint8_t *msg,
                                        uint32_t msg_len) {
    return tg__return(actor_handle_channel_message(tg__opt_arg(has_state, state, state_len),
                                                   (tg_bytes){channel_id, channel_id_len},
                                                   (tg_bytes){msg, msg_len}),
                      TG__STATE);
}
TG__POST_RETURN(TG__MSC "handle-channel-message", tg__post_handle_channel_message)

TG_EXPORT(TG__MSC "handle-channel-close")
void *tg__export_handle_channel_close(int32_t has_state, const uint8_t *state, uint32_t state_len,
                                      const uint8_t *channel_id, uint32_t channel_id_len) {
    return tg__return(actor_handle_channel_close(tg__opt_arg(has_state, state, state_len),
                                                 (tg_bytes){channel_id, channel_id_len}),
                      TG__STATE);
}
TG__POST_RETURN(TG__MSC "handle-channel-close", tg__post_handle_channel_close)

/* ------------------------------------------------------------------------ */
/* Supervisors (opt in: #define TG_SUPERVISOR before including this file)   */
/* ------------------------------------------------------------------------ */
/*
 * A supervisor also imports `theater:simple/supervisor` and exports
 * `theater:simple/supervisor-handlers`, so it implements three more functions:
 *
 *     tg_result actor_handle_child_error(tg_opt state, tg_bytes child_id, tg_actor_error error);
 *     tg_result actor_handle_child_exit(tg_opt state, tg_bytes child_id, tg_opt data);
 *     tg_result actor_handle_child_external_stop(tg_opt state, tg_bytes child_id);
 *
 * Each returns `result<tuple<option<list<u8>>>, string>` (the new state), like
 * handle-send.  All of this is compiled only with TG_SUPERVISOR, so the other
 * actors' exports, and their bytes, do not change.
 */
#ifdef TG_SUPERVISOR

TG_IMPORT("supervisor", "spawn")  /* (manifest: string, init-bytes: option<list<u8>>)
                                      -> result<string, string>: the child's id */
void tg_import_spawn(const uint8_t *manifest, uint32_t manifest_len, int32_t has_init,
                     const uint8_t *init, uint32_t init_len, void *ret);
TG_IMPORT("supervisor", "resume") /* (manifest: string, init-state: option<list<u8>>)
                                      -> result<string, string> */
void tg_import_resume(const uint8_t *manifest, uint32_t manifest_len, int32_t has_state,
                      const uint8_t *state, uint32_t state_len, void *ret);
TG_IMPORT("supervisor", "list-children")    /* () -> list<string>; ret: tg__flat_list */
void tg_import_list_children(void *ret);
TG_IMPORT("supervisor", "stop-child")       /* (child-id: string) -> result<_, string> */
void tg_import_stop_child(const uint8_t *child_id, uint32_t child_id_len, void *ret);
TG_IMPORT("supervisor", "restart-child")    /* (child-id: string) -> result<_, string> */
void tg_import_restart_child(const uint8_t *child_id, uint32_t child_id_len, void *ret);
TG_IMPORT("supervisor", "get-child-state")  /* (child-id: string)
                                                -> result<option<list<u8>>, string> */
void tg_import_get_child_state(const uint8_t *child_id, uint32_t child_id_len, void *ret);
TG_IMPORT("supervisor", "get-child-events") /* (child-id: string)
                                                -> result<list<chain-event>, string> */
void tg_import_get_child_events(const uint8_t *child_id, uint32_t child_id_len, void *ret);

typedef struct {          /* result<option<list<u8>>, string> */
    uint8_t is_err;       /* offset 0 */
    union {               /* offset 4 */
        tg__flat_opt ok;
        tg__flat_list err;
    } val;
} tg__ret_opt;            /* size 16, align 4 */

typedef struct {                /* types.chain-event (the element of get-child-events) */
    tg__flat_list hash;         /* offset 0 */
    tg__flat_opt parent_hash;   /* offset 8 */
    tg__flat_list event_type;   /* offset 20 */
    tg__flat_list data;         /* offset 28 */
    tg__flat_opt description;   /* offset 36 */
} tg_chain_event;               /* size 48, align 4 */

_Static_assert(__builtin_offsetof(tg__ret_opt, val) == 4 && sizeof(tg__ret_opt) == 16, "abi");
_Static_assert(__builtin_offsetof(tg_chain_event, event_type) == 20 &&
               __builtin_offsetof(tg_chain_event, description) == 36 &&
               sizeof(tg_chain_event) == 48, "abi");

/* supervisor.spawn: start a child from a manifest (a path relative to this
 * actor's manifest, or TOML text); ok: `value` is the child's id. */
TG_FN tg_call tg_spawn(tg_bytes manifest, tg_opt init_bytes) {
    tg__ret_list r;
    manifest = tg_utf8_lossy(manifest);
    tg_import_spawn(manifest.ptr, manifest.len, init_bytes.some, init_bytes.val.ptr,
                    init_bytes.val.len, &r);
    return tg__from_list(&r);
}

/* supervisor.resume: start a child with a given state (not init's); ok: its id. */
TG_FN tg_call tg_resume(tg_bytes manifest, tg_opt init_state) {
    tg__ret_list r;
    manifest = tg_utf8_lossy(manifest);
    tg_import_resume(manifest.ptr, manifest.len, init_state.some, init_state.val.ptr,
                     init_state.val.len, &r);
    return tg__from_list(&r);
}

/* supervisor.list-children: the ids of this actor's running children. */
TG_FN tg_strings tg_list_children(void) {
    tg__flat_list r;
    tg_import_list_children(&r);
    return (tg_strings){(tg_bytes *)r.ptr, r.len};
}

TG_FN tg_call tg_stop_child(tg_bytes child_id) {
    tg__ret_list r;
    child_id = tg_utf8_lossy(child_id);
    tg_import_stop_child(child_id.ptr, child_id.len, &r);
    return tg__from_list(&r);
}

TG_FN tg_call tg_restart_child(tg_bytes child_id) {
    tg__ret_list r;
    child_id = tg_utf8_lossy(child_id);
    tg_import_restart_child(child_id.ptr, child_id.len, &r);
    return tg__from_list(&r);
}

/* supervisor.get-child-state: ok with the child's state (an option). */
typedef struct {
    bool ok;
    tg_bytes err;
    tg_opt state;
} tg_child_state;

TG_FN tg_child_state tg_get_child_state(tg_bytes child_id) {
    tg__ret_opt r;
    tg_child_state c = {0};
    child_id = tg_utf8_lossy(child_id);
    tg_import_get_child_state(child_id.ptr, child_id.len, &r);
    c.ok = !r.is_err;
    if (c.ok) c.state = tg__opt_arg(r.val.ok.is_some, r.val.ok.val.ptr, r.val.ok.val.len);
    else c.err = (tg_bytes){r.val.err.ptr, r.val.err.len};
    return c;
}

/* supervisor.get-child-events: ok with the child's chain events. */
typedef struct {
    bool ok;
    tg_bytes err;
    const tg_chain_event *events;
    uint32_t len;
} tg_child_events;

TG_FN tg_child_events tg_get_child_events(tg_bytes child_id) {
    tg__ret_list r;
    tg_child_events c = {0};
    child_id = tg_utf8_lossy(child_id);
    tg_import_get_child_events(child_id.ptr, child_id.len, &r);
    c.ok = !r.is_err;
    if (c.ok) c.events = (const tg_chain_event *)r.val.ptr, c.len = r.val.len;
    else c.err = (tg_bytes){r.val.ptr, r.val.len};
    return c;
}

/* types.wit-error-type, in declaration order (its canonical ABI value). */
typedef enum {
    TG_ERROR_OPERATION_TIMEOUT,
    TG_ERROR_CHANNEL_CLOSED,
    TG_ERROR_SHUTTING_DOWN,
    TG_ERROR_FUNCTION_NOT_FOUND,
    TG_ERROR_TYPE_MISMATCH,
    TG_ERROR_INTERNAL,
    TG_ERROR_SERIALIZATION_ERROR,
    TG_ERROR_UPDATE_COMPONENT_ERROR,
    TG_ERROR_PAUSED,
} tg_error_type;

/* types.wit-actor-error: what handle-child-error receives.  Theater sends
 * `internal` with data = the JSON of the child's error event. */
typedef struct {
    tg_error_type type;
    tg_opt data;
} tg_actor_error;

static tg_result actor_handle_child_error(tg_opt state, tg_bytes child_id, tg_actor_error error);
static tg_result actor_handle_child_exit(tg_opt state, tg_bytes child_id, tg_opt data);
static tg_result actor_handle_child_external_stop(tg_opt state, tg_bytes child_id);

#define TG__SH "theater:simple/supervisor-handlers#"

/* (state, (child-id, wit-actor-error {error-type, data})): the enum is one
 * i32, the record's option<list<u8>> three. */
TG_EXPORT(TG__SH "handle-child-error")
void *tg__export_handle_child_error(int32_t has_state, const uint8_t *state, uint32_t state_len,
                                    const uint8_t *child_id, uint32_t child_id_len,
                                    int32_t error_type, int32_t has_data, const uint8_t *data,
                                    uint32_t data_len) {
    tg_actor_error error = {(tg_error_type)error_type, tg__opt_arg(has_data, data, data_len)};
    return tg__return(actor_handle_child_error(tg__opt_arg(has_state, state, state_len),
                                               (tg_bytes){child_id, child_id_len}, error),
                      TG__STATE);
}
TG__POST_RETURN(TG__SH "handle-child-error", tg__post_handle_child_error)

/* (state, (child-id, option<list<u8>>)): the data the child passed to shutdown. */
TG_EXPORT(TG__SH "handle-child-exit")
void *tg__export_handle_child_exit(int32_t has_state, const uint8_t *state, uint32_t state_len,
                                   const uint8_t *child_id, uint32_t child_id_len,
                                   int32_t has_data, const uint8_t *data, uint32_t data_len) {
    return tg__return(actor_handle_child_exit(tg__opt_arg(has_state, state, state_len),
                                              (tg_bytes){child_id, child_id_len},
                                              tg__opt_arg(has_data, data, data_len)),
                      TG__STATE);
}
TG__POST_RETURN(TG__SH "handle-child-exit", tg__post_handle_child_exit)

/* (state, (child-id,)): the child was stopped from outside (stop-child). */
TG_EXPORT(TG__SH "handle-child-external-stop")
void *tg__export_handle_child_external_stop(int32_t has_state, const uint8_t *state,
                                            uint32_t state_len, const uint8_t *child_id,
                                            uint32_t child_id_len) {
    return tg__return(actor_handle_child_external_stop(tg__opt_arg(has_state, state, state_len),
                                                       (tg_bytes){child_id, child_id_len}),
                      TG__STATE);
}
TG__POST_RETURN(TG__SH "handle-child-external-stop", tg__post_handle_child_external_stop)

#endif /* TG_SUPERVISOR */

/* The channel handlers of an actor with no use for channels: every open is accepted
 * (with no message), messages are ignored, a close is a no-op. Write TG_IGNORE_CHANNELS
 * once in the actor's .c file instead of the three functions. */
#define TG_IGNORE_CHANNELS                                                                    \
    static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg) { \
        (void)channel_id, (void)msg;                                                          \
        return tg_ok_accept(state, true, TG_NONE);                                            \
    }                                                                                         \
    static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg) { \
        (void)channel_id, (void)msg;                                                          \
        return tg_ok(state);                                                                  \
    }                                                                                         \
    static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id) {          \
        (void)channel_id;                                                                     \
        return tg_ok(state);                                                                  \
    }

#endif /* THEATER_GUEST_H */
