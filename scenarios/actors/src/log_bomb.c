/*
 * log_bomb: a hostile actor: logs more than any host should keep.
 *
 * State: as given.
 *   handle-send      "log:<count>:<bytes>" -> runtime.log <count> times, each a
 *                    line of <bytes> bytes ("xxx..."), all in this one call; the
 *                    line is written once (memory.fill) and handed to the host
 *                    again and again, so the guest's fuel and memory stay small
 *                    while the host is asked to keep count x bytes
 *                    anything else is ignored
 *   handle-request   "ping" -> "pong"
 *   channels         opens accepted (no message); messages ignored; close no-op
 */
#include "theater_guest.h"

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    tg_bytes arg, count_text = {0, 0}, bytes_text;
    uint64_t count, bytes;
    if (!tg_strip_prefix(msg, TG_STR("log:"), &arg)) return tg_ok(state);
    for (uint32_t i = 0; i < arg.len; i++)
        if (arg.ptr[i] == ':') count_text = (tg_bytes){arg.ptr, i};
    if (!count_text.ptr) return tg_ok(state);
    bytes_text = (tg_bytes){arg.ptr + count_text.len + 1, arg.len - count_text.len - 1};
    if (!tg_parse_u64(count_text, &count) || !tg_parse_u64(bytes_text, &bytes) || bytes > 0x7fffffff)
        return tg_ok(state);
    uint8_t *line = (uint8_t *)tg_alloc((uint32_t)bytes, 1);
    __builtin_memset(line, 'x', (uint32_t)bytes); /* memory.fill: one instruction */
    for (uint64_t i = 0; i < count; i++) tg_import_log(line, (uint32_t)bytes); /* ASCII: valid UTF-8 */
    return tg_ok(state);
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("ping"))) return tg_ok_reply(state, tg_some(TG_STR("pong")));
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

TG_IGNORE_CHANNELS
