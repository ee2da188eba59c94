/*
 * hog: exhausts memory.  A host must cap it (a store memory limit).
 *
 * State: as given.
 *   handle-send              grows linear memory 16 pages (1 MiB) at a time,
 *                            touching every new page, without bound; when
 *                            memory.grow fails it traps, as an allocator's
 *                            out-of-memory abort would
 *   handle-request           "ping" -> reply "pong"; anything else grows as above
 *   channels                 opens accepted; messages grow as above; close no-op
 *
 * It logs once ("hog: growing memory until it runs out") before it starts.
 */
#include "theater_guest.h"

#define HOG_STEP_PAGES 16

__attribute__((noreturn)) static void grow_forever(void) {
    tg_log(TG_STR("hog: growing memory until it runs out"));
    for (;;) {
        size_t first = __builtin_wasm_memory_grow(0, HOG_STEP_PAGES);
        if (first == (size_t)-1) __builtin_trap(); /* out of memory */
        /* Write one byte to each new page: the memory is really used. */
        volatile uint8_t *page = (volatile uint8_t *)(first * TG_PAGE_SIZE);
        for (uint32_t i = 0; i < HOG_STEP_PAGES; i++) page[i * TG_PAGE_SIZE] = 1;
    }
}

static tg_result actor_init(tg_opt state) { return tg_ok(state); }

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    (void)state, (void)msg;
    grow_forever();
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("ping"))) return tg_ok_reply(state, tg_some(TG_STR("pong")));
    grow_forever();
}

static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id, (void)msg;
    return tg_ok_accept(state, true, TG_NONE);
}

static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)state, (void)channel_id, (void)msg;
    grow_forever();
}

static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id) {
    (void)channel_id;
    return tg_ok(state);
}
