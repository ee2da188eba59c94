/*
 * sup_one: a one-for-one supervisor.
 *
 * A failed child is restarted alone: handle-child-error(id, _) ->
 * restart-child(id) (logged "sup_one: restarting <id>"), restarts += 1.
 * Everything else (state, spawn:, requests, exits and stops) is in
 * supervisor.h.
 */
#define SUP_NAME "sup_one"
#include "supervisor.h"

static void sup_on_child_error(sup *s, tg_bytes child_id, tg_actor_error error) {
    (void)error;
    sup_restart(s, child_id);
}
