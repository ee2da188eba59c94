/*
 * counter: a fast counter, the harness's workhorse.
 *
 * State: {"count":N} (compact JSON).
 *   init                 none -> {"count":0}; some -> its "count" (missing -> 0)
 *   handle-send          "add:N" (N decimal) -> count += N; any other payload -> count += 1
 *   handle-request       "get" -> reply N, state unchanged
 *                        "inc" -> count += 1, reply the new N
 *                        anything else -> reply "unknown" (and log it)
 *   channels             every open is accepted (no message); a channel
 *                        message counts like a send; close is a no-op
 *
 * Nothing is logged on the hot path: no host call per message.
 * counter_a.c builds the same actor against the era-A WIT.
 */
#include "theater_guest.h"

#ifndef COUNTER_NAME
#define COUNTER_NAME "counter"
#endif

static int64_t count_of(tg_opt state) { return tg_json_int(state, "count", 0); }

/* Two's-complement wrap-around instead of signed-overflow UB. */
static int64_t add_wrapping(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

static tg_result counter_init(tg_opt state) { return tg_ok(tg_json_count(count_of(state))); }

/* A sent or channel message: "add:N" adds N, anything else adds 1. */
static tg_result counter_add(tg_opt state, tg_bytes msg) {
    tg_bytes arg;
    int64_t n;
    if (!tg_strip_prefix(msg, TG_STR("add:"), &arg) || !tg_parse_i64(arg, &n)) n = 1;
    return tg_ok(tg_json_count(add_wrapping(count_of(state), n)));
}

#ifndef TG_ERA_A
static tg_result actor_init(tg_opt state) { return counter_init(state); }
#endif

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) { return counter_add(state, msg); }

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("get")))
        return tg_ok_reply(state, tg_some(tg_fmt_i64(count_of(state))));
    if (tg_eq(msg, TG_STR("inc"))) {
        int64_t n = add_wrapping(count_of(state), 1);
        return tg_ok_reply(tg_json_count(n), tg_some(tg_fmt_i64(n)));
    }
    tg_log2(TG_STR(COUNTER_NAME ": unknown request "), msg);
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id, (void)msg;
    return tg_ok_accept(state, true, TG_NONE);
}

static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id;
    return counter_add(state, msg);
}

static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id) {
    (void)channel_id;
    return tg_ok(state);
}
