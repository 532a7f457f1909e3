/*
 * events.h: importing webhook event logs (`suf import events FILE|DIR...`).
 *
 * A log is JSON Lines: each line is one webhook POST body exactly as Meta
 * sent it ({"object":"whatsapp_business_account","entry":[...]}).  The
 * receiver (or any other) may still be appending to it while suf reads.
 *
 * Invariants:
 *  - only complete lines are imported (up to the last newline); the byte
 *    offset and line count reached are kept per file (by its real path) in
 *    `event_files`, with its device, inode, size and the SHA-256 of its first
 *    min(4 KiB, offset) bytes; the next import goes on from the offset;
 *  - a file that shrank below the offset (truncated), or whose inode or head
 *    hash changed (rotated or replaced), is read again from the start; the
 *    events are deduplicated anyway;
 *  - each status (wamid + status + callback data) and each inbound message
 *    (its id) is stored once in `events` (INSERT OR IGNORE on the unique
 *    index events_identity, which holds the identity; no row repeats it):
 *    Meta redelivers for up to 7 days; each new one also enters `event_queue`, the events
 *    reconcile has yet to take;
 *  - a line that is not JSON, not a WhatsApp Business webhook, or longer
 *    than SUF_EVENTS_MAX_LINE goes to `rejects` with the file and line; lines
 *    are read once, so re-reading never duplicates a reject;
 *  - events this job does not use (other webhook fields, group events,
 *    other message types, other statuses) are counted and skipped;
 *  - template webhooks (message_template_status_update,
 *    template_category_update) go to `template_events` instead, once each
 *    (INSERT OR IGNORE on template_events_identity); a new one that is not
 *    older than the template's live state (templates.live_at) becomes it:
 *    a status event sets live_status (REINSTATED is APPROVED again;
 *    FLAGGED and UNARCHIVED change nothing: the catalog says what follows)
 *    and live_reason, a completed category change sets live_category; a
 *    category notice (correct_category) changes nothing yet and is logged
 *    as a warning naming when it takes effect;
 *  - lines are committed in batches of SUF_EVENTS_BATCH together with the
 *    file's new offset, so a kill neither loses nor double-counts a line;
 *  - memory stays flat whatever the file's size.
 */
#ifndef SUF_EVENTS_H
#define SUF_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/context.h"

#define SUF_EVENTS_MAX_LINE (4 * 1024 * 1024) /* a longer line is rejected */
#define SUF_EVENTS_BATCH 10000                /* lines per transaction */
#define SUF_EVENTS_HEAD 4096                  /* bytes of the head hash */

enum suf_event_kind {
    SUF_EVENT_STATUS,  /* value.statuses[]: what happened to a message we sent */
    SUF_EVENT_MESSAGE, /* value.messages[]: a message a customer sent us */
    /* field message_template_status_update: a template's review status */
    SUF_EVENT_TEMPLATE_STATUS,
    /* field template_category_update: a template's category changed, or
     * will (correct_category set: the 24-hour notice) */
    SUF_EVENT_TEMPLATE_CATEGORY,
};

/*
 * One event, as extracted from a webhook body.  Every string is borrowed
 * from the parsed JSON and valid only during the sink's callback; NULL when
 * absent.  (For the import's parsing threads the parser copies each
 * string, as it reads it, into an arena that travels with their batch of
 * lines: the events outlive the JSON with no list of fields to keep.)
 */
struct suf_event {
    enum suf_event_kind kind;
    const char *id;    /* status: the wamid it is about; message: its own id */
    int64_t ts;        /* unix seconds */
    /* statuses */
    const char *status;      /* sent, delivered, read, failed */
    const char *recipient;   /* recipient_id */
    const char *callback;    /* biz_opaque_callback_data */
    int64_t error_code;      /* errors[0].code, 0 when none */
    const char *error_title; /* errors[0].title */
    int pricing_billable;    /* 1, 0, or -1 when no pricing */
    const char *pricing_model;
    const char *pricing_type;
    const char *pricing_category;
    /* messages */
    const char *from;         /* the customer's wa_id */
    const char *context_id;   /* context.id: the wamid the message answers */
    const char *msg_type;     /* button, interactive, text */
    const char *payload;      /* button.payload, or button_reply/list_reply id */
    const char *text;         /* text.body, button.text, or the reply's title */
    const char *profile_name; /* the contacts entry's profile.name */
    /* template webhooks (their value has no timestamp: ts is entry.time) */
    const char *waba_id;      /* entry.id */
    const char *tpl_id;       /* message_template_id as text (Meta sends an integer) */
    const char *tpl_name;     /* message_template_name */
    const char *tpl_language; /* message_template_language, "en-US" made "en_US" */
    const char *tpl_event;    /* status: event (APPROVED, PAUSED, ...) */
    const char *tpl_reason;   /* status: reason; NULL when null */
    const char *tpl_category; /* status: message_template_category */
    const char *previous_category; /* category: the completed change's old one */
    const char *new_category; /* category: the new one; in a notice, the CURRENT one */
    const char *correct_category; /* category: a notice's coming category, else NULL */
    int64_t effective_at;     /* category: a notice's category_update_timestamp, else 0 */
    const char *detail;       /* status: other_info, rejection_info or disable_info, in words */
};

/* Where suf_events_parse_line() sends what it finds. */
struct suf_events_sink {
    /* One usable event; a non-zero status stops the parse and is returned. */
    int (*event)(void *ctx, const struct suf_event *ev);
    /* One event this job does not use; `why` is a short static word
     * ("field", "group", "message_type", "status", "malformed", ...). */
    void (*skip)(void *ctx, const char *why);
    void *ctx;
};

/*
 * Parses one line (without its newline) and feeds each status and inbound
 * message to `sink`.  Returns SUF_OK, the sink's status, or SUF_ERR_INPUT
 * with *why pointing at a static reason when the line is not JSON or not a
 * WhatsApp Business webhook (the caller rejects it).
 */
int suf_events_parse_line(const char *line, size_t len, const struct suf_events_sink *sink,
                          const char **why);

/*
 * A template language code as the catalog spells it, in `buf` ("en-US",
 * as template webhooks say it, becomes "en_US"): letters, '-' and '_', 2
 * to 15 of them.  Returns `buf`, or NULL when `s` is not such a code.
 */
const char *suf_events_language(const char *s, char *buf, size_t size);

/*
 * Imports one events log, or every regular file of a folder (sorted by
 * name, dotfiles skipped), incrementally as described above.  Counts go to
 * the run ("events.lines", "events.new", "events.duplicates",
 * "events.rejects", "events.skipped.<why>").  A file that cannot be read is
 * logged and makes the return SUF_ERR_NOINPUT after the others were tried;
 * database errors stop at once.
 */
int suf_import_events_path(struct suf_run *run, const char *path, struct suf_err *err);

#endif /* SUF_EVENTS_H */
