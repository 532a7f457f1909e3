/*
 * events.c: reading webhook event logs into `events`, and template
 * webhooks into `template_events` and the template's live state (see
 * events.h).
 *
 * Two halves: suf_events_parse_line() turns one webhook body into events
 * (jansson, no I/O, so it can be tested and fuzzed alone), and the importer
 * reads a log from its remembered offset in fixed-size blocks, cuts complete
 * lines, has worker threads parse them, and stores the events in line order
 * in batched transactions that also advance the offset.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/handoff.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "import/events.h"
#include "import/input.h"
#include "store/store.h"
#include "base/banned.h"

#define READ_BLOCK (1024 * 1024)
#define MAX_REJECT_WARNINGS 5
#define REJECT_RAW 65536 /* bytes of an over-long line kept for its reject */
/* Page cache while importing.  Bigger is slower: every cached page is a
 * malloc'd, freshly faulted block, and the file's pages are in the OS cache
 * anyway; 8 MiB holds the dedupe index's interior pages, so a random insert
 * reads at most its leaf (measured at 200,000 lines: 64 MiB cost 15-20% more
 * CPU and 3.5x the peak RSS). */
#define CACHE_KIB 8192

/* --- parsing one line ----------------------------------------------------- */

/*
 * Strings that outlive the JSON they were read from: blocks that never
 * move, so a string's address holds until the arena is reset.  The
 * import's workers parse into one per unit of lines (see "parsing on
 * worker threads"), and the events they hand to the main thread point
 * into it.
 */
#define ARENA_BLOCK (64 * 1024)

struct strblock {
    struct strblock *next;
    size_t size, used;
    char data[];
};

struct strarena {
    struct strblock *head, *cur; /* cur: the block strings go into now */
};

/* A copy of `s` (n bytes and a NUL) in the arena. */
static const char *arena_dup(struct strarena *a, const char *s, size_t n)
{
    struct strblock *b = a->cur, **tail;
    char *d;

    while (b && b->size - b->used <= n)
        b = b->next;
    if (!b) { /* a new block at the end (an over-sized one for a long string) */
        size_t size = n < ARENA_BLOCK ? ARENA_BLOCK : n + 1;
        b = suf_xmalloc(sizeof(*b) + size);
        b->next = NULL;
        b->size = size;
        b->used = 0;
        for (tail = &a->head; *tail; tail = &(*tail)->next)
            ;
        *tail = b;
    }
    a->cur = b;
    d = b->data + b->used;
    memcpy(d, s, n);
    d[n] = '\0';
    b->used += n + 1;
    return d;
}

/* Forgets every string; keeps the blocks of the usual size for the next
 * ones and frees the over-sized. */
static void arena_reset(struct strarena *a)
{
    struct strblock **link = &a->head;

    while (*link) {
        struct strblock *b = *link;
        if (b->size > ARENA_BLOCK) {
            *link = b->next;
            free(b);
        } else {
            b->used = 0;
            link = &b->next;
        }
    }
    a->cur = a->head;
}

static void arena_release(struct strarena *a)
{
    while (a->head) {
        struct strblock *b = a->head;
        a->head = b->next;
        free(b);
    }
    a->cur = NULL;
}

/* One parse: where its findings go, and where the strings live. */
struct parse {
    const struct suf_events_sink *sink;
    struct strarena *keep; /* NULL: borrowed from the JSON, valid during the parse */
};

/*
 * Every string the parser reads comes through here: with an arena, it is
 * copied there as it is read, so the events hold no pointer into the JSON
 * and a new field of struct suf_event needs nothing but its line here.
 */
static const char *jstr(const struct parse *p, const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);

    return s && p->keep ? arena_dup(p->keep, s, json_string_length(v)) : s;
}

static void skip(const struct parse *p, const char *why)
{
    p->sink->skip(p->sink->ctx, why);
}

/* Meta sends timestamps as strings of unix seconds; accept numbers too.
 * Like every input time, it must fall in [SUF_TIME_MIN, SUF_TIME_MAX):
 * milliseconds or a year 5138 would otherwise move windows by centuries. */
static bool jtime(const json_t *o, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(o, key);

    if (json_is_integer(v))
        *out = json_integer_value(v);
    else if (!json_is_string(v) || suf_parse_i64(json_string_value(v), out))
        return false;
    return *out >= SUF_TIME_MIN && *out < SUF_TIME_MAX;
}

static void parse_pricing(const struct parse *p, const json_t *pricing,
                          struct suf_event *ev)
{
    const json_t *billable;

    ev->pricing_billable = -1;
    if (!json_is_object(pricing))
        return;
    billable = json_object_get(pricing, "billable");
    if (json_is_boolean(billable))
        ev->pricing_billable = json_is_true(billable) ? 1 : 0;
    ev->pricing_model = jstr(p, pricing, "pricing_model");
    ev->pricing_type = jstr(p, pricing, "type");
    ev->pricing_category = jstr(p, pricing, "category");
}

static int parse_status(const struct parse *p, const json_t *st)
{
    struct suf_event ev;
    const json_t *err0 = json_array_get(json_object_get(st, "errors"), 0);
    const char *status;

    memset(&ev, 0, sizeof(ev));
    ev.kind = SUF_EVENT_STATUS;
    if (json_object_get(st, "group_id")) {
        skip(p, "group");
        return SUF_OK;
    }
    ev.id = jstr(p, st, "id");
    status = jstr(p, st, "status");
    if (!ev.id || !*ev.id || !status || !jtime(st, "timestamp", &ev.ts)) {
        skip(p, "malformed");
        return SUF_OK;
    }
    if (strcmp(status, "sent") && strcmp(status, "delivered") && strcmp(status, "read") &&
        strcmp(status, "failed")) {
        skip(p, "status");
        return SUF_OK;
    }
    ev.status = status;
    ev.recipient = jstr(p, st, "recipient_id");
    ev.callback = jstr(p, st, "biz_opaque_callback_data");
    if (json_is_object(err0)) {
        ev.error_code = json_integer_value(json_object_get(err0, "code"));
        ev.error_title = jstr(p, err0, "title");
    }
    parse_pricing(p, json_object_get(st, "pricing"), &ev);
    return p->sink->event(p->sink->ctx, &ev);
}

static const char *profile_name(const struct parse *p, const json_t *contacts,
                                const char *from)
{
    size_t i;
    const json_t *c;

    json_array_foreach(contacts, i, c) {
        const char *wa_id = jstr(p, c, "wa_id");
        if (!wa_id || !from || !strcmp(wa_id, from))
            return jstr(p, json_object_get(c, "profile"), "name");
    }
    return NULL;
}

/* Fills the type-specific fields; false for a type this job does not use. */
static bool parse_message_body(const struct parse *p, const json_t *m,
                               struct suf_event *ev)
{
    if (!strcmp(ev->msg_type, "button")) {
        const json_t *b = json_object_get(m, "button");
        ev->payload = jstr(p, b, "payload");
        ev->text = jstr(p, b, "text");
        return ev->payload || ev->text;
    }
    if (!strcmp(ev->msg_type, "interactive")) {
        const json_t *in = json_object_get(m, "interactive");
        const json_t *reply = json_object_get(in, "button_reply");
        if (!reply)
            reply = json_object_get(in, "list_reply");
        ev->payload = jstr(p, reply, "id");
        ev->text = jstr(p, reply, "title");
        return ev->payload != NULL;
    }
    if (!strcmp(ev->msg_type, "text")) {
        ev->text = jstr(p, json_object_get(m, "text"), "body");
        return ev->text != NULL;
    }
    return false;
}

static int parse_message(const struct parse *p, const json_t *m, const json_t *contacts)
{
    struct suf_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = SUF_EVENT_MESSAGE;
    ev.pricing_billable = -1;
    if (json_object_get(m, "group_id")) {
        skip(p, "group");
        return SUF_OK;
    }
    ev.id = jstr(p, m, "id");
    ev.from = jstr(p, m, "from");
    ev.msg_type = jstr(p, m, "type");
    if (!ev.id || !*ev.id || !ev.from || !ev.msg_type || !jtime(m, "timestamp", &ev.ts)) {
        skip(p, "malformed");
        return SUF_OK;
    }
    if (!parse_message_body(p, m, &ev)) {
        skip(p, "message_type");
        return SUF_OK;
    }
    ev.context_id = jstr(p, json_object_get(m, "context"), "id");
    ev.profile_name = profile_name(
        p, json_object_get(m, "contacts") ? json_object_get(m, "contacts") : contacts,
        ev.from);
    return p->sink->event(p->sink->ctx, &ev);
}

static int parse_value(const struct parse *p, const json_t *value)
{
    const json_t *statuses = json_object_get(value, "statuses");
    const json_t *messages = json_object_get(value, "messages");
    const json_t *contacts = json_object_get(value, "contacts");
    const json_t *x;
    size_t i;
    int rc;

    if (json_object_get(value, "errors"))
        skip(p, "errors");
    if (!json_is_array(statuses) && !json_is_array(messages)) {
        skip(p, "no_events");
        return SUF_OK;
    }
    json_array_foreach(statuses, i, x) {
        if ((rc = parse_status(p, x)))
            return rc;
    }
    json_array_foreach(messages, i, x) {
        if ((rc = parse_message(p, x, contacts)))
            return rc;
    }
    return SUF_OK;
}

/* A string the parse made (not read from the JSON): copied into the
 * arena when there is one, else `buf` itself, valid during the parse. */
static const char *made(const struct parse *p, const char *buf)
{
    return p->keep ? arena_dup(p->keep, buf, strlen(buf)) : buf;
}

/* message_template_id: an integer in Meta's webhooks, a string in the
 * catalog; text either way, as the catalog keeps it. */
static const char *template_id(const struct parse *p, const json_t *value, char *buf,
                               size_t size)
{
    const json_t *v = json_object_get(value, "message_template_id");

    if (json_is_integer(v) && json_integer_value(v) > 0) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return made(p, buf);
    }
    return json_is_string(v) && json_string_length(v) ? jstr(p, value, "message_template_id")
                                                      : NULL;
}

const char *suf_events_language(const char *s, char *buf, size_t size)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 2 || n >= size || n > 15)
        return NULL;
    for (size_t i = 0; i <= n; i++) {
        char c = s[i];
        if (c && c != '-' && c != '_' && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return NULL;
        buf[i] = c == '-' ? '_' : c;
    }
    return buf;
}

/* message_template_language as the catalog spells it: the webhook says
 * "en-US" where the catalog says "en_US". */
static const char *template_language(const struct parse *p, const json_t *value, char *buf,
                                     size_t size)
{
    const char *s = json_string_value(json_object_get(value, "message_template_language"));

    return suf_events_language(s, buf, size) ? made(p, buf) : NULL;
}

/* Why a status event says what it says, in words: the pause (other_info),
 * the rejection's detail, or the day it was disabled; NULL when none. */
static const char *status_detail(const struct parse *p, const json_t *value, char *buf,
                                 size_t size)
{
    const json_t *other = json_object_get(value, "other_info");
    const json_t *rej = json_object_get(value, "rejection_info");
    const json_t *dis = json_object_get(value, "disable_info");
    const char *a = NULL, *b = NULL;
    int64_t when;

    if (json_is_object(other)) {
        a = json_string_value(json_object_get(other, "title"));
        b = json_string_value(json_object_get(other, "description"));
    } else if (json_is_object(rej)) {
        a = json_string_value(json_object_get(rej, "reason"));
        b = json_string_value(json_object_get(rej, "recommendation"));
    } else if (json_is_object(dis) && jtime(dis, "disable_date", &when)) {
        char t[40];
        snprintf(buf, size, "disabled on %s", suf_time_format(when, t, sizeof(t)));
        return made(p, buf);
    }
    if (!a && !b)
        return NULL;
    snprintf(buf, size, "%s%s%s", a ? a : "", a && b ? ": " : "", b ? b : "");
    return made(p, buf);
}

/* A message_template_status_update or template_category_update value. */
static int parse_template(const struct parse *p, const json_t *entry, const json_t *value,
                          enum suf_event_kind kind)
{
    struct suf_event ev;
    char idbuf[32], langbuf[16], detail[512];

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.pricing_billable = -1;
    ev.waba_id = jstr(p, entry, "id");
    ev.tpl_id = template_id(p, value, idbuf, sizeof(idbuf));
    ev.tpl_name = jstr(p, value, "message_template_name");
    ev.tpl_language = template_language(p, value, langbuf, sizeof(langbuf));
    if (kind == SUF_EVENT_TEMPLATE_STATUS) {
        ev.tpl_event = jstr(p, value, "event");
        ev.tpl_reason = jstr(p, value, "reason"); /* null when scheduled for deletion */
        ev.tpl_category = jstr(p, value, "message_template_category");
        ev.detail = status_detail(p, value, detail, sizeof(detail));
    } else {
        ev.previous_category = jstr(p, value, "previous_category");
        ev.new_category = jstr(p, value, "new_category");
        ev.correct_category = jstr(p, value, "correct_category");
        if (ev.correct_category && !jtime(value, "category_update_timestamp", &ev.effective_at))
            ev.effective_at = 0;
    }
    if (!ev.tpl_name || !*ev.tpl_name || !ev.tpl_language || !jtime(entry, "time", &ev.ts) ||
        (kind == SUF_EVENT_TEMPLATE_STATUS ? !ev.tpl_event || !*ev.tpl_event
                                           : !ev.new_category || !*ev.new_category)) {
        skip(p, "malformed");
        return SUF_OK;
    }
    return p->sink->event(p->sink->ctx, &ev);
}

static int parse_entry(const struct parse *p, const json_t *entry)
{
    const json_t *change;
    size_t i;
    int rc;

    json_array_foreach(json_object_get(entry, "changes"), i, change) {
        const char *field = json_string_value(json_object_get(change, "field"));
        const json_t *value = json_object_get(change, "value");

        if (!field || !json_is_object(value))
            rc = (skip(p, "field"), SUF_OK);
        else if (!strcmp(field, "messages"))
            rc = parse_value(p, value);
        else if (!strcmp(field, "message_template_status_update"))
            rc = parse_template(p, entry, value, SUF_EVENT_TEMPLATE_STATUS);
        else if (!strcmp(field, "template_category_update"))
            rc = parse_template(p, entry, value, SUF_EVENT_TEMPLATE_CATEGORY);
        else
            rc = (skip(p, "field"), SUF_OK);
        if (rc)
            return rc;
    }
    return SUF_OK;
}

/* Parses one line as suf_events_parse_line() does; with `keep`, every
 * string the sink is given lives in that arena, not in the JSON. */
static int parse_line(const char *line, size_t len, const struct suf_events_sink *sink,
                      const char **why, struct strarena *keep)
{
    const struct parse p = {sink, keep};
    json_error_t jerr;
    json_t *root = json_loadb(line, len, 0, &jerr);
    const json_t *entries, *entry;
    const char *object;
    size_t i;
    int rc = SUF_OK;

    if (!root) {
        *why = "not JSON";
        return SUF_ERR_INPUT;
    }
    object = jstr(&p, root, "object");
    entries = json_object_get(root, "entry");
    if (!object || strcmp(object, "whatsapp_business_account") || !json_is_array(entries)) {
        *why = "not a WhatsApp Business webhook (object, entry)";
        json_decref(root);
        return SUF_ERR_INPUT;
    }
    json_array_foreach(entries, i, entry) {
        if ((rc = parse_entry(&p, entry)))
            break;
    }
    json_decref(root);
    return rc;
}

int suf_events_parse_line(const char *line, size_t len, const struct suf_events_sink *sink,
                          const char **why)
{
    return parse_line(line, len, sink, why, NULL);
}

/* --- importing a file ------------------------------------------------------ */

/* One log being imported. */
struct evfile {
    struct suf_run *run;
    const char *path; /* as given, for messages */
    char *key;        /* its real path: the event_files key */
    int fd;
    struct stat sb;
    int64_t offset;        /* start of the next unread line */
    int64_t lines;         /* lines before offset */
    char head[SUF_SHA256_HEX]; /* hash of the first min(HEAD, offset) bytes */
    int64_t head_len;      /* how many bytes `head` covers */
    int64_t cur_line;      /* the line being parsed */
    sqlite3_stmt *ins;     /* the event */
    sqlite3_stmt *enqueue; /* and its place in reconcile's queue */
    sqlite3_stmt *tins;    /* a template event */
    sqlite3_stmt *tlive;   /* and the template's live state */
    /* this import's tallies */
    int64_t new_lines, events, dups, rejects, warned;
    bool stopped; /* a stop was asked for: the lines after `offset` stay unread */
};

static int fail_db(struct evfile *ef, struct suf_err *err, const char *what)
{
    return suf_store_fail(ef->run->store, err, what);
}

/* Duplicates are ignored by the unique index events_identity (store.c). */
static const char insert_sql[] =
    "INSERT OR IGNORE INTO events (kind, wamid, status, ts, recipient, callback, "
    "error_code, error_title, pricing_billable, pricing_model, pricing_type, pricing_category, "
    "from_phone, context_id, msg_type, payload, text, profile_name, line) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19)";

/* A new event joins the queue of those reconcile has yet to take. */
static const char enqueue_sql[] = "INSERT INTO event_queue (ts, id) VALUES (?1, ?2)";

/* Template webhooks: their history, deduplicated by the unique index
 * template_events_identity (store.c). */
static const char template_insert_sql[] =
    "INSERT OR IGNORE INTO template_events (kind, waba_id, meta_id, name, language, event, "
    "reason, category, previous_category, new_category, correct_category, effective_at, "
    "detail, ts, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    "?15)";

/* And the template's live state, unless it holds newer word (by time: a
 * webhook redelivered late, or read from an old log, changes nothing). */
static const char template_live_sql[] =
    "UPDATE templates SET live_status = coalesce(?4, live_status),"
    " live_reason = CASE WHEN ?4 IS NULL THEN live_reason ELSE ?5 END,"
    " live_category = coalesce(?6, live_category), live_at = ?7"
    " WHERE (meta_id = ?1 OR (name = ?2 AND language = ?3))"
    " AND (live_at IS NULL OR live_at <= ?7)";

/* The live status a status event sets, or NULL when it sets none:
 * REINSTATED is approved again; FLAGGED (quality fell) and UNARCHIVED (back
 * to a status the event does not name) leave it to the catalog. */
static const char *live_status_of(const char *event)
{
    if (!strcmp(event, "REINSTATED"))
        return "APPROVED";
    if (!strcmp(event, "FLAGGED") || !strcmp(event, "UNARCHIVED"))
        return NULL;
    return event;
}

/* Applies a new template event to the template's live state; a category
 * notice is only told. */
static int apply_template_event(struct evfile *ef, const struct suf_event *ev)
{
    sqlite3_stmt *s = ef->tlive;
    const char *status = NULL, *reason = NULL, *category = NULL;
    char t[40];
    int rc;

    if (ev->kind == SUF_EVENT_TEMPLATE_STATUS) {
        status = live_status_of(ev->tpl_event);
        reason = ev->tpl_reason && strcmp(ev->tpl_reason, "NONE") ? ev->tpl_reason : ev->detail;
        category = ev->tpl_category;
    } else if (ev->correct_category) {
        suf_warn("template '%s' (%s): Meta will change its category from %s to %s at %s",
                 ev->tpl_name, ev->tpl_language, ev->new_category, ev->correct_category,
                 ev->effective_at ? suf_time_format(ev->effective_at, t, sizeof(t))
                                  : "a time it did not say");
        return SUF_OK;
    } else {
        category = ev->new_category;
    }
    if (!status && !category)
        return SUF_OK;
    suf_bind_text_static(s, 1, ev->tpl_id);
    suf_bind_text_static(s, 2, ev->tpl_name);
    suf_bind_text_static(s, 3, ev->tpl_language);
    suf_bind_text_static(s, 4, status);
    suf_bind_text_static(s, 5, reason);
    suf_bind_text_static(s, 6, category);
    sqlite3_bind_int64(s, 7, ev->ts);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return SUF_ERR_DB;
    if (!sqlite3_changes(ef->run->store->db))
        return SUF_OK;
    suf_time_format(ev->ts, t, sizeof(t));
    if (status)
        suf_info("template '%s' (%s) is %s as of %s%s%s%s", ev->tpl_name, ev->tpl_language,
                 status, t, reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    else
        suf_info("template '%s' (%s) is in category %s as of %s", ev->tpl_name,
                 ev->tpl_language, category, t);
    suf_run_count(ef->run, "events.template_applied", 1);
    return SUF_OK;
}

/* Runs the bound INSERT OR IGNORE `s` and counts its event as new or a
 * duplicate; *is_new says which. */
static int insert_new(struct evfile *ef, sqlite3_stmt *s, bool *is_new)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    *is_new = false;
    if (rc != SQLITE_DONE)
        return SUF_ERR_DB;
    if (!sqlite3_changes(ef->run->store->db)) {
        ef->dups++;
        return SUF_OK;
    }
    ef->events++;
    *is_new = true;
    return SUF_OK;
}

static int store_template_event(struct evfile *ef, const struct suf_event *ev)
{
    sqlite3_stmt *s = ef->tins;
    bool is_new;
    int rc;

    suf_bind_text_static(s, 1, ev->kind == SUF_EVENT_TEMPLATE_STATUS ? "status" : "category");
    suf_bind_text_static(s, 2, ev->waba_id);
    suf_bind_text_static(s, 3, ev->tpl_id);
    suf_bind_text_static(s, 4, ev->tpl_name);
    suf_bind_text_static(s, 5, ev->tpl_language);
    suf_bind_text_static(s, 6, ev->tpl_event);
    suf_bind_text_static(s, 7, ev->tpl_reason);
    suf_bind_text_static(s, 8, ev->tpl_category);
    suf_bind_text_static(s, 9, ev->previous_category);
    suf_bind_text_static(s, 10, ev->new_category);
    suf_bind_text_static(s, 11, ev->correct_category);
    suf_bind_int64_or_null(s, 12, ev->effective_at, ev->effective_at == 0);
    suf_bind_text_static(s, 13, ev->detail);
    sqlite3_bind_int64(s, 14, ev->ts);
    sqlite3_bind_int64(s, 15, ef->cur_line);
    if ((rc = insert_new(ef, s, &is_new)) || !is_new)
        return rc;
    suf_run_count(ef->run, "events.template_events", 1);
    return apply_template_event(ef, ev);
}

static int store_event(void *ctx, const struct suf_event *ev)
{
    struct evfile *ef = ctx;
    sqlite3_stmt *s = ef->ins;
    bool is_new;
    int rc;

    if (ev->kind == SUF_EVENT_TEMPLATE_STATUS || ev->kind == SUF_EVENT_TEMPLATE_CATEGORY)
        return store_template_event(ef, ev);
    suf_bind_text_static(s, 1, ev->kind == SUF_EVENT_STATUS ? "status" : "message");
    suf_bind_text_static(s, 2, ev->id);
    suf_bind_text_static(s, 3, ev->status);
    sqlite3_bind_int64(s, 4, ev->ts);
    suf_bind_text_static(s, 5, ev->recipient);
    suf_bind_text_static(s, 6, ev->callback);
    suf_bind_int64_or_null(s, 7, ev->error_code, ev->error_code == 0);
    suf_bind_text_static(s, 8, ev->error_title);
    suf_bind_int64_or_null(s, 9, ev->pricing_billable, ev->pricing_billable < 0);
    suf_bind_text_static(s, 10, ev->pricing_model);
    suf_bind_text_static(s, 11, ev->pricing_type);
    suf_bind_text_static(s, 12, ev->pricing_category);
    suf_bind_text_static(s, 13, ev->from);
    suf_bind_text_static(s, 14, ev->context_id);
    suf_bind_text_static(s, 15, ev->msg_type);
    suf_bind_text_static(s, 16, ev->payload);
    suf_bind_text_static(s, 17, ev->text);
    suf_bind_text_static(s, 18, ev->profile_name);
    sqlite3_bind_int64(s, 19, ef->cur_line);
    if ((rc = insert_new(ef, s, &is_new)) || !is_new)
        return rc;
    s = ef->enqueue;
    sqlite3_bind_int64(s, 1, ev->ts);
    sqlite3_bind_int64(s, 2, sqlite3_last_insert_rowid(ef->run->store->db));
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SUF_OK : SUF_ERR_DB;
}

static void count_skip(void *ctx, const char *why)
{
    struct evfile *ef = ctx;
    char name[64];

    snprintf(name, sizeof(name), "events.skipped.%s", why);
    suf_run_count(ef->run, name, 1);
}

static int reject_line(struct evfile *ef, const char *why, const char *raw, size_t len,
                       struct suf_err *err)
{
    ef->rejects++;
    if (ef->warned++ < MAX_REJECT_WARNINGS)
        suf_warn("%s:%lld: %s", ef->path, (long long)ef->cur_line, why);
    return suf_store_reject(ef->run->store, 0, ef->path, ef->cur_line, why, raw, len,
                            ef->run->id, err);
}

/* Hashes the first min(HEAD, upto) bytes of the file. */
static int head_hash(struct evfile *ef, int64_t upto, char hex[SUF_SHA256_HEX], int64_t *hashed,
                     struct suf_err *err)
{
    char buf[SUF_EVENTS_HEAD];
    size_t want = upto < SUF_EVENTS_HEAD ? (size_t)upto : SUF_EVENTS_HEAD;
    ssize_t got = pread(ef->fd, buf, want, 0);

    if (got < 0)
        return suf_err_at(err, SUF_ERR_IO, ef->path, 0, "cannot read: %s", strerror(errno));
    suf_sha256_buf(buf, (size_t)got, hex);
    *hashed = got;
    return SUF_OK;
}

/* Reads the remembered position and decides where to start: the offset,
 * or 0 for a new, truncated or rotated file. */
static int load_position(struct evfile *ef, struct suf_err *err)
{
    /* The row of this path; else a row of the same file under its old name
     * (rotation by rename), whose head hash must still match. */
    sqlite3_stmt *s = suf_store_prepare(ef->run->store,
                                        "SELECT dev, ino, offset, lines, head_sha256, 0 "
                                        "FROM event_files WHERE path = ?1 UNION ALL "
                                        "SELECT dev, ino, offset, lines, head_sha256, 1 "
                                        "FROM event_files WHERE dev = ?2 AND ino = ?3 "
                                        "AND path <> ?1 ORDER BY 6, offset DESC LIMIT 1",
                                        err);
    char hex[SUF_SHA256_HEX];
    int64_t dev, ino, off, lines, hashed;
    const char *why = NULL;
    int renamed;
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, ef->key);
    sqlite3_bind_int64(s, 2, (int64_t)ef->sb.st_dev);
    sqlite3_bind_int64(s, 3, (int64_t)ef->sb.st_ino);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        return rc == SQLITE_DONE ? SUF_OK : fail_db(ef, err, "event_files");
    }
    dev = sqlite3_column_int64(s, 0);
    ino = sqlite3_column_int64(s, 1);
    off = sqlite3_column_int64(s, 2);
    lines = sqlite3_column_int64(s, 3);
    renamed = sqlite3_column_int(s, 5);
    suf_strlcpy(ef->head, sqlite3_column_text(s, 4) ? (const char *)sqlite3_column_text(s, 4) : "",
                sizeof(ef->head));
    sqlite3_finalize(s);
    if ((rc = head_hash(ef, off, hex, &hashed, err)))
        return rc;
    if (renamed)
        suf_info("%s: the same file as one read before under another name", ef->path);
    if (dev != (int64_t)ef->sb.st_dev || ino != (int64_t)ef->sb.st_ino)
        why = "rotated";
    else if ((int64_t)ef->sb.st_size < off)
        why = "truncated";
    else if (strcmp(hex, ef->head))
        why = "rotated";
    if (why) {
        char name[64];
        suf_info("%s: %s since the last import, reading it from the start", ef->path, why);
        snprintf(name, sizeof(name), "events.%s_files", why);
        suf_run_count(ef->run, name, 1);
        ef->head_len = 0;
        return SUF_OK;
    }
    ef->offset = off;
    ef->lines = lines;
    ef->head_len = hashed;
    return SUF_OK;
}

/* Records the position reached; runs inside the batch's transaction. */
static int save_position(struct evfile *ef, struct suf_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if (ef->head_len < SUF_EVENTS_HEAD &&
        (rc = head_hash(ef, ef->offset, ef->head, &ef->head_len, err)))
        return rc;
    s = suf_store_prepare(ef->run->store,
                          "INSERT INTO event_files (path, dev, ino, size, offset, lines, "
                          "head_sha256, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                          "ON CONFLICT (path) DO UPDATE SET dev = ?2, ino = ?3, size = ?4, "
                          "offset = ?5, lines = ?6, head_sha256 = ?7, updated_at = ?8",
                          err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, ef->key);
    sqlite3_bind_int64(s, 2, (int64_t)ef->sb.st_dev);
    sqlite3_bind_int64(s, 3, (int64_t)ef->sb.st_ino);
    sqlite3_bind_int64(s, 4, (int64_t)ef->sb.st_size > ef->offset ? (int64_t)ef->sb.st_size
                                                                  : ef->offset);
    sqlite3_bind_int64(s, 5, ef->offset);
    sqlite3_bind_int64(s, 6, ef->lines);
    suf_bind_text(s, 7, ef->head);
    sqlite3_bind_int64(s, 8, suf_run_now(ef->run));
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : fail_db(ef, err, "event_files");
}

/* Commits the batch with the position and opens the next transaction. */
static int flush_batch(struct evfile *ef, bool reopen, struct suf_err *err)
{
    int rc;

    if ((rc = save_position(ef, err)) || (rc = suf_store_commit(ef->run->store, err)))
        return rc;
    return reopen ? suf_store_begin(ef->run->store, err) : SUF_OK;
}

/* --- parsing on worker threads --------------------------------------------- */

/*
 * The main thread reads and cuts the lines and does every database write,
 * in line order; parsing each line with jansson and pulling its events out,
 * most of an import's CPU time, runs on worker threads.  Lines travel in
 * units of up to UNIT_LINES lines through a ring of NUNITS units and a
 * handoff (base/handoff.h) of as many: main fills unit `submitted % NUNITS`
 * and puts it, a worker parses it into a flat list of items (each event, or
 * a skip reason), and main takes the units back strictly in the order they
 * were read and applies them.  So the store sees exactly the writes,
 * transactions and offsets of a one-thread import, and a kill at any point
 * leaves what one would.  The ring bounds memory: when every unit is in
 * flight, main takes the oldest, waiting for it if need be.
 *
 * A unit owns the strings of its events: the parse copies each into the
 * unit's arena as it reads it, so nothing points into the JSON, which the
 * worker frees line by line.  A unit belongs to main until it is put, then
 * to one worker, then to main again once taken; its strings live until
 * its next parse (which empties the arena first) or until the pipe stops.
 */
#define UNIT_LINES 256
#define UNIT_BYTES (256 * 1024)
#define UNIT_KEEP (4 * UNIT_BYTES) /* a unit's buffers bigger than this are freed */
#define NUNITS 8
#define MAX_WORKERS 2

/* One line of a unit. */
struct uline {
    size_t off, len; /* the raw line in the unit's text */
    int64_t end;     /* the file offset after its newline */
    bool too_long;   /* over SUF_EVENTS_MAX_LINE: `off, len` hold its head */
    int rc;          /* the parse: SUF_OK, or SUF_ERR_INPUT to reject */
    const char *why; /* the reject's static reason */
    size_t item0, nitems;
};

/* An event (skip == NULL) or a skipped event's static reason. */
struct uitem {
    const char *skip;
    struct suf_event ev; /* its strings point into the unit's `strs` */
};

struct unit {
    struct suf_buf text; /* the lines' bytes */
    struct uline *lines;
    size_t nlines, linecap;
    struct uitem *items;
    size_t nitems, itemcap;
    struct strarena strs; /* the events' strings */
};

struct pipe {
    struct unit u[NUNITS];
    struct suf_handoff *parse; /* the units put and not yet taken, oldest first */
    uint64_t applied;          /* units applied (or dropped) by main */
    uint64_t submitted;        /* units put; the next one is being filled */
};

static struct uitem *unit_item(struct unit *u)
{
    if (u->nitems == u->itemcap) {
        u->itemcap = u->itemcap ? u->itemcap * 2 : 512;
        u->items = suf_xrealloc(u->items, u->itemcap * sizeof(*u->items));
    }
    return &u->items[u->nitems++];
}

/* The parse's sink: the event's strings are in the unit's arena already. */
static int unit_event(void *ctx, const struct suf_event *ev)
{
    struct uitem *it = unit_item(ctx);

    it->skip = NULL;
    it->ev = *ev;
    return SUF_OK;
}

static void unit_skip(void *ctx, const char *why)
{
    unit_item(ctx)->skip = why;
}

/* Parses every line of the unit `item` (any thread; it touches only the
 * unit): the handoff's run. */
static void unit_parse(void *ctx, void *item)
{
    static const struct suf_events_sink proto = {unit_event, unit_skip, NULL};
    struct suf_events_sink sink = proto;
    struct unit *u = item;

    (void)ctx;
    sink.ctx = u;
    arena_reset(&u->strs);
    u->nitems = 0;
    for (size_t i = 0; i < u->nlines; i++) {
        struct uline *l = &u->lines[i];
        const char *line = u->text.buf + l->off;
        size_t n = l->len;

        l->rc = SUF_OK;
        l->why = NULL;
        l->item0 = u->nitems;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        if (!l->too_long && n) /* a blank line: nothing to import, nothing wrong */
            l->rc = parse_line(line, n, &sink, &l->why, &u->strs);
        l->nitems = u->nitems - l->item0;
    }
}

/* How many workers: none on one CPU (main parses), else one per CPU up to
 * MAX_WORKERS; main mostly waits on the store and the parsers. */
static int worker_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 2 ? 0 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

static void pipe_start(struct pipe *p)
{
    memset(p, 0, sizeof(*p));
    /* jansson's hash seed is made on first use: make it here, once, before
     * threads race for it */
    json_object_seed(0);
    /* fewer workers when threads cannot be had; none: main parses, in put */
    p->parse = suf_handoff_start(worker_count(), NUNITS, unit_parse, NULL);
}

static void pipe_stop(struct pipe *p)
{
    suf_handoff_stop(p->parse, SUF_HANDOFF_DROP); /* after a failure: units in flight */
    suf_handoff_free(p->parse);
    for (int i = 0; i < NUNITS; i++) {
        arena_release(&p->u[i].strs);
        suf_buf_release(&p->u[i].text);
        free(p->u[i].lines);
        free(p->u[i].items);
    }
}

/* The unit being filled. */
static struct unit *pipe_filling(struct pipe *p)
{
    return &p->u[p->submitted % NUNITS];
}

/* Hands the unit being filled over to the workers (or parses it here). */
static void pipe_submit(struct pipe *p)
{
    suf_handoff_put(p->parse, pipe_filling(p));
    p->submitted++;
}

/* Waits until the oldest unit in flight is parsed and returns it. */
static struct unit *pipe_oldest(struct pipe *p)
{
    return suf_handoff_take(p->parse);
}

/* Main is done with the oldest unit: empties it for refilling (its
 * strings go with its next parse). */
static void pipe_release(struct pipe *p, struct unit *u)
{
    u->nlines = 0;
    suf_buf_reset(&u->text);
    if (u->text.alloc > UNIT_KEEP)
        suf_buf_release(&u->text);
    p->applied++;
}

/* --- applying parsed lines (main thread) ----------------------------------- */

/* Stores a parsed line's events, or rejects it. */
static int apply_line(struct evfile *ef, struct unit *u, const struct uline *l,
                      struct suf_err *err)
{
    const char *raw = u->text.buf + l->off;

    if (l->too_long) {
        char why[80];
        snprintf(why, sizeof(why), "line longer than %d bytes", SUF_EVENTS_MAX_LINE);
        return reject_line(ef, why, raw, l->len, err);
    }
    if (l->rc == SUF_ERR_INPUT)
        return reject_line(ef, l->why, raw, l->len, err);
    for (size_t i = l->item0; i < l->item0 + l->nitems; i++) {
        const struct uitem *it = &u->items[i];

        if (it->skip)
            count_skip(ef, it->skip);
        else if (store_event(ef, &it->ev))
            return fail_db(ef, err, "events");
    }
    return SUF_OK;
}

/*
 * Applies the oldest unit in flight line by line: each line's events, the
 * position past it, and a commit every SUF_EVENTS_BATCH lines, after which
 * a stop request ends the import (ef->stopped; later lines stay unread).
 */
static int apply_unit(struct evfile *ef, struct pipe *p, int64_t *in_batch, struct suf_err *err)
{
    struct unit *u = pipe_oldest(p);
    int rc = SUF_OK;

    for (size_t i = 0; i < u->nlines && !ef->stopped && !rc; i++) {
        const struct uline *l = &u->lines[i];

        ef->cur_line = ef->lines + 1;
        if ((rc = apply_line(ef, u, l, err)))
            break;
        ef->lines++;
        ef->new_lines++;
        ef->offset = l->end;
        if (++*in_batch >= SUF_EVENTS_BATCH) {
            *in_batch = 0;
            rc = flush_batch(ef, true, err);
            if (!rc && suf_run_stopping(ef->run))
                ef->stopped = true;
        }
    }
    pipe_release(p, u);
    return rc;
}

/* A line of `len` bytes ending at file offset `end` (past its newline) was
 * read: adds it to the unit being filled, and hands the unit over when it
 * is full, first applying the oldest unit if the ring is full. */
static int feed_line(struct evfile *ef, struct pipe *p, const char *line, size_t len,
                     bool too_long, int64_t end, int64_t *in_batch, struct suf_err *err)
{
    struct unit *u = pipe_filling(p);
    struct uline *l;
    int rc = SUF_OK;

    if (u->nlines == u->linecap) {
        u->linecap = u->linecap ? u->linecap * 2 : UNIT_LINES;
        u->lines = suf_xrealloc(u->lines, u->linecap * sizeof(*u->lines));
    }
    l = &u->lines[u->nlines++];
    l->off = u->text.len;
    l->len = len;
    l->end = end;
    l->too_long = too_long;
    suf_buf_add(&u->text, line, len);
    if (u->nlines < UNIT_LINES && u->text.len < UNIT_BYTES)
        return SUF_OK;
    pipe_submit(p);
    if (p->submitted - p->applied == NUNITS)
        rc = apply_unit(ef, p, in_batch, err);
    return rc;
}

/* Hands over the last, partial unit and applies every unit in flight
 * (dropping them after a stop). */
static int drain(struct evfile *ef, struct pipe *p, int64_t *in_batch, struct suf_err *err)
{
    int rc = SUF_OK;

    if (pipe_filling(p)->nlines)
        pipe_submit(p);
    while (p->applied < p->submitted && !rc)
        rc = apply_unit(ef, p, in_batch, err);
    return rc;
}

/*
 * Reads from the offset to EOF in blocks, importing each complete line.  A
 * line longer than the cap is skipped up to its newline (its first bytes
 * kept for the reject).  Bytes after the last newline are left for next time.
 */
static int read_lines(struct evfile *ef, struct pipe *p, struct suf_err *err)
{
    size_t cap = READ_BLOCK, start = 0, end = 0, scan = 0;
    char *buf = suf_xmalloc(cap);
    char *longhead = NULL;
    size_t longlen = 0;
    int64_t in_batch = 0, pos = ef->offset;
    const int64_t from = ef->offset;
    struct suf_progress bar;
    int rc = SUF_OK;

    suf_progress_start_bytes(&bar, "events", (int64_t)ef->sb.st_size - from);
    if (lseek(ef->fd, (off_t)ef->offset, SEEK_SET) < 0) {
        rc = suf_err_at(err, SUF_ERR_IO, ef->path, 0, "cannot seek: %s", strerror(errno));
        goto out;
    }
    while (!ef->stopped) {
        char *nl = memchr(buf + scan, '\n', end - scan);
        ssize_t got;

        if (nl) {
            size_t len = (size_t)(nl - (buf + start));
            pos += (int64_t)(len + 1);
            if (longhead)
                rc = feed_line(ef, p, longhead, longlen, true, pos, &in_batch, err);
            else
                rc = feed_line(ef, p, buf + start, len, len > SUF_EVENTS_MAX_LINE, pos,
                               &in_batch, err);
            free(longhead);
            longhead = NULL;
            if (rc)
                goto out;
            start = scan = (size_t)(nl - buf) + 1;
            continue;
        }
        scan = end;
        if (start > 0) { /* keep the partial line at the front */
            memmove(buf, buf + start, end - start);
            end -= start;
            scan -= start;
            start = 0;
        }
        if (longhead || end > SUF_EVENTS_MAX_LINE) {
            /* over the cap: keep its head for the reject, drop the rest */
            if (!longhead) {
                longlen = end < REJECT_RAW ? end : REJECT_RAW;
                longhead = suf_xmalloc(longlen);
                memcpy(longhead, buf, longlen);
            }
            pos += (int64_t)end;
            end = scan = 0;
        } else if (end == cap) {
            cap *= 2;
            buf = suf_xrealloc(buf, cap);
        }
        got = read(ef->fd, buf + end, cap - end);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = suf_err_at(err, SUF_ERR_IO, ef->path, 0, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        end += (size_t)got;
        suf_progress_set(&bar, pos - from);
    }
    if (!(rc = drain(ef, p, &in_batch, err)))
        rc = flush_batch(ef, false, err);
out:
    suf_progress_end(&bar);
    free(longhead);
    free(buf);
    return rc;
}

static void report_file(struct evfile *ef)
{
    struct suf_run *run = ef->run;

    suf_run_count(run, "events.files", 1);
    suf_run_count(run, "events.lines", ef->new_lines);
    suf_run_count(run, "events.new", ef->events);
    suf_run_count(run, "events.duplicates", ef->dups);
    suf_run_count(run, "events.rejects", ef->rejects);
    if (ef->rejects && (double)ef->rejects > run->cfg->max_reject_ratio * (double)ef->new_lines) {
        suf_error("%s: %lld of %lld lines rejected, over max_reject_ratio %.4g", ef->path,
                  (long long)ef->rejects, (long long)ef->new_lines, run->cfg->max_reject_ratio);
        suf_run_soft_fail(run, SUF_ERR_REJECTS, "%s: %lld of %lld lines rejected", ef->path,
                          (long long)ef->rejects, (long long)ef->new_lines);
    } else if (ef->rejects) {
        suf_warn("%s: %lld of %lld lines rejected (see 'suf status')", ef->path,
                 (long long)ef->rejects, (long long)ef->new_lines);
    }
    suf_info("%s: %lld new lines, %lld new events, %lld duplicates, %lld rejected", ef->path,
             (long long)ef->new_lines, (long long)ef->events, (long long)ef->dups,
             (long long)ef->rejects);
}

static int import_file(struct suf_run *run, const char *path, enum suf_input_origin origin,
                       struct suf_err *err)
{
    struct evfile ef;
    struct pipe pp;
    char real[PATH_MAX];
    int rc;

    memset(&ef, 0, sizeof(ef));
    ef.run = run;
    ef.path = path;
    if ((rc = suf_input_open(path, origin, &ef.fd, &ef.sb, err)))
        return rc;
    ef.key = suf_xstrdup(realpath(path, real) ? real : path);
    if ((rc = suf_store_begin(run->store, err)))
        goto out;
    if ((rc = load_position(&ef, err)))
        goto rollback;
    ef.ins = suf_store_prepare(run->store, insert_sql, err);
    ef.enqueue = ef.ins ? suf_store_prepare(run->store, enqueue_sql, err) : NULL;
    ef.tins = ef.enqueue ? suf_store_prepare(run->store, template_insert_sql, err) : NULL;
    ef.tlive = ef.tins ? suf_store_prepare(run->store, template_live_sql, err) : NULL;
    if (!ef.tlive) {
        rc = SUF_ERR_DB;
        goto rollback;
    }
    pipe_start(&pp);
    rc = read_lines(&ef, &pp, err);
    pipe_stop(&pp);
    if (rc)
        goto rollback;
    report_file(&ef);
    if (suf_run_stopping(run))
        rc = suf_err_at(err, SUF_ERR_INTERRUPTED, path, 0, "interrupted at line %lld",
                        (long long)ef.lines);
    goto out;
rollback:
    suf_store_rollback(run->store);
out:
    sqlite3_finalize(ef.tlive);
    sqlite3_finalize(ef.tins);
    sqlite3_finalize(ef.enqueue);
    sqlite3_finalize(ef.ins);
    free(ef.key);
    close(ef.fd);
    return rc;
}

static bool fatal(int rc)
{
    return rc == SUF_ERR_DB || rc == SUF_ERR_IO || rc == SUF_ERR_INTERRUPTED;
}

/* PRAGMA cache_size takes no bound parameter: the value is ours, not data. */
static void set_cache(struct suf_run *run, int64_t kib)
{
    char pragma[64];

    snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = %lld", (long long)kib);
    suf_store_exec(run->store, pragma, NULL);
}

static int import_path(struct suf_run *run, const char *path, struct suf_err *err);

int suf_import_events_path(struct suf_run *run, const char *path, struct suf_err *err)
{
    int64_t cache = 0;
    int rc;

    if ((rc = suf_store_scalar(run->store, "PRAGMA cache_size", NULL, &cache, err)))
        return rc;
    set_cache(run, -CACHE_KIB);
    rc = import_path(run, path, err);
    set_cache(run, cache);
    return rc;
}

/* A folder's logs are all taken, however recent: a log is read up to its
 * last complete line, and the rest waits for the next import, so one being
 * written to is read safely (no inbox_settle_seconds). */
static int import_path(struct suf_run *run, const char *path, struct suf_err *err)
{
    struct suf_input_dir dir;
    struct stat sb;
    int worst = SUF_OK, rc;

    if (stat(path, &sb) != 0)
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read: %s", strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return import_file(run, path, SUF_INPUT_NAMED, err);
    if ((rc = suf_input_list(path, 0, 0, &dir, err))) {
        suf_input_dir_release(&dir);
        return rc;
    }
    for (size_t i = 0; i < dir.n; i++) {
        struct suf_err ferr = SUF_ERR_INIT;

        rc = fatal(worst) ? SUF_OK : import_file(run, dir.paths[i], SUF_INPUT_LISTED, &ferr);
        if (fatal(rc)) {
            *err = ferr;
            worst = rc;
        } else if (rc) {
            suf_error("%s", ferr.msg);
            if (!worst) {
                worst = rc;
                *err = ferr;
            }
        }
    }
    suf_input_dir_release(&dir);
    return worst;
}
