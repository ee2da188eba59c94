/*
 * worker_sup: the worker supervisor of Theater's book, with counters as
 * workers.
 *
 *   handle-send      "initialize" -> spawn three workers from the manifest
 *                                    "counter.toml" (a path relative to this
 *                                    actor's manifest: the host resolves it)
 *                    "add_worker" -> spawn one more
 *                    (each spawn as "spawn:counter.toml" does: appended to
 *                    "children", logged "worker_sup: spawned <id>")
 *   handle-request   "status"     -> the number of list-children(), in decimal
 *   a failed worker  restart-child(id) (logged "worker_sup: restarting <id>"),
 *                    restarts += 1: one for one
 * Everything else (state, spawn:, the other requests, exits and stops) is in
 * supervisor.h.
 */
#define SUP_NAME "worker_sup"
#define SUP_COMMANDS 1
#include "supervisor.h"

#define WORKER_MANIFEST "counter.toml"
#define INITIAL_WORKERS 3

static bool sup_command(sup *s, tg_bytes msg) {
    if (tg_eq(msg, TG_STR("initialize"))) {
        for (int i = 0; i < INITIAL_WORKERS; i++) sup_spawn(s, TG_STR(WORKER_MANIFEST));
        return true;
    }
    if (tg_eq(msg, TG_STR("add_worker"))) {
        sup_spawn(s, TG_STR(WORKER_MANIFEST));
        return true;
    }
    return false;
}

static bool sup_query(sup *s, tg_bytes msg, tg_bytes *reply) {
    (void)s;
    if (!tg_eq(msg, TG_STR("status"))) return false;
    *reply = tg_fmt_u64(tg_list_children().len);
    return true;
}

static void sup_on_child_error(sup *s, tg_bytes child_id, tg_actor_error error) {
    (void)error;
    sup_restart(s, child_id);
}
