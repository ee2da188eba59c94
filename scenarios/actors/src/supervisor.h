/*
 * supervisor.h: what the example supervisors (sup_one, sup_all, sup_perm,
 * worker_sup) share.  Each defines SUP_NAME, includes this file, and defines
 * its restart policy:
 *
 *     static void sup_on_child_error(sup *s, tg_bytes child_id, tg_actor_error error);
 *
 * (worker_sup also defines SUP_COMMANDS, sup_command and sup_query: its own
 * sends and requests, tried when none of the common ones matches).
 *
 * State: {"children":["<id>",...],"restarts":N}
 *   children   the ids of the children it spawned, in start order; a child
 *              leaves the list when it exits, is stopped from outside, or
 *              the policy gives up on it
 *   restarts   the successful restart-child calls so far
 *
 *   init                 none -> {"children":[],"restarts":0}; some -> the
 *                        same fields read from it (missing ones: [] and 0)
 *   handle-send          "spawn:<manifest>" -> supervisor.spawn(manifest, none);
 *                        ok: append the id and log "<name>: spawned <id>";
 *                        err: log "<name>: spawn failed: <err>"
 *                        "stop:<id>" -> log "<name>: stopping <id>", then
 *                        supervisor.stop-child(id) (the host then calls
 *                        handle-child-external-stop, which removes it)
 *                        anything else: the actor's own commands, else ignored
 *   handle-request       "children"     -> the JSON array of list-children(),
 *                                          compact: ["a","b"]
 *                        "restarts"     -> restarts, in decimal
 *                        "state:<id>"   -> get-child-state(id): the state's
 *                                          bytes, "none", or "err:<err>"
 *                        "events:<id>"  -> the number of get-child-events(id)
 *                                          in decimal, or "err:<err>"
 *                        anything else  -> the actor's own queries, else
 *                                          "unknown", logged as
 *                                          "<name>: unknown request <msg>"
 *   handle-child-error   the policy; restarting a child (sup_restart) logs
 *                        "<name>: restarting <id>", calls restart-child(id)
 *                        and on ok adds 1 to restarts; restart-child of a
 *                        running child is an error (as OTP's restart_child),
 *                        so a policy that restarts running siblings stops
 *                        them first (sup_stop), as OTP's one_for_all does
 *   handle-child-exit    log "<name>: child <id> exited"; remove it
 *   handle-child-external-stop   log "<name>: child <id> stopped"; remove it,
 *                        unless it runs again (the policy stopped and
 *                        restarted it before this notice came)
 *   channels             opens accepted; messages ignored; close no-op
 *
 * A host err never fails a supervisor: it is logged as
 * "<name>: <function> <id> failed: <err>" (spawn: "<name>: spawn failed: <err>")
 * and the supervisor carries on; children and restarts are left as they were.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

#define TG_SUPERVISOR 1
#include "theater_guest.h"

#ifndef SUP_NAME
#error "define SUP_NAME (the actor's name, for its log lines) before including supervisor.h"
#endif

typedef struct {
    tg_strings children;
    int64_t restarts;
} sup;

/* The actor's policy for a failed child. */
static void sup_on_child_error(sup *s, tg_bytes child_id, tg_actor_error error);

#ifdef SUP_COMMANDS
/* Extra handle-send commands and handle-request queries; true if handled. */
static bool sup_command(sup *s, tg_bytes msg);
static bool sup_query(sup *s, tg_bytes msg, tg_bytes *reply);
#endif

static sup sup_load(tg_opt state) {
    sup s;
    s.children = tg_json_strs(state, "children");
    s.restarts = tg_json_int(state, "restarts", 0);
    return s;
}

static tg_opt sup_save(sup s) {
    tg_json o = tg_json_begin();
    tg_json_put_strs(&o, "children", s.children);
    tg_json_put_int(&o, "restarts", s.restarts);
    return tg_some(tg_json_end(&o));
}

/* Log the line SUP_NAME ": " a x b y. */
static void sup_log(const char *a, tg_bytes x, const char *b, tg_bytes y) {
    tg_buf line = tg_buf_new(96);
    tg_buf_puts(&line, SUP_NAME ": ");
    tg_buf_puts(&line, a);
    tg_buf_put_bytes(&line, x);
    tg_buf_puts(&line, b);
    tg_buf_put_bytes(&line, y);
    tg_log(tg_buf_bytes(&line));
}

#define SUP_NOTHING TG_STR("")

/* Spawn a child from `manifest` and append its id to the children. */
static void sup_spawn(sup *s, tg_bytes manifest) {
    tg_call c = tg_spawn(manifest, TG_NONE);
    if (!c.ok) {
        sup_log("spawn failed: ", c.err, "", SUP_NOTHING);
        return;
    }
    tg_strings_append(&s->children, c.value);
    sup_log("spawned ", c.value, "", SUP_NOTHING);
}

/* Restart one child; restarts += 1 if the host did. */
static void sup_restart(sup *s, tg_bytes child_id) {
    sup_log("restarting ", child_id, "", SUP_NOTHING);
    tg_call c = tg_restart_child(child_id);
    if (c.ok) s->restarts++;
    else sup_log("restart-child ", child_id, " failed: ", c.err);
}

/* Stop one child; handle-child-external-stop follows. */
static void sup_stop(tg_bytes child_id) {
    sup_log("stopping ", child_id, "", SUP_NOTHING);
    tg_call c = tg_stop_child(child_id);
    if (!c.ok) sup_log("stop-child ", child_id, " failed: ", c.err);
}

static tg_result actor_init(tg_opt state) { return tg_ok(sup_save(sup_load(state))); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    sup s = sup_load(state);
    tg_bytes arg;
    if (tg_strip_prefix(msg, TG_STR("spawn:"), &arg)) {
        sup_spawn(&s, arg);
        return tg_ok(sup_save(s));
    }
    if (tg_strip_prefix(msg, TG_STR("stop:"), &arg)) {
        sup_stop(arg);
        return tg_ok(sup_save(s));
    }
#ifdef SUP_COMMANDS
    if (sup_command(&s, msg)) return tg_ok(sup_save(s));
#endif
    return tg_ok(state);
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    sup s = sup_load(state);
    tg_bytes child;
    if (tg_eq(msg, TG_STR("children"))) {
        tg_buf b = tg_buf_new(64);
        tg_buf_put_json_strs(&b, tg_list_children());
        return tg_ok_reply(state, tg_some(tg_buf_bytes(&b)));
    }
    if (tg_eq(msg, TG_STR("restarts")))
        return tg_ok_reply(state, tg_some(tg_fmt_i64(s.restarts)));
    if (tg_strip_prefix(msg, TG_STR("state:"), &child)) {
        tg_child_state c = tg_get_child_state(child);
        if (c.ok) return tg_ok_reply(state, tg_some(c.state.some ? c.state.val : TG_STR("none")));
        sup_log("get-child-state ", child, " failed: ", c.err);
        return tg_ok_reply(state, tg_some(tg_concat(TG_STR("err:"), c.err)));
    }
    if (tg_strip_prefix(msg, TG_STR("events:"), &child)) {
        tg_child_events c = tg_get_child_events(child);
        if (c.ok) return tg_ok_reply(state, tg_some(tg_fmt_u64(c.len)));
        sup_log("get-child-events ", child, " failed: ", c.err);
        return tg_ok_reply(state, tg_some(tg_concat(TG_STR("err:"), c.err)));
    }
#ifdef SUP_COMMANDS
    tg_bytes reply;
    if (sup_query(&s, msg, &reply)) return tg_ok_reply(state, tg_some(reply));
#endif
    sup_log("unknown request ", msg, "", SUP_NOTHING);
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

static tg_result actor_handle_child_error(tg_opt state, tg_bytes child_id, tg_actor_error error) {
    sup s = sup_load(state);
    sup_on_child_error(&s, child_id, error);
    return tg_ok(sup_save(s));
}

static tg_result actor_handle_child_exit(tg_opt state, tg_bytes child_id, tg_opt data) {
    (void)data;
    sup s = sup_load(state);
    sup_log("child ", child_id, " exited", SUP_NOTHING);
    tg_strings_remove(&s.children, child_id);
    return tg_ok(sup_save(s));
}

static tg_result actor_handle_child_external_stop(tg_opt state, tg_bytes child_id) {
    sup s = sup_load(state);
    sup_log("child ", child_id, " stopped", SUP_NOTHING);
    if (tg_strings_index(tg_list_children(), child_id) < 0) tg_strings_remove(&s.children, child_id);
    return tg_ok(sup_save(s));
}

TG_IGNORE_CHANNELS

#endif /* SUPERVISOR_H */
