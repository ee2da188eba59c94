/*
 * keeper: holds requests open and answers them later; can stop itself.
 *
 * State: kept exactly as given (none stays none): it needs none.
 *   handle-request   "count" -> reply at once: the number of OTHER outstanding
 *                               requests (list-outstanding-requests, not
 *                               counting this request's own id), in decimal
 *                    "chain" -> reply at once: the number of events
 *                               runtime.get-chain() returns, in decimal
 *                    anything else -> reply none: the request stays
 *                               outstanding until "answer:" or "cancel"
 *   handle-send      "answer:<text>"   -> respond-to-request(id, text) for every
 *                                         id of list-outstanding-requests, in
 *                                         the host's order
 *                    "cancel"          -> cancel-request(id) for every such id
 *                    "shutdown:<text>" -> runtime.shutdown(some(text)): the
 *                                         parent gets handle-child-exit(text)
 *                    anything else is ignored
 *                    An err from the host is logged as
 *                    "keeper: <function> failed: <err>" and the keeper carries
 *                    on (the next ids are still answered).
 *   channels         opens accepted (no message); messages ignored; close no-op
 */
#include "theater_guest.h"

static void log_failure(tg_call c, const char *function) {
    if (c.ok) return;
    tg_buf b = tg_buf_new(64);
    tg_buf_puts(&b, "keeper: ");
    tg_buf_puts(&b, function);
    tg_buf_puts(&b, " failed: ");
    tg_buf_put_bytes(&b, c.err);
    tg_log(tg_buf_bytes(&b));
}

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    tg_bytes arg;
    if (tg_strip_prefix(msg, TG_STR("answer:"), &arg)) {
        tg_strings ids = tg_list_outstanding_requests();
        for (uint32_t i = 0; i < ids.len; i++)
            log_failure(tg_respond_to_request(ids.items[i], arg), "respond-to-request");
    } else if (tg_eq(msg, TG_STR("cancel"))) {
        tg_strings ids = tg_list_outstanding_requests();
        for (uint32_t i = 0; i < ids.len; i++)
            log_failure(tg_cancel_request(ids.items[i]), "cancel-request");
    } else if (tg_strip_prefix(msg, TG_STR("shutdown:"), &arg)) {
        log_failure(tg_shutdown(tg_some(arg)), "shutdown");
    }
    return tg_ok(state);
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    if (tg_eq(msg, TG_STR("count"))) {
        tg_strings ids = tg_list_outstanding_requests();
        uint32_t others = ids.len - (tg_strings_index(ids, request_id) >= 0);
        return tg_ok_reply(state, tg_some(tg_fmt_u64(others)));
    }
    if (tg_eq(msg, TG_STR("chain")))
        return tg_ok_reply(state, tg_some(tg_fmt_u64(tg_get_chain().len)));
    return tg_ok_reply(state, TG_NONE); /* deferred: answered by "answer:" */
}

TG_IGNORE_CHANNELS
