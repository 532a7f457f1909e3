/*
 * events.c: reading webhook event logs into `events` (see events.h).
 *
 * Two halves: suf_events_parse_line() turns one webhook body into events
 * (jansson, no I/O, so it can be tested and fuzzed alone), and the importer
 * reads a log from its remembered offset in fixed-size blocks, cuts complete
 * lines, and stores the events in batched transactions that also advance
 * the offset.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "suf/events.h"
#include "suf/timeutil.h"
#include "suf/hash.h"
#include "suf/log.h"
#include "suf/util.h"
#include "suf/banned.h"

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

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
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

static void parse_pricing(const json_t *pricing, struct suf_event *ev)
{
    const json_t *billable;

    ev->pricing_billable = -1;
    if (!json_is_object(pricing))
        return;
    billable = json_object_get(pricing, "billable");
    if (json_is_boolean(billable))
        ev->pricing_billable = json_is_true(billable) ? 1 : 0;
    ev->pricing_model = jstr(pricing, "pricing_model");
    ev->pricing_type = jstr(pricing, "type");
    ev->pricing_category = jstr(pricing, "category");
}

static int parse_status(const json_t *st, const struct suf_events_sink *sink)
{
    struct suf_event ev;
    const json_t *err0 = json_array_get(json_object_get(st, "errors"), 0);
    const char *status = jstr(st, "status");

    memset(&ev, 0, sizeof(ev));
    ev.kind = SUF_EVENT_STATUS;
    if (json_object_get(st, "group_id")) {
        sink->skip(sink->ctx, "group");
        return SUF_OK;
    }
    ev.id = jstr(st, "id");
    if (!ev.id || !*ev.id || !status || !jtime(st, "timestamp", &ev.ts)) {
        sink->skip(sink->ctx, "malformed");
        return SUF_OK;
    }
    if (strcmp(status, "sent") && strcmp(status, "delivered") && strcmp(status, "read") &&
        strcmp(status, "failed")) {
        sink->skip(sink->ctx, "status");
        return SUF_OK;
    }
    ev.status = status;
    ev.recipient = jstr(st, "recipient_id");
    ev.callback = jstr(st, "biz_opaque_callback_data");
    if (json_is_object(err0)) {
        ev.error_code = json_integer_value(json_object_get(err0, "code"));
        ev.error_title = jstr(err0, "title");
    }
    parse_pricing(json_object_get(st, "pricing"), &ev);
    return sink->event(sink->ctx, &ev);
}

static const char *profile_name(const json_t *contacts, const char *from)
{
    size_t i;
    const json_t *c;

    json_array_foreach(contacts, i, c) {
        const char *wa_id = jstr(c, "wa_id");
        if (!wa_id || !from || !strcmp(wa_id, from))
            return jstr(json_object_get(c, "profile"), "name");
    }
    return NULL;
}

/* Fills the type-specific fields; false for a type this job does not use. */
static bool parse_message_body(const json_t *m, struct suf_event *ev)
{
    if (!strcmp(ev->msg_type, "button")) {
        const json_t *b = json_object_get(m, "button");
        ev->payload = jstr(b, "payload");
        ev->text = jstr(b, "text");
        return ev->payload || ev->text;
    }
    if (!strcmp(ev->msg_type, "interactive")) {
        const json_t *in = json_object_get(m, "interactive");
        const json_t *reply = json_object_get(in, "button_reply");
        if (!reply)
            reply = json_object_get(in, "list_reply");
        ev->payload = jstr(reply, "id");
        ev->text = jstr(reply, "title");
        return ev->payload != NULL;
    }
    if (!strcmp(ev->msg_type, "text")) {
        ev->text = jstr(json_object_get(m, "text"), "body");
        return ev->text != NULL;
    }
    return false;
}

static int parse_message(const json_t *m, const json_t *contacts,
                         const struct suf_events_sink *sink)
{
    struct suf_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = SUF_EVENT_MESSAGE;
    ev.pricing_billable = -1;
    if (json_object_get(m, "group_id")) {
        sink->skip(sink->ctx, "group");
        return SUF_OK;
    }
    ev.id = jstr(m, "id");
    ev.from = jstr(m, "from");
    ev.msg_type = jstr(m, "type");
    if (!ev.id || !*ev.id || !ev.from || !ev.msg_type || !jtime(m, "timestamp", &ev.ts)) {
        sink->skip(sink->ctx, "malformed");
        return SUF_OK;
    }
    if (!parse_message_body(m, &ev)) {
        sink->skip(sink->ctx, "message_type");
        return SUF_OK;
    }
    ev.context_id = jstr(json_object_get(m, "context"), "id");
    ev.profile_name = profile_name(json_object_get(m, "contacts") ? json_object_get(m, "contacts")
                                                                  : contacts,
                                   ev.from);
    return sink->event(sink->ctx, &ev);
}

static int parse_value(const json_t *value, const struct suf_events_sink *sink)
{
    const json_t *statuses = json_object_get(value, "statuses");
    const json_t *messages = json_object_get(value, "messages");
    const json_t *contacts = json_object_get(value, "contacts");
    const json_t *x;
    size_t i;
    int rc;

    if (json_object_get(value, "errors"))
        sink->skip(sink->ctx, "errors");
    if (!json_is_array(statuses) && !json_is_array(messages)) {
        sink->skip(sink->ctx, "no_events");
        return SUF_OK;
    }
    json_array_foreach(statuses, i, x) {
        if ((rc = parse_status(x, sink)))
            return rc;
    }
    json_array_foreach(messages, i, x) {
        if ((rc = parse_message(x, contacts, sink)))
            return rc;
    }
    return SUF_OK;
}

static int parse_entry(const json_t *entry, const struct suf_events_sink *sink)
{
    const json_t *change;
    size_t i;
    int rc;

    json_array_foreach(json_object_get(entry, "changes"), i, change) {
        const char *field = jstr(change, "field");
        const json_t *value = json_object_get(change, "value");

        if (!field || strcmp(field, "messages") || !json_is_object(value)) {
            sink->skip(sink->ctx, "field");
            continue;
        }
        if ((rc = parse_value(value, sink)))
            return rc;
    }
    return SUF_OK;
}

int suf_events_parse_line(const char *line, size_t len, const struct suf_events_sink *sink,
                          const char **why)
{
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
    object = jstr(root, "object");
    entries = json_object_get(root, "entry");
    if (!object || strcmp(object, "whatsapp_business_account") || !json_is_array(entries)) {
        *why = "not a WhatsApp Business webhook (object, entry)";
        json_decref(root);
        return SUF_ERR_INPUT;
    }
    json_array_foreach(entries, i, entry) {
        if ((rc = parse_entry(entry, sink)))
            break;
    }
    json_decref(root);
    return rc;
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
    /* this import's tallies */
    int64_t new_lines, events, dups, rejects, warned;
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

static int store_event(void *ctx, const struct suf_event *ev)
{
    struct evfile *ef = ctx;
    sqlite3_stmt *s = ef->ins;
    int rc;

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
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return SUF_ERR_DB;
    if (!sqlite3_changes(ef->run->store->db)) {
        ef->dups++;
        return SUF_OK;
    }
    ef->events++;
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

static int import_line(struct evfile *ef, const char *line, size_t len, struct suf_err *err)
{
    static const struct suf_events_sink proto = {store_event, count_skip, NULL};
    struct suf_events_sink sink = proto;
    const char *why = NULL;
    size_t n = len;
    int rc;

    sink.ctx = ef;
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    if (!n)
        return SUF_OK; /* a blank line: nothing to import, nothing wrong */
    rc = suf_events_parse_line(line, n, &sink, &why);
    if (rc == SUF_ERR_INPUT)
        return reject_line(ef, why, line, len, err);
    if (rc)
        return fail_db(ef, err, "events");
    return SUF_OK;
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

/* A line of `len` bytes ending at a newline was read: import it and move
 * the position past it. */
static int consume_line(struct evfile *ef, const char *line, size_t len, bool too_long,
                        int64_t *in_batch, struct suf_err *err)
{
    int rc;

    ef->cur_line = ef->lines + 1;
    if (too_long) {
        char why[80];
        snprintf(why, sizeof(why), "line longer than %d bytes", SUF_EVENTS_MAX_LINE);
        rc = reject_line(ef, why, line, len, err);
    } else {
        rc = import_line(ef, line, len, err);
    }
    if (rc)
        return rc;
    ef->lines++;
    ef->new_lines++;
    if (++*in_batch >= SUF_EVENTS_BATCH) {
        *in_batch = 0;
        return flush_batch(ef, true, err);
    }
    return SUF_OK;
}

/*
 * Reads from the offset to EOF in blocks, importing each complete line.  A
 * line longer than the cap is skipped up to its newline (its first bytes
 * kept for the reject).  Bytes after the last newline are left for next time.
 */
static int read_lines(struct evfile *ef, struct suf_err *err)
{
    size_t cap = READ_BLOCK, start = 0, end = 0, scan = 0;
    char *buf = suf_xmalloc(cap);
    char *longhead = NULL;
    size_t longlen = 0;
    int64_t in_batch = 0, pos = ef->offset;
    int rc = SUF_OK;

    if (lseek(ef->fd, (off_t)ef->offset, SEEK_SET) < 0) {
        rc = suf_err_at(err, SUF_ERR_IO, ef->path, 0, "cannot seek: %s", strerror(errno));
        goto out;
    }
    for (;;) {
        char *nl = memchr(buf + scan, '\n', end - scan);
        ssize_t got;

        if (nl) {
            size_t len = (size_t)(nl - (buf + start));
            pos += (int64_t)(len + 1);
            if (longhead)
                rc = consume_line(ef, longhead, longlen, true, &in_batch, err);
            else
                rc = consume_line(ef, buf + start, len, len > SUF_EVENTS_MAX_LINE, &in_batch,
                                  err);
            free(longhead);
            longhead = NULL;
            if (rc)
                goto out;
            ef->offset = pos;
            start = scan = (size_t)(nl - buf) + 1;
            if (in_batch == 0 && suf_run_stopping(ef->run))
                break;
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
    }
    rc = flush_batch(ef, false, err);
out:
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

static int import_file(struct suf_run *run, const char *path, struct suf_err *err)
{
    struct evfile ef;
    char real[PATH_MAX];
    int rc;

    memset(&ef, 0, sizeof(ef));
    ef.run = run;
    ef.path = path;
    ef.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (ef.fd < 0)
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read: %s", strerror(errno));
    if (fstat(ef.fd, &ef.sb) || !S_ISREG(ef.sb.st_mode)) {
        close(ef.fd);
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "not a regular file");
    }
    ef.key = suf_xstrdup(realpath(path, real) ? real : path);
    if ((rc = suf_store_begin(run->store, err)))
        goto out;
    if ((rc = load_position(&ef, err)))
        goto rollback;
    ef.ins = suf_store_prepare(run->store, insert_sql, err);
    ef.enqueue = ef.ins ? suf_store_prepare(run->store, enqueue_sql, err) : NULL;
    if (!ef.enqueue) {
        rc = SUF_ERR_DB;
        goto rollback;
    }
    if ((rc = read_lines(&ef, err)))
        goto rollback;
    report_file(&ef);
    if (suf_run_stopping(run))
        rc = suf_err_at(err, SUF_ERR_INTERRUPTED, path, 0, "interrupted at line %lld",
                        (long long)ef.lines);
    goto out;
rollback:
    suf_store_rollback(run->store);
out:
    sqlite3_finalize(ef.enqueue);
    sqlite3_finalize(ef.ins);
    free(ef.key);
    close(ef.fd);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular, non-hidden files of `dir`, sorted, into *out (the caller
 * frees each and the array); *n gets their number. */
static int list_dir(const char *dir, char ***out, size_t *n, struct suf_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t alloc = 0;

    *n = 0;
    *out = NULL;
    if (!d)
        return suf_err_at(err, SUF_ERR_NOINPUT, dir, 0, "cannot read folder: %s",
                          strerror(errno));
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        char *p;

        if (de->d_name[0] == '.')
            continue;
        p = suf_xasprintf("%s/%s", dir, de->d_name);
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(p);
            continue;
        }
        if (*n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            names = suf_xrealloc(names, alloc * sizeof(*names));
        }
        names[(*n)++] = p;
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof(*names), cmp_names);
    *out = names;
    return SUF_OK;
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

static int import_path(struct suf_run *run, const char *path, struct suf_err *err)
{
    struct stat sb;
    char **names;
    size_t n;
    int worst = SUF_OK, rc;

    if (stat(path, &sb) != 0)
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read: %s", strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return import_file(run, path, err);
    if ((rc = list_dir(path, &names, &n, err)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct suf_err ferr = SUF_ERR_INIT;

        rc = fatal(worst) ? SUF_OK : import_file(run, names[i], &ferr);
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
        free(names[i]);
    }
    free(names);
    return worst;
}
