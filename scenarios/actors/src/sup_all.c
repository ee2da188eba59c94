/*
 * sup_all: an all-for-one supervisor.
 *
 * When one child fails, every child is restarted, as OTP's one_for_all:
 * handle-child-error(id, _) -> stop-child for every other id in "children",
 * last started first (each logged "sup_all: stopping <id>"), then
 * restart-child for each id in "children", in start order, the failed one
 * included (each logged "sup_all: restarting <id>"); restarts += the number
 * restarted.  A failed child that is not in "children" (not spawned through
 * this supervisor's state) is restarted last.
 * Everything else is in supervisor.h.
 */
#define SUP_NAME "sup_all"
#include "supervisor.h"

static void sup_on_child_error(sup *s, tg_bytes child_id, tg_actor_error error) {
    (void)error;
    for (uint32_t i = s->children.len; i-- > 0;)
        if (!tg_eq(s->children.items[i], child_id)) sup_stop(s->children.items[i]);
    for (uint32_t i = 0; i < s->children.len; i++) sup_restart(s, s->children.items[i]);
    if (tg_strings_index(s->children, child_id) < 0) sup_restart(s, child_id);
}
