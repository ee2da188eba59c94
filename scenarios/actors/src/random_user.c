/*
 * random_user: exercises the random interface.
 *
 * State: as given.
 *   handle-request   "bytes:<n>"       -> reply n random bytes (random-bytes)
 *                    "range:<a>:<b>"   -> reply random-range(a, b) in decimal
 *                    "uuid"            -> reply generate-uuid()
 *                    "float"           -> reply random-float() as 16 lowercase hex
 *                                         digits of its IEEE-754 bits, most
 *                                         significant first (Python:
 *                                         struct.pack(">d", f).hex())
 *                    anything else     -> reply "unknown" (and log it)
 *                    An err from the host fails the call: err "random_user: <err>".
 *   handle-send      ignored
 *   channels         opens accepted; messages ignored; close no-op
 */
#include "theater_guest.h"

static tg_bytes hex_u64(uint64_t bits) {
    static const char digits[] = "0123456789abcdef";
    tg_buf b = tg_buf_new(16);
    for (int shift = 60; shift >= 0; shift -= 4) tg_buf_putc(&b, (uint8_t)digits[(bits >> shift) & 15]);
    return tg_buf_bytes(&b);
}

/* Split "<a>:<b>" at the first ':'. */
static bool split_colon(tg_bytes s, tg_bytes *a, tg_bytes *b) {
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == ':') {
            *a = (tg_bytes){s.ptr, i};
            *b = (tg_bytes){s.ptr + i + 1, s.len - i - 1};
            return true;
        }
    }
    return false;
}

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    (void)msg;
    return tg_ok(state);
}

static tg_result host_failed(tg_call c) { return tg_err(tg_concat(TG_STR("random_user: "), c.err)); }

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    tg_bytes arg, lo, hi;
    uint64_t n, min, max;
    tg_call c;
    if (tg_strip_prefix(msg, TG_STR("bytes:"), &arg) && tg_parse_u64(arg, &n) && n <= UINT32_MAX) {
        if (!(c = tg_random_bytes((uint32_t)n)).ok) return host_failed(c);
        return tg_ok_reply(state, tg_some(c.value));
    }
    if (tg_strip_prefix(msg, TG_STR("range:"), &arg) && split_colon(arg, &lo, &hi) &&
        tg_parse_u64(lo, &min) && tg_parse_u64(hi, &max)) {
        if (!(c = tg_random_range(min, max)).ok) return host_failed(c);
        return tg_ok_reply(state, tg_some(tg_fmt_u64(c.u64)));
    }
    if (tg_eq(msg, TG_STR("uuid"))) {
        if (!(c = tg_generate_uuid()).ok) return host_failed(c);
        return tg_ok_reply(state, tg_some(c.value));
    }
    if (tg_eq(msg, TG_STR("float"))) {
        if (!(c = tg_random_float()).ok) return host_failed(c);
        return tg_ok_reply(state, tg_some(hex_u64(c.u64))); /* c.u64: the bits of c.f64 */
    }
    tg_log2(TG_STR("random_user: unknown request "), msg);
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

TG_IGNORE_CHANNELS
