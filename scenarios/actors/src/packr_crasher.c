/*
 * packr_crasher: a packr-era actor that fails on command (see
 * include/packr_guest.h).  State:
 *
 *     crasher-state { count: u32 }
 *
 * Imports: theater:simple/message-server-host.register.
 *
 *   actor.init        state string "fail_init" -> traps (wasm `unreachable`);
 *                     a crasher-state record is kept; any other state (TH's
 *                     default none, another string) -> {count: 0};
 *                     then register() (its answer is ignored)
 *   handle-send(msg)
 *     "trap"          traps
 *     "err"           result::err("packr_crasher: err on request")
 *     anything else   count += 1
 *   handle-request(request-id, msg)
 *     "get"           reply the count in decimal, state unchanged
 *     "trap", "err"   as for handle-send
 *     anything else   count += 1, reply "ok"
 *
 * Outside init, a state that is not a crasher-state record gives status -1
 * "failed to convert state".
 */
#include "packr_guest.h"

static const char *const CRASHER_FIELDS[] = {"count"};

static bool crasher_load(pg_val v, uint32_t *count) {
    return pg_kind(v) == PG_RECORD && pg_get_u32(pg_record_field(v, "count"), count);
}

static uint32_t crasher_write(pg_w *w, uint32_t count) {
    uint32_t n = pg_w_u32(w, count);
    return PG_W_RECORD(w, "crasher-state", CRASHER_FIELDS, n);
}

PG_EXPORT("theater:simple/actor.init", 0, crasher_init) {
    uint32_t count = 0;
    pg_str text;
    if (pg_get_string(c->state, &text) && pg_eq(text, PG_S("fail_init"))) __builtin_trap();
    if (!crasher_load(c->state, &count)) count = 0;
    pg_register();
    return pg_ok_state(c, crasher_write(&c->w, count));
}

/* "trap" traps; "err" is true (the call fails); anything else counts. */
static bool crasher_command(pg_str msg, uint32_t *count) {
    if (pg_eq(msg, PG_S("trap"))) __builtin_trap();
    if (pg_eq(msg, PG_S("err"))) return true;
    *count += 1;
    return false;
}

PG_EXPORT("theater:simple/message-server-client.handle-send", 1, crasher_send) {
    uint32_t count;
    pg_str msg;
    if (!crasher_load(c->state, &count)) return pg_fail(c, "failed to convert state");
    if (!pg_get_bytes(c->p[0], &msg)) return pg_fail(c, "failed to convert parameter");
    if (crasher_command(msg, &count)) return pg_err(c, PG_S("packr_crasher: err on request"));
    return pg_ok_state(c, crasher_write(&c->w, count));
}

PG_EXPORT("theater:simple/message-server-client.handle-request", 2, crasher_request) {
    uint32_t count;
    pg_str request_id, msg;
    if (!crasher_load(c->state, &count)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &request_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    if (pg_eq(msg, PG_S("get"))) {
        pg_sb b = pg_sb_new(16);
        pg_sb_u64(&b, count);
        return pg_ok_reply(c, crasher_write(&c->w, count), true, pg_sb_done(&b));
    }
    if (crasher_command(msg, &count)) return pg_err(c, PG_S("packr_crasher: err on request"));
    return pg_ok_reply(c, crasher_write(&c->w, count), true, PG_S("ok"));
}
