/*
 * packr_rpc_server: a packr-era calculator that other actors call through
 * theater:simple/rpc (see packr_rpc_client.c); its functions are ordinary
 * typed exports, so tests call them too (rt.call).  Its typed state is
 *
 *     calc-state { total: s64, calls: u32 }
 *
 * Imports: theater:simple/runtime.log.  Every export receives
 * tuple[state, params...] and answers result::ok(tuple[new-state, return])
 * (PACKR.md 4.1):
 *
 *   theater:simple/actor.init (no params)
 *       state option<...> (TH's default none, or any option) -> {total: 0, calls: 0}
 *       state string "N" (a manifest's initial_state, signed decimal)
 *                                             -> {total: N, calls: 0}
 *       state string that is not a decimal    -> result::err("packr_rpc_server:
 *                                                initial state is not a number: <s>")
 *       state calc-state (a recovered state)  -> kept as is
 *       anything else                          -> status -1 "failed to convert state"
 *       then logs "packr_rpc_server: init <total>".
 *   calc.add(a: s64, b: s64) -> s64    a + b; total += a + b, calls += 1
 *   calc.div(a: s64, b: s64) -> s64    a / b (rounded toward zero); calls += 1;
 *                                      b = 0 traps (wasm `unreachable`), as does
 *                                      INT64_MIN / -1
 *   calc.total() -> s64                the total, state unchanged
 *
 * Arithmetic wraps around (two's complement).  A state that is not a
 * calc-state record (outside init), or a parameter that is not an s64, gives
 * status -1 ("failed to convert state" / "failed to convert parameter").
 */
#include "packr_guest.h"

typedef struct {
    int64_t total;
    uint32_t calls;
} calc;

static const char *const CALC_FIELDS[] = {"total", "calls"};

static bool calc_load(pg_val v, calc *s) {
    return pg_kind(v) == PG_RECORD && pg_get_s64(pg_record_field(v, "total"), &s->total) &&
           pg_get_u32(pg_record_field(v, "calls"), &s->calls);
}

static uint32_t calc_write(pg_w *w, const calc *s) {
    uint32_t total = pg_w_s64(w, s->total);
    uint32_t calls = pg_w_u32(w, s->calls);
    return PG_W_RECORD(w, "calc-state", CALC_FIELDS, total, calls);
}

/* The state and the two s64 operands of a binary function: status -1 names
 * what did not convert. */
static bool calc_operands(pg_call *c, calc *s, int64_t *a, int64_t *b, int32_t *status) {
    if (!calc_load(c->state, s)) {
        *status = pg_fail(c, "failed to convert state");
        return false;
    }
    if (!pg_get_s64(c->p[0], a) || !pg_get_s64(c->p[1], b)) {
        *status = pg_fail(c, "failed to convert parameter");
        return false;
    }
    return true;
}

PG_EXPORT("theater:simple/actor.init", 0, calc_init) {
    calc s = {0, 0};
    pg_str text;
    if (pg_kind(c->state) == PG_OPTION) {
        /* TH's default state: start from zero */
    } else if (pg_get_string(c->state, &text)) {
        if (!pg_parse_i64(pg_trim(text), &s.total))
            return pg_err(c, pg_cat3(PG_S("packr_rpc_server: initial state is not a number: "), text,
                                     PG_S("")));
    } else if (!calc_load(c->state, &s)) {
        return pg_fail(c, "failed to convert state");
    }
    pg_log(pg_cat3(PG_S("packr_rpc_server: init "), pg_fmt_i64(s.total), PG_S("")));
    return pg_ok_state(c, calc_write(&c->w, &s));
}

PG_EXPORT("calc.add", 2, calc_add) {
    calc s;
    int64_t a, b;
    int32_t status;
    if (!calc_operands(c, &s, &a, &b, &status)) return status;
    int64_t sum = pg_add_wrapping(a, b);
    s.total = pg_add_wrapping(s.total, sum);
    s.calls++;
    uint32_t st = calc_write(&c->w, &s);
    return pg_ok_state_ret(c, st, pg_w_s64(&c->w, sum));
}

PG_EXPORT("calc.div", 2, calc_div) {
    calc s;
    int64_t a, b;
    int32_t status;
    if (!calc_operands(c, &s, &a, &b, &status)) return status;
    if (b == 0 || (a == INT64_MIN && b == -1)) __builtin_trap();
    s.calls++;
    uint32_t st = calc_write(&c->w, &s);
    return pg_ok_state_ret(c, st, pg_w_s64(&c->w, a / b));
}

PG_EXPORT("calc.total", 0, calc_total) {
    calc s;
    if (!calc_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    uint32_t st = calc_write(&c->w, &s);
    return pg_ok_state_ret(c, st, pg_w_s64(&c->w, s.total));
}
