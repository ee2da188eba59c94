/*
 * spawn_bomb: a hostile actor: spawns copies of itself without end.
 *
 * State: {"depth":D} for a copy a bomb spawned (D: its depth below the first
 * bomb); none (or no "depth") for one that waits for a command.
 *   init             with "depth" D: supervisor.spawn("spawn_bomb.toml",
 *                    {"depth":D+1}) before it returns, so that every copy's
 *                    init spawns the next (a chain of nested inits); ok: the
 *                    state as given; err: err "spawn_bomb: spawn failed at
 *                    depth <D>: <the last 200 bytes of the host's err>" (the
 *                    end of the err names what stopped the innermost copy)
 *                    without "depth": the state as given
 *   handle-send      "bomb"    -> the same with D = 0: spawn {"depth":1}
 *                    "wide:<N>" -> spawn N idle copies (init state none), one
 *                                  after the other; the first err ends the
 *                                  call with that err, as above (depth 0)
 *                    anything else is ignored
 *   handle-request   "ping" -> "pong"; "children" -> the number of running
 *                    children (list-children), in decimal
 *   supervisor-handlers   a child's error, exit or stop changes nothing
 *   channels         opens accepted (no message); messages ignored; close no-op
 */
#define TG_SUPERVISOR 1
#include "theater_guest.h"

#define TAIL 200

static tg_result spawn_failed(int64_t depth, tg_bytes err) {
    tg_buf b = tg_buf_new(64 + TAIL);
    tg_buf_puts(&b, "spawn_bomb: spawn failed at depth ");
    tg_buf_put_i64(&b, depth);
    tg_buf_puts(&b, ": ");
    if (err.len > TAIL) { /* keep the end: it names what stopped the innermost copy */
        tg_buf_puts(&b, "...");
        err = (tg_bytes){err.ptr + err.len - TAIL, TAIL}; /* a cut UTF-8 sequence becomes U+FFFD */
    }
    tg_buf_put_bytes(&b, err);
    return tg_err(tg_buf_bytes(&b));
}

static tg_opt copy_state(int64_t depth) {
    tg_json o = tg_json_begin();
    tg_json_put_int(&o, "depth", depth);
    return tg_some(tg_json_end(&o));
}

/* One more copy, spawned from this actor at `depth`; ok: true. */
static bool spawn_copy(tg_opt init, tg_bytes *err) {
    tg_call c = tg_spawn(TG_STR("spawn_bomb.toml"), init);
    if (!c.ok) *err = c.err;
    return c.ok;
}

static tg_result actor_init(tg_opt state) {
    int64_t depth = tg_json_int(state, "depth", -1);
    tg_bytes err;
    if (depth >= 0 && !spawn_copy(copy_state(depth + 1), &err)) return spawn_failed(depth, err);
    return tg_ok(state);
}

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    tg_bytes arg, err;
    uint64_t n;
    if (tg_eq(msg, TG_STR("bomb"))) {
        if (!spawn_copy(copy_state(1), &err)) return spawn_failed(0, err);
    } else if (tg_strip_prefix(msg, TG_STR("wide:"), &arg) && tg_parse_u64(arg, &n)) {
        for (uint64_t i = 0; i < n; i++)
            if (!spawn_copy(TG_NONE, &err)) return spawn_failed(0, err);
    }
    return tg_ok(state);
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("ping"))) return tg_ok_reply(state, tg_some(TG_STR("pong")));
    if (tg_eq(msg, TG_STR("children"))) return tg_ok_reply(state, tg_some(tg_fmt_u64(tg_list_children().len)));
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

static tg_result actor_handle_child_error(tg_opt state, tg_bytes child_id, tg_actor_error error) {
    (void)child_id, (void)error;
    return tg_ok(state);
}

static tg_result actor_handle_child_exit(tg_opt state, tg_bytes child_id, tg_opt data) {
    (void)child_id, (void)data;
    return tg_ok(state);
}

static tg_result actor_handle_child_external_stop(tg_opt state, tg_bytes child_id) {
    (void)child_id;
    return tg_ok(state);
}

TG_IGNORE_CHANNELS
