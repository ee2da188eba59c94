/*
 * sup_perm: a one-for-one supervisor that gives up on permanent failures.
 *
 * handle-child-error(id, error): if error.data (Theater: the JSON of the
 * child's error event) contains the text "permanent", the child is not
 * restarted: log "sup_perm: not restarting <id>" and remove it from
 * "children".  Otherwise restart-child(id) (logged "sup_perm: restarting
 * <id>"), restarts += 1.  Everything else is in supervisor.h.
 */
#define SUP_NAME "sup_perm"
#include "supervisor.h"

static void sup_on_child_error(sup *s, tg_bytes child_id, tg_actor_error error) {
    if (error.data.some && tg_contains(error.data.val, TG_STR("permanent"))) {
        sup_log("not restarting ", child_id, "", SUP_NOTHING);
        tg_strings_remove(&s->children, child_id);
        return;
    }
    sup_restart(s, child_id);
}
