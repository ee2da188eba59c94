/*
 * pinger: talks to another actor through message-server-host.
 *
 * State: {"target":"<actor-id>","sent":N,"replies":M,"errors":E,"channel":"<id>","received":R}
 *   (target from init_state, default ""; channel: the channel the pinger
 *   opened, "" when none; the counters default to 0)
 *   handle-send      "send:<text>"    -> send(target, text); sent += 1
 *                    "request:<text>" -> request(target, text); on ok replies += 1
 *                                        and log "pinger: reply <reply>"; on err
 *                                        log "pinger: request failed: <err>"
 *                    "target:<id>"    -> target = id
 *                    "open:<text>"    -> open-channel(target, text); on ok
 *                                        channel = the new channel's id
 *                    "chan:<text>"    -> send-on-channel(channel, text) (even
 *                                        with channel "": the host's err counts)
 *                    "close"          -> close-channel(channel), then channel = ""
 *                                        whatever the outcome
 *                    anything else is ignored
 *                    A failed host call counts in "errors" and is logged as
 *                    "pinger: <send|request|open|channel send|close> failed: <err>";
 *                    none fails the pinger.
 *   handle-request   "stats" -> reply the state JSON; anything else "unknown"
 *   channels         opens accepted; a message: received += 1 and log
 *                    "pinger: channel message <text>" (on any channel); a
 *                    close of the pinger's own channel: channel = "" and log
 *                    "pinger: channel closed" (another channel's close is
 *                    only logged)
 */
#include "theater_guest.h"

typedef struct {
    tg_bytes target, channel;
    int64_t sent, replies, errors, received;
} pinger;

static pinger load(tg_opt state) {
    pinger p;
    if (!tg_json_str(state, "target", &p.target)) p.target = TG_STR("");
    p.sent = tg_json_int(state, "sent", 0);
    p.replies = tg_json_int(state, "replies", 0);
    p.errors = tg_json_int(state, "errors", 0);
    if (!tg_json_str(state, "channel", &p.channel)) p.channel = TG_STR("");
    p.received = tg_json_int(state, "received", 0);
    return p;
}

static tg_bytes save(pinger p) {
    tg_json o = tg_json_begin();
    tg_json_put_str(&o, "target", p.target);
    tg_json_put_int(&o, "sent", p.sent);
    tg_json_put_int(&o, "replies", p.replies);
    tg_json_put_int(&o, "errors", p.errors);
    tg_json_put_str(&o, "channel", p.channel);
    tg_json_put_int(&o, "received", p.received);
    return tg_json_end(&o);
}

static tg_result actor_init(tg_opt state) { return tg_ok(tg_some(save(load(state)))); }

/* A failed host call: errors += 1 and log "pinger: <what> failed: <err>". */
static void failed(pinger *p, const char *what, tg_call c) {
    tg_buf b = tg_buf_new(64);
    p->errors++;
    tg_buf_puts(&b, "pinger: ");
    tg_buf_puts(&b, what);
    tg_buf_puts(&b, " failed: ");
    tg_buf_put_bytes(&b, c.err);
    tg_log(tg_buf_bytes(&b));
}

static tg_result actor_handle_send(tg_opt state, tg_bytes msg) {
    pinger p = load(state);
    tg_bytes arg;
    if (tg_strip_prefix(msg, TG_STR("send:"), &arg)) {
        tg_call c = tg_send(p.target, arg);
        if (c.ok) p.sent++;
        else failed(&p, "send", c);
    } else if (tg_strip_prefix(msg, TG_STR("request:"), &arg)) {
        tg_call c = tg_request(p.target, arg);
        if (c.ok) {
            p.replies++;
            tg_log2(TG_STR("pinger: reply "), c.value);
        } else {
            failed(&p, "request", c);
        }
    } else if (tg_strip_prefix(msg, TG_STR("target:"), &arg)) {
        p.target = tg_utf8_lossy(arg); /* actor ids are strings */
    } else if (tg_strip_prefix(msg, TG_STR("open:"), &arg)) {
        tg_call c = tg_open_channel(p.target, arg);
        if (c.ok) p.channel = c.value;
        else failed(&p, "open", c);
    } else if (tg_strip_prefix(msg, TG_STR("chan:"), &arg)) {
        tg_call c = tg_send_on_channel(p.channel, arg);
        if (!c.ok) failed(&p, "channel send", c);
    } else if (tg_eq(msg, TG_STR("close"))) {
        tg_call c = tg_close_channel(p.channel);
        if (!c.ok) failed(&p, "close", c);
        p.channel = TG_STR("");
    } else {
        return tg_ok(state);
    }
    return tg_ok(tg_some(save(p)));
}

static tg_result actor_handle_request(tg_opt state, tg_bytes request_id, tg_bytes msg) {
    (void)request_id;
    if (tg_eq(msg, TG_STR("stats"))) return tg_ok_reply(state, tg_some(save(load(state))));
    return tg_ok_reply(state, tg_some(TG_STR("unknown")));
}

static tg_result actor_handle_channel_open(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id, (void)msg;
    return tg_ok_accept(state, true, TG_NONE);
}

static tg_result actor_handle_channel_message(tg_opt state, tg_bytes channel_id, tg_bytes msg) {
    (void)channel_id;
    pinger p = load(state);
    p.received++;
    tg_log2(TG_STR("pinger: channel message "), msg);
    return tg_ok(tg_some(save(p)));
}

static tg_result actor_handle_channel_close(tg_opt state, tg_bytes channel_id) {
    pinger p = load(state);
    tg_log(TG_STR("pinger: channel closed"));
    if (!tg_eq(channel_id, p.channel)) return tg_ok(state);
    p.channel = TG_STR("");
    return tg_ok(tg_some(save(p)));
}
