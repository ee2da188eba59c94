/*
 * crasher: fails on command, at the Nth message, or in init.
 *
 * State: {"fail_at":F,"mode":"M","seen":S}
 *   fail_at    fail when the S-th message arrives (0 = never; default 0)
 *   mode       "trap" (default) or "err": how to fail at fail_at
 *   seen       messages seen so far (default 0)
 *   fail_init  only read by init: "trap" traps, "err" returns an error
 *
 *   init                 fail_init "trap" -> trap; "err" -> err
 *                        "crasher: init failed on request"; otherwise the state
 *                        normalised to the three fields above (none -> defaults;
 *                        any mode other than "err" is "trap")
 *   handle-send          seen += 1, then: "trap" -> trap; "err" -> err
 *                        "crasher: error on request"; at seen == fail_at ->
 *                        fail per mode (err "crasher: failed on message <seen>");
 *                        else ok with the new state
 *   handle-request       the same, replying "ok" on success
 *   channels             opens accepted; messages as handle-send; close no-op
 *
 * Before trapping it logs why, so that a trace shows the trap was deliberate.
 */
#include "theater_guest.h"

typedef struct {
    int64_t fail_at, seen;
    bool mode_err;
} crasher;

static crasher load(tg_opt state) {
    tg_bytes mode;
    crasher c;
    c.fail_at = tg_json_int(state, "fail_at", 0);
    c.seen = tg_json_int(state, "seen", 0);
    c.mode_err = tg_json_str(state, "mode", &mode) && tg_eq(mode, TG_STR("err"));
    return c;
}

static tg_opt save(crasher c) {
    tg_json o = tg_json_begin();
    tg_json_put_int(&o, "fail_at", c.fail_at);
    tg_json_put_str(&o, "mode", c.mode_err ? TG_STR("err") : TG_STR("trap"));
    tg_json_put_int(&o, "seen", c.seen);
    return tg_some(tg_json_end(&o));
}

__attribute__((noreturn)) static void trap(tg_bytes why) {
    tg_log(why);
    __builtin_trap();
}

static tg_result actor_init(tg_opt state) {
    tg_bytes fail_init;
    if (tg_json_str(state, "fail_init", &fail_init)) {
        if (tg_eq(fail_init, TG_STR("trap"))) trap(TG_STR("crasher: trap in init"));
        if (tg_eq(fail_init, TG_STR("err"))) return tg_err(TG_STR("crasher: init failed on request"));
    }
    return tg_ok(save(load(state)));
}

/* One message, from handle-send, handle-request or a channel. */
static tg_result crasher_message(tg_opt state, tg_bytes msg) {
    crasher c = load(state);
    c.seen += 1;
    if (tg_eq(msg, TG_STR("trap"))) trap(TG_STR("crasher: trap on request"));
    if (tg_eq(msg, TG_STR("err"))) return tg_err(TG_STR("crasher: error on request"));
    if (c.fail_at > 0 && c.seen == c.fail_at) {
        if (c.mode_err) return tg_err(tg_concat(TG_STR("crasher: failed on message "), tg_fmt_i64(c.seen)));
        trap(tg_concat(TG_STR("crasher: trap on message "), tg_fmt_i64(c.seen)));
    }
    return tg_ok(save(c));
}

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) { return crasher_message(state, msg); }

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    tg_result r = crasher_message(state, msg);
    if (!r.is_err) r.reply = tg_some(TG_STR("ok"));
    return r;
}

static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id, (void)msg;
    return tg_ok_accept(state, true, TG_NONE);
}

static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id;
    return crasher_message(state, msg);
}

static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id) {
    (void)channel_id;
    return tg_ok(state);
}
