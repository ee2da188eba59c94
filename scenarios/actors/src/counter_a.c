/*
 * counter_a: the counter built against the early (v0.2.x, "era A") WIT, where
 * init(state, params: tuple<string>) also receives the actor's own id.
 * Everything but init is counter.c; init additionally logs
 * "counter_a: init <id>".
 */
#define TG_ERA_A 1
#define COUNTER_NAME "counter_a"
#include "counter.c"

static tg_result actor_init(tg_opt state, tg_bytes actor_id) {
    tg_log2(TG_STR("counter_a: init "), actor_id);
    return counter_init(state);
}
