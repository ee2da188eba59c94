/*
 * packr_rpc_client: a packr-era actor that calls other actors' functions
 * through theater:simple/rpc (see include/packr_guest.h).  State:
 *
 *     rpc-client-state { calls: u32, errors: u32, pings: u32 }
 *
 * Imports: theater:simple/runtime.log; theater:simple/message-server-host
 * register; theater:simple/rpc call, implements, exports.
 *
 *   actor.init        a rpc-client-state record is kept (another record: status
 *                     -1); any other state (TH's default none, a manifest
 *                     string) starts at {calls: 0, errors: 0, pings: 0}; then
 *                     register() (an err is logged as
 *                     "packr_rpc_client: register failed: <err>")
 *   handle-request(request-id, msg)   runs the command `msg` and replies its outcome
 *   handle-send(msg)                  the same, logging "packr_rpc_client: <outcome>"
 *   rpc-client.ping() -> string       pings += 1; returns "pong"
 *   rpc-client.relay(target: string, function: string) -> string
 *                     rpc.call(target, function, tuple(), none); returns the
 *                     outcome, counted as a "call" command's
 *
 * Commands (words separated by spaces):
 *   call <actor-id> <function> [<arg> ...] [timeout=<ms>]
 *       rpc.call(actor-id, function, tuple(args...), options): an arg that is a
 *       signed decimal is an s64, any other a string; timeout=<ms> makes the
 *       options some(call-options{timeout-ms: some(u64 ms)}), else none.
 *       ok(v) -> calls += 1, outcome v; err(e) -> errors += 1, outcome "error: <e>"
 *   implements <actor-id> <interface>  "true", "false" or "error: <e>"
 *   exports <actor-id>                 the interface names, comma-separated, or "error: <e>"
 *   stats                              "calls=C errors=E pings=P"
 *   anything else                      "unknown command: <msg>"
 * A value reads as: an integer in decimal, a string as itself, a bool as
 * true/false, a list as its items joined by ",", a tuple as (a, b), any other
 * value as "<value>".
 *
 * Outside init, a state that is not a rpc-client-state record gives status
 * -1 "failed to convert state".
 */
#include "packr_guest.h"

PG_IMPORT("theater:simple/rpc", "call", rpc__call)
PG_IMPORT("theater:simple/rpc", "implements", rpc__implements)
PG_IMPORT("theater:simple/rpc", "exports", rpc__exports)

#define MAX_ARGS 6

typedef struct {
    uint32_t calls, errors, pings;
} client;

static const char *const CLIENT_FIELDS[] = {"calls", "errors", "pings"};
static const char *const OPTION_FIELDS[] = {"timeout-ms"};

static bool client_load(pg_val v, client *s) {
    return pg_kind(v) == PG_RECORD && pg_get_u32(pg_record_field(v, "calls"), &s->calls) &&
           pg_get_u32(pg_record_field(v, "errors"), &s->errors) &&
           pg_get_u32(pg_record_field(v, "pings"), &s->pings);
}

static uint32_t client_write(pg_w *w, const client *s) {
    uint32_t calls = pg_w_u32(w, s->calls);
    uint32_t errors = pg_w_u32(w, s->errors);
    uint32_t pings = pg_w_u32(w, s->pings);
    return PG_W_RECORD(w, "rpc-client-state", CLIENT_FIELDS, calls, errors, pings);
}

/* The next space-separated word of *rest (false when there is none). */
static bool next_word(pg_str *rest, pg_str *word) {
    pg_str s = pg_trim(*rest);
    if (!s.len) return false;
    if (!pg_split(s, ' ', word, rest)) *word = s, *rest = (pg_str){s.ptr + s.len, 0};
    return true;
}

static void render(pg_sb *b, pg_val v) {
    int64_t n;
    bool t;
    pg_str s;
    uint8_t kind = pg_kind(v);
    if (pg_get_int(v, &n)) {
        pg_sb_i64(b, n);
    } else if (pg_get_string(v, &s)) {
        pg_sb_str(b, s);
    } else if (pg_get_bool(v, &t)) {
        pg_sb_cstr(b, t ? "true" : "false");
    } else if (kind == PG_LIST || kind == PG_TUPLE) {
        if (kind == PG_TUPLE) pg_sb_byte(b, '(');
        for (uint32_t k = 0; k < pg_count(v); k++) {
            if (k) pg_sb_cstr(b, kind == PG_TUPLE ? ", " : ",");
            render(b, pg_child(v, k));
        }
        if (kind == PG_TUPLE) pg_sb_byte(b, ')');
    } else {
        pg_sb_cstr(b, "<value>");
    }
}

/* An rpc answer (a result variant) as text: the ok value, or "error: <e>". */
static pg_str outcome(pg_res r) {
    pg_sb b = pg_sb_new(32);
    if (r.ok) {
        render(&b, r.val);
    } else {
        pg_sb_cstr(&b, "error: ");
        pg_sb_str(&b, r.err);
    }
    return pg_sb_done(&b);
}

/* rpc.call(target, function, params, options), counted in `s`. */
static pg_str call_and_count(client *s, pg_w *w, uint32_t target, uint32_t function, uint32_t params,
                             uint32_t options) {
    pg_res r = pg_res_of(rpc__call(w, PG_W_TUPLE(w, target, function, params, options)));
    if (r.ok) s->calls++;
    else s->errors++;
    return outcome(r);
}

/* "call <actor-id> <function> [<arg> ...] [timeout=<ms>]" (after "call"). */
static pg_str command_call(client *s, pg_str rest) {
    pg_str id, function, word, ms_text;
    if (!next_word(&rest, &id) || !next_word(&rest, &function))
        return PG_S("usage: call <actor-id> <function> [<arg> ...] [timeout=<ms>]");
    pg_w w;
    pg_w_init(&w);
    uint32_t target = pg_w_string(&w, id);
    uint32_t fn = pg_w_string(&w, function);
    uint32_t args[MAX_ARGS];
    uint32_t n = 0;
    bool timed = false;
    uint64_t ms = 0;
    while (next_word(&rest, &word)) {
        int64_t v;
        if (pg_strip_prefix(word, PG_S("timeout="), &ms_text) && pg_parse_u64(ms_text, &ms)) {
            timed = true;
        } else if (n == MAX_ARGS) {
            pg_w_drop(&w);
            return PG_S("error: too many arguments");
        } else {
            args[n++] = pg_parse_i64(word, &v) ? pg_w_s64(&w, v) : pg_w_string(&w, word);
        }
    }
    uint32_t params = pg_w_tuple(&w, n, args);
    uint32_t options;
    if (timed) {
        uint32_t value = pg_w_u64(&w, ms);
        uint32_t timeout = pg_w_some(&w, PG_S("\x0f"), value);
        uint32_t record = PG_W_RECORD(&w, "call-options", OPTION_FIELDS, timeout);
        options = pg_w_some(&w, PG_S("\x09\x0c\x00\x00\x00" "call-options"), record);
    } else {
        options = pg_w_none(&w, PG_T_BOOL); /* TH's placeholder tag for "no options" */
    }
    return call_and_count(s, &w, target, fn, params, options);
}

static pg_str command_implements(pg_str rest) {
    pg_str id, interface;
    if (!next_word(&rest, &id) || !next_word(&rest, &interface)) return PG_S("usage: implements <actor-id> <interface>");
    pg_w w;
    pg_w_init(&w);
    uint32_t a = pg_w_string(&w, id), b = pg_w_string(&w, interface);
    return outcome(pg_res_of(rpc__implements(&w, PG_W_TUPLE(&w, a, b))));
}

static pg_str command_exports(pg_str rest) {
    pg_str id;
    if (!next_word(&rest, &id)) return PG_S("usage: exports <actor-id>");
    pg_w w;
    pg_w_init(&w);
    return outcome(pg_res_of(rpc__exports(&w, pg_w_string(&w, id))));
}

static pg_str run(client *s, pg_str msg) {
    pg_str rest = msg, verb;
    if (!next_word(&rest, &verb)) verb = PG_S("");
    if (pg_eq(verb, PG_S("call"))) return command_call(s, rest);
    if (pg_eq(verb, PG_S("implements"))) return command_implements(rest);
    if (pg_eq(verb, PG_S("exports"))) return command_exports(rest);
    if (pg_eq(verb, PG_S("stats"))) {
        pg_sb b = pg_sb_new(48);
        pg_sb_cstr(&b, "calls=");
        pg_sb_u64(&b, s->calls);
        pg_sb_cstr(&b, " errors=");
        pg_sb_u64(&b, s->errors);
        pg_sb_cstr(&b, " pings=");
        pg_sb_u64(&b, s->pings);
        return pg_sb_done(&b);
    }
    return pg_cat3(PG_S("unknown command: "), pg_lossy(msg), PG_S(""));
}

PG_EXPORT("theater:simple/actor.init", 0, client_init) {
    client s = {0, 0, 0};
    if (pg_kind(c->state) == PG_RECORD && !client_load(c->state, &s))
        return pg_fail(c, "failed to convert state");
    pg_res r = pg_register();
    if (!r.ok) pg_log(pg_cat3(PG_S("packr_rpc_client: register failed: "), r.err, PG_S("")));
    return pg_ok_state(c, client_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-send", 1, client_send) {
    client s;
    pg_str msg;
    if (!client_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_bytes(c->p[0], &msg)) return pg_fail(c, "failed to convert parameter");
    pg_log(pg_cat3(PG_S("packr_rpc_client: "), run(&s, msg), PG_S("")));
    return pg_ok_state(c, client_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-request", 2, client_request) {
    client s;
    pg_str request_id, msg;
    if (!client_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &request_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    pg_str reply = run(&s, msg);
    return pg_ok_reply(c, client_write(&c->w, &s), true, reply);
}

PG_EXPORT("rpc-client.ping", 0, client_ping) {
    client s;
    if (!client_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    s.pings++;
    uint32_t st = client_write(&c->w, &s);
    return pg_ok_state_ret(c, st, pg_w_string(&c->w, PG_S("pong")));
}

PG_EXPORT("rpc-client.relay", 2, client_relay) {
    client s;
    pg_str target, function;
    if (!client_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &target) || !pg_get_string(c->p[1], &function))
        return pg_fail(c, "failed to convert parameter");
    pg_w w;
    pg_w_init(&w);
    uint32_t t = pg_w_string(&w, target), f = pg_w_string(&w, function);
    uint32_t params = PG_W_UNIT(&w);
    uint32_t options = pg_w_none(&w, PG_T_BOOL);
    pg_str text = call_and_count(&s, &w, t, f, params, options);
    uint32_t st = client_write(&c->w, &s);
    return pg_ok_state_ret(c, st, pg_w_string(&c->w, text));
}
