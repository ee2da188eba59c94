/*
 * packr_supervisor: a packr-era guest supervisor, one-for-one (see
 * include/packr_guest.h).  Its children may be packr or component actors.
 * State:
 *
 *     sup-state { children: list<string>, restarts: u32 }
 *
 *   children   the ids of the children it spawned, in start order (a child
 *              leaves the list only when stop:<id> stopped it)
 *   restarts   the restart-child calls that succeeded
 *
 * Imports: theater:simple/runtime.log, theater:simple/message-server-host.register,
 * theater:simple/supervisor spawn, list-children, restart-child, stop-child.
 *
 *   actor.init        register() first (an err is logged as
 *                     "packr_supervisor: register failed: <err>"), then:
 *                     state string "a.toml,b.toml" (a manifest's initial_state):
 *                     a comma-separated list of manifest paths; each (spaces
 *                     trimmed, empty items skipped) is spawned in order with
 *                     spawn(path, none, none); ok(id) appends the id and logs
 *                     "packr_supervisor: spawned <id>"; err logs
 *                     "packr_supervisor: spawn <path> failed: <err>" and goes on;
 *                     a sup-state record is kept; any other state (TH's
 *                     default none) -> {children: [], restarts: 0}
 *   handle-send(msg)
 *     "spawn:<manifest>"  spawn(manifest, none, none), as in init
 *     "stop:<id>"         logs "packr_supervisor: stopping <id>", stop-child(id):
 *                         ok -> the id leaves children; err -> logs
 *                         "packr_supervisor: stop-child <id> failed: <err>"
 *     anything else       ignored
 *   handle-request(request-id, msg)
 *     "children"          list-children(): ok -> the ids comma-separated
 *                         ("" for none); err -> "error: <err>"
 *     "restarts"          restarts in decimal
 *     anything else       "unknown"
 *   supervisor-handlers.handle-child-error(child-id: string,
 *           error: tuple<wit-error-type, option<list<u8>>>)   (a record
 *           wit-actor-error{error-type, data} is accepted too)
 *                         logs "packr_supervisor: restarting <id>", then
 *                         restart-child(id): ok -> restarts += 1; err -> logs
 *                         "packr_supervisor: restart-child <id> failed: <err>"
 *   ...handle-child-exit(child-id: string, result: option<list<u8>>)
 *                         logs "packr_supervisor: child <id> exited"
 *   ...handle-child-external-stop(child-id: string)
 *                         logs "packr_supervisor: child <id> stopped"
 *
 * A host err never fails the supervisor.  Outside init, a state that is not
 * a sup-state record gives status -1 "failed to convert state".
 */
#include "packr_guest.h"

typedef struct {
    pg_str *children; /* a temporary array */
    uint32_t n, cap;
    uint32_t restarts;
} sup;

static const char *const SUP_FIELDS[] = {"children", "restarts"};

static void sup_append(sup *s, pg_str id) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->children = (pg_str *)pg_tmp_realloc(s->children, s->cap * (uint32_t)sizeof(pg_str));
    }
    s->children[s->n++] = id;
}

static bool sup_load(pg_val v, sup *s) {
    *s = (sup){0};
    if (pg_kind(v) != PG_RECORD || !pg_get_u32(pg_record_field(v, "restarts"), &s->restarts))
        return false;
    pg_val list = pg_record_field(v, "children");
    if (pg_kind(list) != PG_LIST) return false;
    for (uint32_t k = 0; k < pg_count(list); k++) {
        pg_str id;
        if (!pg_get_string(pg_child(list, k), &id)) return false;
        sup_append(s, id);
    }
    return true;
}

static uint32_t sup_write(pg_w *w, const sup *s) {
    uint32_t *ids = (uint32_t *)pg_tmp(s->n ? s->n * 4u : 4u);
    for (uint32_t k = 0; k < s->n; k++) ids[k] = pg_w_string(w, s->children[k]);
    uint32_t children = pg_w_list(w, PG_T_STRING, s->n, ids);
    uint32_t restarts = pg_w_u32(w, s->restarts);
    return PG_W_RECORD(w, "sup-state", SUP_FIELDS, children, restarts);
}

/* Log "packr_supervisor: <a><b><c>". */
static void sup_log(pg_str a, pg_str b, pg_str c) {
    pg_sb l = pg_sb_new(64);
    pg_sb_cstr(&l, "packr_supervisor: ");
    pg_sb_str(&l, a);
    pg_sb_str(&l, b);
    pg_sb_str(&l, c);
    pg_log(pg_sb_done(&l));
}

static void sup_spawn(sup *s, pg_str manifest) {
    pg_res r = pg_spawn(manifest);
    pg_str id;
    if (r.ok && pg_get_string(r.val, &id)) {
        sup_append(s, id);
        sup_log(PG_S("spawned "), id, PG_S(""));
    } else {
        sup_log(PG_S("spawn "), manifest,
                pg_cat3(PG_S(" failed: "), r.ok ? PG_S("not a child id") : r.err, PG_S("")));
    }
}

PG_EXPORT("theater:simple/actor.init", 0, sup_init) {
    sup s;
    pg_str text;
    pg_res r = pg_register();
    if (!r.ok) sup_log(PG_S("register failed: "), r.err, PG_S(""));
    if (pg_get_string(c->state, &text)) {
        s = (sup){0};
        pg_str item;
        while (text.len) {
            if (!pg_split(text, ',', &item, &text)) item = text, text = (pg_str){0, 0};
            item = pg_trim(item);
            if (item.len) sup_spawn(&s, item);
        }
    } else if (!sup_load(c->state, &s)) {
        s = (sup){0};
    }
    return pg_ok_state(c, sup_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-send", 1, sup_send) {
    sup s;
    pg_str msg, arg;
    if (!sup_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_bytes(c->p[0], &msg)) return pg_fail(c, "failed to convert parameter");
    if (pg_strip_prefix(msg, PG_S("spawn:"), &arg)) {
        sup_spawn(&s, pg_lossy(arg));
    } else if (pg_strip_prefix(msg, PG_S("stop:"), &arg)) {
        arg = pg_lossy(arg);
        sup_log(PG_S("stopping "), arg, PG_S(""));
        pg_res r = pg_stop_child(arg);
        if (!r.ok) {
            sup_log(PG_S("stop-child "), arg, pg_cat3(PG_S(" failed: "), r.err, PG_S("")));
        } else {
            uint32_t kept = 0;
            for (uint32_t k = 0; k < s.n; k++)
                if (!pg_eq(s.children[k], arg)) s.children[kept++] = s.children[k];
            s.n = kept;
        }
    }
    return pg_ok_state(c, sup_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-request", 2, sup_request) {
    sup s;
    pg_str request_id, msg;
    if (!sup_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &request_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    pg_sb reply = pg_sb_new(64);
    if (pg_eq(msg, PG_S("children"))) {
        pg_res r = pg_list_children();
        if (!r.ok) {
            pg_sb_cstr(&reply, "error: ");
            pg_sb_str(&reply, r.err);
        } else {
            for (uint32_t k = 0; k < pg_count(r.val); k++) {
                pg_str id;
                if (pg_kind(r.val) != PG_LIST || !pg_get_string(pg_child(r.val, k), &id)) continue;
                if (reply.len) pg_sb_byte(&reply, ',');
                pg_sb_str(&reply, id);
            }
        }
    } else if (pg_eq(msg, PG_S("restarts"))) {
        pg_sb_u64(&reply, s.restarts);
    } else {
        pg_sb_cstr(&reply, "unknown");
    }
    return pg_ok_reply(c, sup_write(&c->w, &s), true, pg_sb_done(&reply));
}

/* The error of handle-child-error: tuple<wit-error-type, option<list<u8>>>
 * as TH sends it, or the pact's record wit-actor-error{error-type, data}. */
static bool sup_actor_error(pg_val e) {
    pg_val type = PG_NOVAL, data = PG_NOVAL;
    if (pg_kind(e) == PG_TUPLE && pg_count(e) == 2) {
        type = pg_child(e, 0), data = pg_child(e, 1);
    } else if (pg_kind(e) == PG_RECORD) {
        type = pg_record_field(e, "error-type"), data = pg_record_field(e, "data");
    }
    return pg_kind(type) == PG_VARIANT && pg_kind(data) == PG_OPTION;
}

PG_EXPORT("theater:simple/supervisor-handlers.handle-child-error", 2, sup_child_error) {
    sup s;
    pg_str id;
    if (!sup_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &id) || !sup_actor_error(c->p[1]))
        return pg_fail(c, "failed to convert parameter");
    sup_log(PG_S("restarting "), id, PG_S(""));
    pg_res r = pg_restart_child(id);
    if (r.ok) s.restarts++;
    else sup_log(PG_S("restart-child "), id, pg_cat3(PG_S(" failed: "), r.err, PG_S("")));
    return pg_ok_state(c, sup_write(&c->w, &s));
}

PG_EXPORT("theater:simple/supervisor-handlers.handle-child-exit", 2, sup_child_exit) {
    sup s;
    pg_str id;
    if (!sup_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &id) || pg_kind(c->p[1]) != PG_OPTION)
        return pg_fail(c, "failed to convert parameter");
    sup_log(PG_S("child "), id, PG_S(" exited"));
    return pg_ok_state(c, sup_write(&c->w, &s));
}

PG_EXPORT("theater:simple/supervisor-handlers.handle-child-external-stop", 1, sup_child_stop) {
    sup s;
    pg_str id;
    if (!sup_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &id)) return pg_fail(c, "failed to convert parameter");
    sup_log(PG_S("child "), id, PG_S(" stopped"));
    return pg_ok_state(c, sup_write(&c->w, &s));
}
