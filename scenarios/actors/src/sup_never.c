/*
 * sup_never: a DELIBERATELY BROKEN supervisor that never restarts, a mutant
 * for the harness's own tests (its invariant checks and property tests must
 * catch it).
 *
 * handle-child-error(id, _) only logs "sup_never: ignoring failure of <id>":
 * no restart-child call, and the child stays in "children".
 * Everything else (state, spawn:, requests, exits and stops) is in
 * supervisor.h, as for sup_one.
 */
#define SUP_NAME "sup_never"
#include "supervisor.h"

static void sup_on_child_error(sup *s, tg_bytes child_id, tg_actor_error error) {
    (void)s, (void)error;
    sup_log("ignoring failure of ", child_id, "", SUP_NOTHING);
}
