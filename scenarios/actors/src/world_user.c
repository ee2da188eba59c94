/*
 * world_user: an actor of the outside world (theater_harness.world): it keeps
 * its visit count in Theater's store, so a restarted incarnation finds it; it
 * reads a config file and an environment variable, and calls an HTTP service.
 *
 * State: {"store":"<id>","visits":N} (the store's id, from store.new(): the
 * manifest's store_id, so every incarnation has the same store; N is a copy
 * of what the store holds at label "visits").
 *   init             store.new(); visits = the number at label "visits" (0 if
 *                    none); logs "world_user: <N> visits stored"
 *   handle-send      "visit" -> visits += 1, stored at label "visits"
 *                    "crash" -> traps
 *                    anything else is ignored; a store error fails the call
 *   handle-request   "visits"         -> the count the store holds ("0": none)
 *                    "config"         -> the file config.txt of its folder
 *                    "env:<NAME>"     -> environment variable NAME, or "(unset)"
 *                    "fetch:<url>"    -> GET <url>: "<status> <body>"
 *                    "save:<path>:<text>" -> writes <text> to <path>: "ok"
 *                    "sync"           -> POSTs the visit count to the URL that
 *                                        config.txt holds (its first line), with
 *                                        header authorization: Bearer $API_TOKEN,
 *                                        stores the response body at label
 *                                        "last-sync"; replies "<status> <body>"
 *                    a host error is replied as "error: <error>"; anything
 *                    else "unknown"
 *   channels         accepted and ignored (TG_IGNORE_CHANNELS)
 */
#include "theater_guest.h"
#include "theater_world.h"

#define VISITS TG_STR("visits")

typedef struct {
    tg_bytes store;
    uint64_t visits;
} world_user;

static tg_bytes save(world_user w) {
    tg_json o = tg_json_begin();
    tg_json_put_str(&o, "store", w.store);
    tg_json_put_uint(&o, "visits", w.visits);
    return tg_json_end(&o);
}

static tg_opt error_reply(tg_bytes err) { return tg_some(tg_concat(TG_STR("error: "), err)); }

/* The content at `label` of the store (ok with `value` empty and `u64` 0 when
 * the label points nowhere; `u64` 1 when it does). */
static tg_call labelled(tg_bytes store, tg_bytes label) {
    tg_call ref = tg_store_get_by_label(store, label);
    if (!ref.ok || ref.value.len == 0) return ref;
    tg_call content = tg_store_get(store, ref.value);
    content.u64 = 1;
    return content;
}

static tg_result actor_init(tg_opt state) {
    (void)state;
    world_user w = {0};
    tg_call made = tg_store_new();
    if (!made.ok) return tg_err(tg_concat(TG_STR("world_user: store.new: "), made.err));
    w.store = made.value;
    tg_call stored = labelled(w.store, VISITS);
    if (!stored.ok) return tg_err(tg_concat(TG_STR("world_user: "), stored.err));
    if (stored.u64 && !tg_parse_u64(stored.value, &w.visits))
        return tg_err(tg_concat(TG_STR("world_user: not a count: "), stored.value));
    tg_log(tg_concat(tg_concat(TG_STR("world_user: "), tg_fmt_u64(w.visits)), TG_STR(" visits stored")));
    return tg_ok(tg_some(save(w)));
}

static world_user load(tg_opt state) {
    world_user w = {0};
    tg_json_str(state, "store", &w.store);
    w.visits = tg_json_uint(state, "visits", 0);
    return w;
}

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    if (tg_eq(msg, TG_STR("crash"))) __builtin_trap();
    if (!tg_eq(msg, TG_STR("visit"))) return tg_ok(state);
    world_user w = load(state);
    w.visits++;
    tg_call stored = tg_store_at_label(w.store, VISITS, tg_fmt_u64(w.visits));
    if (!stored.ok) return tg_err(tg_concat(TG_STR("world_user: "), stored.err));
    return tg_ok(tg_some(save(w)));
}

/* "<status> <body>" of a response, or "error: <error>". */
static tg_opt http_reply(tg_http h) {
    if (!h.ok) return error_reply(h.err);
    return tg_some(tg_concat(tg_concat(tg_fmt_u64(h.status), TG_STR(" ")), h.body));
}

/* The first line of `text`. */
static tg_bytes first_line(tg_bytes text) {
    uint32_t n = 0;
    while (n < text.len && text.ptr[n] != '\n' && text.ptr[n] != '\r') n++;
    return (tg_bytes){text.ptr, n};
}

static tg_opt sync(world_user w) {
    tg_call config = tg_read_file(TG_STR("config.txt"));
    if (!config.ok) return error_reply(config.err);
    tg_opt token = tg_get_var(TG_STR("API_TOKEN"));
    tg_header auth = {TG_STR("authorization"), tg_concat(TG_STR("Bearer "), token.some ? token.val : TG_STR(""))};
    tg_http h = tg_send_http(TG_STR("POST"), first_line(config.value), &auth, 1, tg_some(tg_fmt_u64(w.visits)));
    if (h.ok) {
        tg_call stored = tg_store_at_label(w.store, TG_STR("last-sync"), h.body);
        if (!stored.ok) return error_reply(stored.err);
    }
    return http_reply(h);
}

static tg_opt answer(world_user w, tg_bytes msg) {
    tg_bytes arg;
    if (tg_eq(msg, TG_STR("visits"))) {
        tg_call stored = labelled(w.store, VISITS);
        if (!stored.ok) return error_reply(stored.err);
        return tg_some(stored.u64 ? stored.value : TG_STR("0"));
    }
    if (tg_eq(msg, TG_STR("config"))) {
        tg_call read = tg_read_file(TG_STR("config.txt"));
        return read.ok ? tg_some(read.value) : error_reply(read.err);
    }
    if (tg_strip_prefix(msg, TG_STR("env:"), &arg)) {
        tg_opt value = tg_get_var(arg);
        return value.some ? value : tg_some(TG_STR("(unset)"));
    }
    if (tg_strip_prefix(msg, TG_STR("fetch:"), &arg)) return http_reply(tg_send_http(TG_STR("GET"), arg, 0, 0, TG_NONE));
    if (tg_strip_prefix(msg, TG_STR("save:"), &arg)) {
        uint32_t colon = 0;
        while (colon < arg.len && arg.ptr[colon] != ':') colon++;
        if (colon == arg.len) return tg_some(TG_STR("error: expected save:<path>:<text>"));
        tg_bytes text = {arg.ptr + colon + 1, arg.len - colon - 1};
        tg_call written = tg_write_file((tg_bytes){arg.ptr, colon}, text);
        return written.ok ? tg_some(TG_STR("ok")) : error_reply(written.err);
    }
    if (tg_eq(msg, TG_STR("sync"))) return sync(w);
    return tg_some(TG_STR("unknown"));
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    return tg_ok_reply(state, answer(load(state), msg));
}

TG_IGNORE_CHANNELS
