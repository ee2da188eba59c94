/*
 * packr_messenger: a packr-era actor that talks to other actors through
 * theater:simple/message-server-host (see include/packr_guest.h).  State:
 *
 *     messenger-state { sent: u32, replies: u32, errors: u32, received: u32,
 *                       channel: option<string> }
 *
 * Imports: theater:simple/runtime.log; theater:simple/message-server-host
 * register, send, request, open-channel, send-on-channel, close-channel.
 *
 *   actor.init        a messenger-state record is kept; any other state
 *                     (TH's default none, a manifest string) starts at
 *                     {sent: 0, replies: 0, errors: 0, received: 0, channel: none};
 *                     then register() (an err is logged as
 *                     "packr_messenger: register failed: <err>")
 *   handle-send(msg)
 *     "send:<actor-id>:<text>"  send(actor-id, text): ok -> sent += 1
 *     "open:<actor-id>:<text>"  open-channel(actor-id, text): ok(id) -> channel = some(id)
 *                               (replacing any earlier one)
 *     "chan:<text>"             send-on-channel(channel, text): ok -> sent += 1
 *     "close"                   close-channel(channel); channel = none (also on err)
 *     anything else             ignored
 *     Every host err adds 1 to errors and is logged as
 *     "packr_messenger: <function> failed: <err>"; "chan:" and "close" without
 *     an open channel add 1 to errors and log "packr_messenger: no channel".
 *     A send: or open: without the second ':' is ignored.
 *   handle-request(request-id, msg)
 *     "ask:<actor-id>:<text>"   request(actor-id, text) (blocking): ok(bytes) ->
 *                               replies += 1, reply those bytes; err(e) ->
 *                               errors += 1, reply "error: <e>"
 *     "stats"                   reply "sent=S replies=R errors=E received=C"
 *     anything else             reply the message itself (echo)
 *   handle-channel-open         accepted (channel-accept{accepted: true, message: none})
 *   handle-channel-message      received += 1
 *   handle-channel-close(id)    if id is our channel: channel = none
 *
 * Outside init, a state that is not a messenger-state record gives status
 * -1 "failed to convert state".
 */
#include "packr_guest.h"

typedef struct {
    uint32_t sent, replies, errors, received;
    bool has_channel;
    pg_str channel;
} messenger;

static const char *const MESSENGER_FIELDS[] = {"sent", "replies", "errors", "received", "channel"};

static bool messenger_load(pg_val v, messenger *s) {
    if (pg_kind(v) != PG_RECORD) return false;
    if (!pg_get_u32(pg_record_field(v, "sent"), &s->sent) ||
        !pg_get_u32(pg_record_field(v, "replies"), &s->replies) ||
        !pg_get_u32(pg_record_field(v, "errors"), &s->errors) ||
        !pg_get_u32(pg_record_field(v, "received"), &s->received))
        return false;
    pg_val ch = pg_record_field(v, "channel");
    if (pg_kind(ch) != PG_OPTION) return false;
    s->has_channel = pg_option_is_some(ch);
    s->channel = (pg_str){0, 0};
    return !s->has_channel || pg_get_string(pg_option_value(ch), &s->channel);
}

static uint32_t messenger_write(pg_w *w, const messenger *s) {
    uint32_t sent = pg_w_u32(w, s->sent);
    uint32_t replies = pg_w_u32(w, s->replies);
    uint32_t errors = pg_w_u32(w, s->errors);
    uint32_t received = pg_w_u32(w, s->received);
    uint32_t channel = s->has_channel ? pg_w_some(w, PG_T_STRING, pg_w_string(w, s->channel))
                                      : pg_w_none(w, PG_T_STRING);
    return PG_W_RECORD(w, "messenger-state", MESSENGER_FIELDS, sent, replies, errors, received,
                       channel);
}

static void messenger_failed(messenger *s, const char *function, pg_str err) {
    s->errors++;
    pg_sb b = pg_sb_new(64);
    pg_sb_cstr(&b, "packr_messenger: ");
    pg_sb_cstr(&b, function);
    pg_sb_cstr(&b, " failed: ");
    pg_sb_str(&b, err);
    pg_log(pg_sb_done(&b));
}

static void messenger_no_channel(messenger *s) {
    s->errors++;
    pg_log(PG_S("packr_messenger: no channel"));
}

PG_EXPORT("theater:simple/actor.init", 0, messenger_init) {
    messenger s = {0};
    if (!messenger_load(c->state, &s)) s = (messenger){0};
    pg_res r = pg_register();
    if (!r.ok) pg_log(pg_cat3(PG_S("packr_messenger: register failed: "), r.err, PG_S("")));
    return pg_ok_state(c, messenger_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-send", 1, messenger_send) {
    messenger s;
    pg_str msg, rest, target, text;
    if (!messenger_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_bytes(c->p[0], &msg)) return pg_fail(c, "failed to convert parameter");
    if (pg_strip_prefix(msg, PG_S("send:"), &rest) && pg_split(rest, ':', &target, &text)) {
        pg_res r = pg_send(target, text);
        if (r.ok) s.sent++;
        else messenger_failed(&s, "send", r.err);
    } else if (pg_strip_prefix(msg, PG_S("open:"), &rest) && pg_split(rest, ':', &target, &text)) {
        pg_res r = pg_open_channel(target, text);
        pg_str id;
        if (r.ok && pg_get_string(r.val, &id)) {
            s.has_channel = true;
            s.channel = id;
        } else {
            messenger_failed(&s, "open-channel", r.ok ? PG_S("not a channel id") : r.err);
        }
    } else if (pg_strip_prefix(msg, PG_S("chan:"), &text)) {
        if (!s.has_channel) {
            messenger_no_channel(&s);
        } else {
            pg_res r = pg_send_on_channel(s.channel, text);
            if (r.ok) s.sent++;
            else messenger_failed(&s, "send-on-channel", r.err);
        }
    } else if (pg_eq(msg, PG_S("close"))) {
        if (!s.has_channel) {
            messenger_no_channel(&s);
        } else {
            pg_res r = pg_close_channel(s.channel);
            if (!r.ok) messenger_failed(&s, "close-channel", r.err);
            s.has_channel = false;
        }
    }
    return pg_ok_state(c, messenger_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-request", 2, messenger_request) {
    messenger s;
    pg_str request_id, msg, rest, target, text, reply;
    if (!messenger_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &request_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    if (pg_strip_prefix(msg, PG_S("ask:"), &rest) && pg_split(rest, ':', &target, &text)) {
        pg_res r = pg_request(target, text);
        if (r.ok && pg_get_bytes(r.val, &reply)) {
            s.replies++;
        } else {
            pg_str err = r.ok ? PG_S("not bytes") : r.err;
            messenger_failed(&s, "request", err);
            reply = pg_cat3(PG_S("error: "), err, PG_S(""));
        }
    } else if (pg_eq(msg, PG_S("stats"))) {
        pg_sb b = pg_sb_new(64);
        pg_sb_cstr(&b, "sent=");
        pg_sb_u64(&b, s.sent);
        pg_sb_cstr(&b, " replies=");
        pg_sb_u64(&b, s.replies);
        pg_sb_cstr(&b, " errors=");
        pg_sb_u64(&b, s.errors);
        pg_sb_cstr(&b, " received=");
        pg_sb_u64(&b, s.received);
        reply = pg_sb_done(&b);
    } else {
        reply = msg;
    }
    return pg_ok_reply(c, messenger_write(&c->w, &s), true, reply);
}

PG_EXPORT("theater:simple/message-server-client.handle-channel-open", 2, messenger_channel_open) {
    messenger s;
    pg_str channel_id, msg;
    if (!messenger_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &channel_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    return pg_ok_accept(c, messenger_write(&c->w, &s), true);
}

PG_EXPORT("theater:simple/message-server-client.handle-channel-message", 2,
          messenger_channel_message) {
    messenger s;
    pg_str channel_id, msg;
    if (!messenger_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &channel_id) || !pg_get_bytes(c->p[1], &msg))
        return pg_fail(c, "failed to convert parameter");
    s.received++;
    return pg_ok_state(c, messenger_write(&c->w, &s));
}

PG_EXPORT("theater:simple/message-server-client.handle-channel-close", 1, messenger_channel_close) {
    messenger s;
    pg_str channel_id;
    if (!messenger_load(c->state, &s)) return pg_fail(c, "failed to convert state");
    if (!pg_get_string(c->p[0], &channel_id)) return pg_fail(c, "failed to convert parameter");
    if (s.has_channel && pg_eq(s.channel, channel_id)) s.has_channel = false;
    return pg_ok_state(c, messenger_write(&c->w, &s));
}
