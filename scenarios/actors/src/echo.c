/*
 * echo: gives everything back.
 *
 * State: kept exactly as given (none stays none).
 *   handle-send              logs "echo: <payload>" (invalid UTF-8 becomes U+FFFD)
 *   handle-request           replies with the payload, byte for byte
 *   handle-channel-open      accepts, answering with the initial message
 *   handle-channel-message   sends the same bytes back on the same channel
 *   handle-channel-close     logs "echo: channel closed"
 */
#include "theater_guest.h"

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    tg_log2(TG_STR("echo: "), msg);
    return tg_ok(state);
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    return tg_ok_reply(state, tg_some(msg));
}

static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id;
    return tg_ok_accept(state, true, tg_some(msg));
}

static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    tg_call sent = tg_send_on_channel(channel_id, msg);
    /* A peer that went away is not the echo's failure: note it and go on. */
    if (!sent.ok) tg_log2(TG_STR("echo: send-on-channel failed: "), sent.err);
    return tg_ok(state);
}

static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id) {
    (void)channel_id;
    tg_log(TG_STR("echo: channel closed"));
    return tg_ok(state);
}
