/*
 * self_loop: a hostile actor: keeps itself busy without letting virtual time
 * pass, by sending to itself (message latency 0: every message arrives at the
 * same instant).
 *
 * State: {"count":N}, the "loop:" messages handled so far (none: 0).
 *   handle-send      "loop:<id>" -> count += 1, then message-server-host.send(
 *                    <id>, the same message): with its own id, the actor
 *                    messages itself for ever (an err from the host is logged
 *                    as "self_loop: send failed: <err>", and the loop stops)
 *                    anything else is ignored
 *   handle-request   "count" -> N in decimal
 *   channels         opens accepted (no message); messages ignored; close no-op
 */
#include "theater_guest.h"

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    tg_bytes target;
    if (!tg_strip_prefix(msg, TG_STR("loop:"), &target)) return tg_ok(state);
    int64_t count = tg_json_int(state, "count", 0) + 1;
    tg_call c = tg_send(target, msg);
    if (!c.ok) tg_log(tg_concat(TG_STR("self_loop: send failed: "), c.err));
    return tg_ok(tg_json_count(count));
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("count"))) return tg_ok_reply(state, tg_some(tg_fmt_i64(tg_json_int(state, "count", 0))));
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

TG_IGNORE_CHANNELS
