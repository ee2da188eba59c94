/*
 * sleeper: uses the timing interface (blocking sleeps and deadlines).
 *
 * State: {"wakes":N,"last":T} (T: timing.now() in ms at the last wake).
 *   handle-send      "sleep:<ms>"    -> timing.sleep(ms), then wakes += 1,
 *                                       last = timing.now(), log "sleeper: woke at <last>"
 *                    "deadline:<ms>" -> timing.deadline(now + ms), then the same
 *                    "now"           -> last = timing.now() only
 *                    anything else is ignored; a malformed <ms> is an error
 *                    An err from the host fails the call: err "sleeper: <host error>".
 *   handle-request   "now" -> reply timing.now() in decimal; "state" -> reply the
 *                    state JSON; anything else "unknown"
 *   channels         opens accepted; messages as handle-send; close no-op
 */
#include "theater_guest.h"

typedef struct {
    int64_t wakes;
    uint64_t last;
} sleeper;

static sleeper load(tg_opt state) {
    sleeper s;
    s.wakes = tg_json_int(state, "wakes", 0);
    s.last = tg_json_uint(state, "last", 0);
    return s;
}

static tg_bytes save(sleeper s) {
    tg_json o = tg_json_begin();
    tg_json_put_int(&o, "wakes", s.wakes);
    tg_json_put_uint(&o, "last", s.last);
    return tg_json_end(&o);
}

static tg_result actor_init(tg_opt state) { return tg_ok(tg_some(save(load(state)))); }

static tg_result sleeper_message(tg_opt state, tg_bytes msg) {
    sleeper s = load(state);
    tg_bytes arg;
    uint64_t ms;
    tg_call waited;
    if (tg_strip_prefix(msg, TG_STR("sleep:"), &arg)) {
        if (!tg_parse_u64(arg, &ms)) return tg_err(tg_concat(TG_STR("sleeper: not a number of ms: "), arg));
        waited = tg_sleep(ms);
    } else if (tg_strip_prefix(msg, TG_STR("deadline:"), &arg)) {
        if (!tg_parse_u64(arg, &ms)) return tg_err(tg_concat(TG_STR("sleeper: not a number of ms: "), arg));
        waited = tg_deadline(tg_now() + ms);
    } else if (tg_eq(msg, TG_STR("now"))) {
        s.last = tg_now();
        return tg_ok(tg_some(save(s)));
    } else {
        return tg_ok(state);
    }
    if (!waited.ok) return tg_err(tg_concat(TG_STR("sleeper: "), waited.err));
    s.wakes++;
    s.last = tg_now();
    tg_log2(TG_STR("sleeper: woke at "), tg_fmt_u64(s.last));
    return tg_ok(tg_some(save(s)));
}

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) { return sleeper_message(state, msg); }

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("now"))) return tg_ok_reply(state, tg_some(tg_fmt_u64(tg_now())));
    if (tg_eq(msg, TG_STR("state"))) return tg_ok_reply(state, tg_some(save(load(state))));
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id, (void)msg;
    return tg_ok_accept(state, true, TG_NONE);
}

static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id;
    return sleeper_message(state, msg);
}

static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id) {
    (void)channel_id;
    return tg_ok(state);
}
