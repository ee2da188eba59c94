/*
 * packr_ticker: a packr-era actor (a core module; see include/packr_guest.h)
 * that ticks on a `theater:simple/timer` interval and keeps its tick count in
 * a `theater:simple/store` store.  Its typed state is the record
 *
 *     ticker-state { ticks: u32, store: option<string>, last-ref: option<string> }
 *
 * (store: the id of its store; last-ref: the content ref of the last tick
 * count it stored).  The timer is always named "tick".
 *
 * Imports: theater:simple/runtime.log, theater:simple/message-server-host.register,
 * theater:simple/timer set-interval, clear-interval, now,
 * theater:simple/store new, get, exists, get-by-label, store-at-label, list-labels.
 * Every export receives tuple[state, params...] and answers
 * result::ok(tuple[new-state, returns...]) (PACKR.md 4.1):
 *
 *   theater:simple/actor.init (no params)
 *       state option<...> (TH's default none, or any option)
 *                     -> {ticks: 0, store: none, last-ref: none}, interval 100 ms
 *       state string "N" (a manifest's initial_state, a decimal N >= 1,
 *                     spaces around it allowed) -> the same, interval N ms
 *       any other string -> result::err("packr_ticker: initial state is not
 *                     an interval in ms: <s>")
 *       state ticker-state (a recovered state) -> kept as is, interval 100 ms
 *                     (the interval is not part of the state)
 *       anything else -> status -1 "failed to convert state"
 *       then: message-server-host.register() (an err is logged as
 *       "packr_ticker: register failed: <err>"); store.new() unless the state
 *       already names a store (a recovered state keeps its store; on an err
 *       "packr_ticker: store.new failed: <err>" is logged and store stays
 *       none); timer.set-interval("tick", interval) (an err, e.g. for an
 *       interval beyond the host's bound, is logged as "packr_ticker:
 *       set-interval failed: <err>", and the actor runs without a timer);
 *       logs "packr_ticker: init <ticks> every <interval> ms".
 *   theater:simple/timer.handle-tick(name: string)
 *       ticks += 1 (wrapping), whatever the timer's name; when the state names
 *       a store: store.store-at-label(store, "ticks", "<ticks>" in decimal)
 *       and last-ref = some(the returned ref) (an err is logged as
 *       "packr_ticker: store-at-label failed: <err>", last-ref unchanged);
 *       logs "packr_ticker: tick <ticks>".  Returns tuple[state].
 *   theater:simple/message-server-client.handle-send(msg: list<u8>)
 *       "stop"        -> timer.clear-interval("tick") (an err is logged as
 *                        "packr_ticker: clear-interval failed: <err>")
 *       "every:<ms>"  -> timer.clear-interval("tick") (its err, e.g. after
 *                        "stop", is ignored: Theater refuses to set a name
 *                        that exists), then timer.set-interval("tick", ms):
 *                        the timer starts over (an err is logged as
 *                        "packr_ticker: set-interval failed: <err>", and the
 *                        timer stays cleared); <ms> not a decimal >= 1:
 *                        logs "packr_ticker: not an interval: <ms>", and the
 *                        timer is left as it was
 *       anything else -> ignored.  The state is unchanged; returns tuple[state].
 *   ...handle-request(request-id: string, msg: list<u8>)
 *       "now"    -> timer.now() in decimal (epoch ms)
 *       "ticks"  -> the tick count in decimal
 *       "stored" -> store.get-by-label(store, "ticks"), then store.get(store,
 *                   ref): the content found; "none" when the label does not
 *                   exist or the state names no store
 *       "labels" -> store.list-labels(store), comma-separated ("" for none or
 *                   when the state names no store)
 *       "exists" -> "true"/"false": store.exists(store, last-ref) ("false"
 *                   when last-ref or store is none)
 *       anything else -> "unknown"
 *       A store function's err makes the reply "error: <err>".  The state is
 *       unchanged; returns tuple[state, tuple[option<list<u8>>]] (always some).
 *
 * A state that is not a ticker-state record (outside init), or a parameter of
 * the wrong kind, gives status -1 ("failed to convert state" / "failed to
 * convert parameter").
 */
#include "packr_guest.h"

#define DEFAULT_INTERVAL_MS 100u

typedef struct {
    uint32_t ticks;
    bool has_store;
    pg_str store;
    bool has_ref;
    pg_str last_ref;
} ticker;

static const char *const TICKER_FIELDS[] = {"ticks", "store", "last-ref"};

static bool ticker_load(pg_val v, ticker *s) {
    return pg_kind(v) == PG_RECORD && pg_get_u32(pg_record_field(v, "ticks"), &s->ticks) &&
           pg_get_opt_string(pg_record_field(v, "store"), &s->has_store, &s->store) &&
           pg_get_opt_string(pg_record_field(v, "last-ref"), &s->has_ref, &s->last_ref);
}

static uint32_t ticker_write(pg_w *w, const ticker *s) {
    uint32_t ticks = pg_w_u32(w, s->ticks);
    uint32_t store = pg_w_opt_string(w, s->has_store, s->store);
    uint32_t ref = pg_w_opt_string(w, s->has_ref, s->last_ref);
    return PG_W_RECORD(w, "ticker-state", TICKER_FIELDS, ticks, store, ref);
}

/* An interval: all of `s` a decimal >= 1. */
static bool parse_interval(pg_str s, uint64_t *ms) { return pg_parse_u64(s, ms) && *ms > 0; }

/* Log "packr_ticker: <what> failed: <err>" when `r` is an err. */
static void log_err(pg_res r, pg_str what) {
    if (r.ok) return;
    pg_sb b = pg_sb_new(64);
    pg_sb_cstr(&b, "packr_ticker: ");
    pg_sb_str(&b, what);
    pg_sb_cstr(&b, " failed: ");
    pg_sb_str(&b, r.err);
    pg_log(pg_sb_done(&b));
}

static void set_interval(uint64_t ms) { log_err(pg_set_interval(PG_S("tick"), ms), PG_S("set-interval")); }

PG_EXPORT("theater:simple/actor.init", 0, ticker_init) {
    ticker s = {0, false, {0, 0}, false, {0, 0}};
    uint64_t interval = DEFAULT_INTERVAL_MS;
    pg_str text;
    if (pg_kind(c->state) == PG_OPTION) {
        /* TH's default state: start from zero, the default interval */
    } else if (pg_get_string(c->state, &text)) {
        if (!parse_interval(pg_trim(text), &interval))
            return pg_err(c, pg_cat3(PG_S("packr_ticker: initial state is not an interval in ms: "), text,
                                     PG_S("")));
    } else if (!ticker_load(c->state, &s)) {
        return pg_fail(c, "failed to convert state");
    }
    log_err(pg_register(), PG_S("register"));
    if (!s.has_store) {
        pg_res r = pg_store_new();
        if (r.ok && pg_get_string(r.val, &s.store)) s.has_store = true;
        else log_err(r, PG_S("store.new"));
    }
    set_interval(interval);
    pg_sb b = pg_sb_new(64);
    pg_sb_cstr(&b, "packr_ticker: init ");
    pg_sb_u64(&b, s.ticks);
    pg_sb_cstr(&b, " every ");
    pg_sb_u64(&b, interval);
    pg_sb_cstr(&b, " ms");
    pg_log(pg_sb_done(&b));
    return pg_ok_state(c, ticker_write(&c->w, &s));
}

PG_EXPORT("theater:simple/timer.handle-tick", 1, ticker_tick) {
    ticker s;
    pg_str name;
    if (!ticker_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &name)) return pg_fail(c, "failed to convert parameter");
    s.ticks += 1; /* unsigned: wraps */
    pg_str count = pg_fmt_u64(s.ticks);
    if (s.has_store) {
        pg_res r = pg_store_at_label(s.store, PG_S("ticks"), count);
        pg_str ref;
        if (r.ok && pg_get_string(r.val, &ref)) {
            s.has_ref = true;
            s.last_ref = ref;
        } else {
            log_err(r, PG_S("store-at-label"));
        }
    }
    pg_log(pg_cat3(PG_S("packr_ticker: tick "), count, PG_S("")));
    return pg_ok_state(c, ticker_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-send", 1, ticker_send) {
    ticker s;
    pg_str msg, arg;
    uint64_t ms;
    if (!ticker_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_bytes(c->p[0], &msg)) return pg_fail(c, "failed to convert parameter");
    if (pg_eq(msg, PG_S("stop"))) {
        log_err(pg_clear_interval(PG_S("tick")), PG_S("clear-interval"));
    } else if (pg_strip_prefix(msg, PG_S("every:"), &arg)) {
        if (parse_interval(arg, &ms)) {
            pg_clear_interval(PG_S("tick")); /* "not found" when stopped: fine */
            set_interval(ms);
        } else pg_log(pg_cat3(PG_S("packr_ticker: not an interval: "), arg, PG_S(""))); /* made UTF-8 */
    }
    return pg_ok_state(c, ticker_write(&c->w, &s));
}

/* "error: <err>" */
static pg_str error_reply(pg_res r) { return pg_cat3(PG_S("error: "), r.err, PG_S("")); }

/* The reply to "stored": the content at label "ticks". */
static pg_str stored_reply(const ticker *s) {
    if (!s->has_store) return PG_S("none");
    pg_res r = pg_store_get_by_label(s->store, PG_S("ticks"));
    if (!r.ok) return error_reply(r);
    bool some;
    pg_str ref, content;
    if (!pg_get_opt_string(r.val, &some, &ref)) pg_panic(); /* not result<option<string>>: a conversion panic */
    if (!some) return PG_S("none");
    r = pg_store_get(s->store, ref);
    if (!r.ok) return error_reply(r);
    if (!pg_get_bytes(r.val, &content)) pg_panic();
    return content;
}

/* The reply to "labels": the store's labels, comma-separated. */
static pg_str labels_reply(const ticker *s) {
    if (!s->has_store) return PG_S("");
    pg_res r = pg_store_list_labels(s->store);
    if (!r.ok) return error_reply(r);
    if (pg_kind(r.val) != PG_LIST) pg_panic();
    pg_sb b = pg_sb_new(64);
    for (uint32_t k = 0; k < pg_count(r.val); k++) {
        pg_str label;
        if (!pg_get_string(pg_child(r.val, k), &label)) pg_panic();
        if (k) pg_sb_byte(&b, ',');
        pg_sb_str(&b, label);
    }
    return pg_sb_done(&b);
}

/* The reply to "exists": whether the store still holds last-ref. */
static pg_str exists_reply(const ticker *s) {
    if (!s->has_store || !s->has_ref) return PG_S("false");
    pg_res r = pg_store_exists(s->store, s->last_ref);
    if (!r.ok) return error_reply(r);
    bool found;
    if (!pg_get_bool(r.val, &found)) pg_panic();
    return found ? PG_S("true") : PG_S("false");
}

PG_EXPORT("theater:simple/message-server-client.handle-request", 2, ticker_request) {
    ticker s;
    pg_str request_id, msg, reply;
    if (!ticker_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &request_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    if (pg_eq(msg, PG_S("now"))) reply = pg_fmt_u64(pg_now());
    else if (pg_eq(msg, PG_S("ticks"))) reply = pg_fmt_u64(s.ticks);
    else if (pg_eq(msg, PG_S("stored"))) reply = stored_reply(&s);
    else if (pg_eq(msg, PG_S("labels"))) reply = labels_reply(&s);
    else if (pg_eq(msg, PG_S("exists"))) reply = exists_reply(&s);
    else reply = PG_S("unknown");
    return pg_ok_reply(c, ticker_write(&c->w, &s), true, reply);
}
