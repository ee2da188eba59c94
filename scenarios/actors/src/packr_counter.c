/*
 * packr_counter: the counter as a packr-era actor (a core module; see
 * include/packr_guest.h).  Its typed state is the record
 *
 *     counter-state { count: s64, last: string }
 *
 * Imports: theater:simple/runtime.log, theater:simple/message-server-host.register.
 * Every export receives tuple[state, params...] and answers
 * result::ok(tuple[new-state, returns...]) (PACKR.md 4.1):
 *
 *   theater:simple/actor.init (no params)
 *       state option<...> (TH's default none, or any option) -> {count: 0, last: ""}
 *       state string "N" (a manifest's initial_state, signed decimal)
 *                                             -> {count: N, last: ""}
 *       state string that is not a decimal    -> result::err("packr_counter:
 *                                                initial state is not a number: <s>")
 *       state counter-state (a recovered state) -> kept as is
 *       anything else                          -> status -1 "failed to convert state"
 *       then calls message-server-host.register() (an err is logged as
 *       "packr_counter: register failed: <err>") and logs "packr_counter: init <count>".
 *   theater:simple/message-server-client.handle-send(msg: list<u8>)
 *       "add:N" (N signed decimal) -> count += N; anything else (e.g. "inc")
 *       -> count += 1; in both cases last = the message as text (invalid
 *       UTF-8 replaced by U+FFFD).  Returns tuple[state].
 *   ...handle-request(request-id: string, msg: list<u8>)
 *       "get" -> reply the count in decimal, state unchanged
 *       "inc" -> count += 1, last = "inc", reply the new count in decimal
 *       anything else -> reply "unknown", state unchanged
 *       Returns tuple[state, tuple[option<list<u8>>]] (the reply is always some).
 *   ...handle-channel-open(channel-id: string, msg: list<u8>)
 *       accepts: tuple[state, tuple[channel-accept{accepted: true, message: none}]]
 *   ...handle-channel-message(channel-id: string, msg: list<u8>) -> count += 1
 *   ...handle-channel-close(channel-id: string) -> state unchanged
 *   counter.add(n: s64) -> count += n; returns the new count (s64)
 *   counter.get() -> returns the count (s64), state unchanged
 *
 * Arithmetic wraps around (two's complement).  A state that is not a
 * counter-state record (outside init), or a parameter of the wrong kind,
 * gives status -1 ("failed to convert state" / "failed to convert parameter").
 * Nothing is logged on the hot path.
 */
#include "packr_guest.h"

typedef struct {
    int64_t count;
    pg_str last;
} counter;

static const char *const COUNTER_FIELDS[] = {"count", "last"};

static bool counter_load(pg_val v, counter *s) {
    return pg_kind(v) == PG_RECORD && pg_get_s64(pg_record_field(v, "count"), &s->count) &&
           pg_get_string(pg_record_field(v, "last"), &s->last);
}

static uint32_t counter_write(pg_w *w, const counter *s) {
    uint32_t count = pg_w_s64(w, s->count);
    uint32_t last = pg_w_string(w, s->last);
    return PG_W_RECORD(w, "counter-state", COUNTER_FIELDS, count, last);
}

PG_EXPORT("theater:simple/actor.init", 0, counter_init) {
    counter s = {0, PG_S("")};
    pg_str text;
    if (pg_kind(c->state) == PG_OPTION) {
        /* TH's default state: start from zero */
    } else if (pg_get_string(c->state, &text)) {
        if (!pg_parse_i64(pg_trim(text), &s.count))
            return pg_err(c, pg_cat3(PG_S("packr_counter: initial state is not a number: "), text,
                                     PG_S("")));
    } else if (!counter_load(c->state, &s)) {
        return pg_fail(c, "failed to convert state");
    }
    pg_res r = pg_register();
    if (!r.ok) pg_log(pg_cat3(PG_S("packr_counter: register failed: "), r.err, PG_S("")));
    pg_log(pg_cat3(PG_S("packr_counter: init "), pg_fmt_i64(s.count), PG_S("")));
    return pg_ok_state(c, counter_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-send", 1, counter_send) {
    counter s;
    pg_str msg, arg;
    int64_t n;
    if (!counter_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_bytes(c->p[0], &msg)) return pg_fail(c, "failed to convert parameter");
    if (!pg_strip_prefix(msg, PG_S("add:"), &arg) || !pg_parse_i64(arg, &n)) n = 1;
    s.count = pg_add_wrapping(s.count, n);
    s.last = msg; /* pg_w_string makes it valid UTF-8 */
    return pg_ok_state(c, counter_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-request", 2, counter_request) {
    counter s;
    pg_str request_id, msg;
    if (!counter_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &request_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    if (pg_eq(msg, PG_S("get")))
        return pg_ok_reply(c, counter_write(&c->w, &s), true, pg_fmt_i64(s.count));
    if (pg_eq(msg, PG_S("inc"))) {
        s.count = pg_add_wrapping(s.count, 1);
        s.last = PG_S("inc");
        return pg_ok_reply(c, counter_write(&c->w, &s), true, pg_fmt_i64(s.count));
    }
    return pg_ok_reply(c, counter_write(&c->w, &s), true, PG_S("unknown"));
}

PG_EXPORT("theater:simple/message-server-client.handle-channel-open", 2, counter_channel_open) {
    counter s;
    pg_str channel_id, msg;
    if (!counter_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &channel_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    return pg_ok_accept(c, counter_write(&c->w, &s), true);
}

PG_EXPORT("theater:simple/message-server-client.handle-channel-message", 2, counter_channel_message) {
    counter s;
    pg_str channel_id, msg;
    if (!counter_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &channel_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    s.count = pg_add_wrapping(s.count, 1);
    return pg_ok_state(c, counter_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-channel-close", 1, counter_channel_close) {
    counter s;
    pg_str channel_id;
    if (!counter_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &channel_id)) return pg_fail(c, "failed to convert parameter");
    return pg_ok_state(c, counter_write(&c->w, &s));
}

PG_EXPORT("counter.add", 1, counter_add) {
    counter s;
    int64_t n;
    if (!counter_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_s64(c->p[0], &n)) return pg_fail(c, "failed to convert parameter");
    s.count = pg_add_wrapping(s.count, n);
    uint32_t st = counter_write(&c->w, &s);
    return pg_ok_state_ret(c, st, pg_w_s64(&c->w, s.count));
}

PG_EXPORT("counter.get", 0, counter_get) {
    counter s;
    if (!counter_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    uint32_t st = counter_write(&c->w, &s);
    return pg_ok_state_ret(c, st, pg_w_s64(&c->w, s.count));
}
