/*
 * ballast: an actor with 1 MiB of initialized data, as big runtimes compiled to wasm
 * have (componentize-py's Python carries about 11 MB of data segments). Instantiating
 * it copies that data into its linear memory: it shows what that costs (wall time,
 * resident memory, and fuel, which wasmtime charges per byte copied) and that the
 * harness's per-call fuel budget does not cover it.
 *
 * State: kept exactly as given.
 *   handle-send              nothing
 *   handle-request           replies with as many ballast bytes as the request is long
 *                            (at most 16), so the data stays referenced
 *   channels                 ignored (TG_IGNORE_CHANNELS)
 */
#include "theater_guest.h"

#define BALLAST_SIZE (1u << 20)

static uint8_t BALLAST[BALLAST_SIZE] = {[0 ... BALLAST_SIZE - 1] = 0x5a};

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    (void)msg;
    return tg_ok(state);
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    uint32_t n = msg.len < 16 ? msg.len : 16;
    return tg_ok_reply(state, tg_some((tg_bytes){BALLAST + (BALLAST_SIZE - 16), n}));
}

TG_IGNORE_CHANNELS
