/*
 * sup_wrong: a DELIBERATELY BROKEN one-for-one supervisor, a mutant for the
 * harness's own tests (its invariant checks and property tests must catch it).
 *
 * It restarts the wrong sibling: handle-child-error(id, _) -> stop-child,
 * then restart-child, on the first child in "children" that is not id
 * (logged "sup_wrong: stopping <that id>", "sup_wrong: restarting <that
 * id>"), restarts += 1; if there is no such child, nothing is restarted.
 * The failed child itself is never restarted.
 * Everything else (state, spawn:, requests, exits and stops) is in
 * supervisor.h, as for sup_one.
 */
#define SUP_NAME "sup_wrong"
#include "supervisor.h"

static void sup_on_child_error(sup *s, tg_bytes child_id, tg_actor_error error) {
    (void)error;
    for (uint32_t i = 0; i < s->children.len; i++) {
        if (!tg_eq(s->children.items[i], child_id)) {
            sup_stop(s->children.items[i]);
            sup_restart(s, s->children.items[i]);
            return;
        }
    }
}
