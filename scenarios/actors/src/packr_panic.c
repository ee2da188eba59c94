/*
 * packr_panic: a packr-era actor that "panics" the way real packr guests do
 * (see include/packr_guest.h): packr_guest's panic handler does not trap, it
 * spins in an endless loop, so only the host's fuel or epoch deadline ends
 * the call.  State:
 *
 *     panic-state { count: u32 }
 *
 * Imports: theater:simple/runtime.log, theater:simple/message-server-host.register.
 *
 *   actor.init        a panic-state record is kept; any other state -> {count: 0};
 *                     then register() (its answer is ignored)
 *   handle-send(msg)
 *     "panic"         spins for ever (pg_panic: a loop on a volatile counter)
 *     "log:<text>"    runtime.log(text); count += 1.  When the host answers
 *                     an import with a negative status, the glue panics
 *                     (spins) exactly like a real guest
 *     anything else   (e.g. "ok") count += 1
 *   handle-request(request-id, msg)
 *     "get"           reply the count in decimal
 *     "panic"         spins for ever
 *     anything else   reply "unknown"
 *
 * Outside init, a state that is not a panic-state record gives status -1
 * "failed to convert state".
 */
#include "packr_guest.h"

static const char *const PANIC_FIELDS[] = {"count"};

static bool panic_load(pg_val v, uint32_t *count) {
    return pg_kind(v) == PG_RECORD && pg_get_u32(pg_record_field(v, "count"), count);
}

static uint32_t panic_write(pg_w *w, uint32_t count) {
    uint32_t n = pg_w_u32(w, count);
    return PG_W_RECORD(w, "panic-state", PANIC_FIELDS, n);
}

PG_EXPORT("theater:simple/actor.init", 0, panic_init) {
    uint32_t count = 0;
    if (!panic_load(c->state, &count)) count = 0;
    pg_register();
    return pg_ok_state(c, panic_write(&c->w, count));
}

PG_EXPORT("theater:simple/message-server-client.handle-send", 1, panic_send) {
    uint32_t count;
    pg_str msg, text;
    if (!panic_load(c->state, &count)) return pg_fail(c, "failed to convert state");
    if (!pg_get_bytes(c->p[0], &msg)) return pg_fail(c, "failed to convert parameter");
    if (pg_eq(msg, PG_S("panic"))) pg_panic();
    if (pg_strip_prefix(msg, PG_S("log:"), &text)) pg_log(text);
    count++;
    return pg_ok_state(c, panic_write(&c->w, count));
}

PG_EXPORT("theater:simple/message-server-client.handle-request", 2, panic_request) {
    uint32_t count;
    pg_str request_id, msg;
    if (!panic_load(c->state, &count)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &request_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    if (pg_eq(msg, PG_S("panic"))) pg_panic();
    if (pg_eq(msg, PG_S("get"))) {
        pg_sb b = pg_sb_new(16);
        pg_sb_u64(&b, count);
        return pg_ok_reply(c, panic_write(&c->w, count), true, pg_sb_done(&b));
    }
    return pg_ok_reply(c, panic_write(&c->w, count), true, PG_S("unknown"));
}
