/*
 * looper: hangs.  A host must stop it (fuel, epoch interruption).
 *
 * State: as given (none -> {}).
 *   handle-send              loops forever, whatever the payload
 *   handle-request           "ping" -> reply "pong"; anything else loops forever
 *   channels                 opens accepted; messages loop forever; close no-op
 *
 * It logs once ("looper: looping forever") before it starts spinning.
 */
#include "theater_guest.h"

__attribute__((noreturn)) static void loop_forever(void) {
    tg_log(TG_STR("looper: looping forever"));
    /* Each iteration reads and writes memory, so the loop has side effects
     * and the compiler may not delete it or assume it terminates. */
    volatile uint32_t spins = 0;
    for (;;) spins = spins + 1;
}

static tg_result actor_init(tg_opt state) {
    return tg_ok(tg_some(tg_opt_or(state, TG_STR("{}"))));
}

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    (void)state, (void)msg;
    loop_forever();
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("ping"))) return tg_ok_reply(state, tg_some(TG_STR("pong")));
    loop_forever();
}

static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id, (void)msg;
    return tg_ok_accept(state, true, TG_NONE);
}

static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)state, (void)channel_id, (void)msg;
    loop_forever();
}

static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id) {
    (void)channel_id;
    return tg_ok(state);
}
