/*
 * chain_bomb: a hostile actor: asks for its own chain again and again in one
 * call.  A host that recorded each get-chain call with the whole chain it
 * returned would double the chain at every call (each record holding the one
 * before); Theater records the number of events instead.
 *
 * State: {"calls":C,"events":E}: get-chain calls made so far, and the length
 * of the chain the last one returned (none: 0 and 0).
 *   handle-send      "chain:<n>" -> runtime.get-chain() <n> times in this call;
 *                    C += n, E = the last call's number of events
 *                    anything else is ignored
 *   handle-request   "events" -> E in decimal
 *   channels         opens accepted (no message); messages ignored; close no-op
 *
 * Each chain returned stays in the guest's heap until the call returns, so a
 * large <n> ends at the memory cap.
 */
#include "theater_guest.h"

static tg_opt save(int64_t calls, int64_t events) {
    tg_json o = tg_json_begin();
    tg_json_put_int(&o, "calls", calls);
    tg_json_put_int(&o, "events", events);
    return tg_some(tg_json_end(&o));
}

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    tg_bytes arg;
    uint64_t n;
    if (!tg_strip_prefix(msg, TG_STR("chain:"), &arg) || !tg_parse_u64(arg, &n)) return tg_ok(state);
    int64_t events = tg_json_int(state, "events", 0);
    for (uint64_t i = 0; i < n; i++) events = tg_get_chain().len;
    return tg_ok(save(tg_json_int(state, "calls", 0) + (int64_t)n, events));
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("events"))) return tg_ok_reply(state, tg_some(tg_fmt_i64(tg_json_int(state, "events", 0))));
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

TG_IGNORE_CHANNELS
