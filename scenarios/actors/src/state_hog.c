/*
 * state_hog: a hostile actor: returns states and replies far bigger than any
 * actor needs.  Every state a call returns stays in the actor's chain (as in
 * Theater), so a few such calls hold gigabytes on the host's side while the
 * guest's memory stays under its cap.
 *
 * State: whatever the last call returned (none at first).
 *   handle-send      "grow:<bytes>" -> the new state is <bytes> bytes ("sss...")
 *                    anything else: the state as given
 *   handle-request   "reply:<bytes>" -> reply <bytes> bytes ("rrr..."), state kept
 *                    "size" -> the state's size in decimal
 *   channels         opens accepted (no message); messages ignored; close no-op
 */
#include "theater_guest.h"

static tg_bytes filled(uint64_t bytes, uint8_t c) {
    uint8_t *p = (uint8_t *)tg_alloc((uint32_t)bytes, 1);
    __builtin_memset(p, c, (uint32_t)bytes); /* memory.fill: one instruction */
    return (tg_bytes){p, (uint32_t)bytes};
}

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    tg_bytes arg;
    uint64_t n;
    if (tg_strip_prefix(msg, TG_STR("grow:"), &arg) && tg_parse_u64(arg, &n) && n <= 0x7fffffff)
        return tg_ok(tg_some(filled(n, 's')));
    return tg_ok(state);
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    tg_bytes arg;
    uint64_t n;
    if (tg_strip_prefix(msg, TG_STR("reply:"), &arg) && tg_parse_u64(arg, &n) && n <= 0x7fffffff)
        return tg_ok_reply(state, tg_some(filled(n, 'r')));
    if (tg_eq(msg, TG_STR("size"))) return tg_ok_reply(state, tg_some(tg_fmt_u64(state.some ? state.val.len : 0)));
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

TG_IGNORE_CHANNELS
