/*
 * purge.c: removing personal data older than a cutoff (see purge.h).
 *
 * The store owns the schema, so it also knows which columns hold a phone, a
 * name or a message; every stage above only ever sees the rows this leaves.
 *
 * Three passes, each committing in batches so that the lock is never held
 * for one huge transaction and an interrupted purge keeps its work:
 *  1. recipients, in primary-key order with a keyset: each one older than
 *     the cutoff is purged whole (its attempts, its row, its fallback and
 *     its sends) under one pseudonym, looked up and checked in C;
 *  2. events and rejected rows, by ranges of their ids, through SQL
 *     functions registered on the connection for the purge (the pseudonym,
 *     the test for one, and a reason without what it quoted);
 *  3. the runs' arguments and messages, in one statement.
 * During the purge SQLite zeroes what it frees (secure_delete), and a
 * checkpoint then empties the write-ahead log, so the bytes removed do not
 * linger in the file; older free space goes only with VACUUM
 * (suf_purge_vacuum).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "store/purge.h"
#include "store/store.h"
#include "base/banned.h"

#define HEX_DIGITS 32     /* of the HMAC, in a pseudonym: 128 bits */
#define PREFIX_KEEP_MAX 6 /* digits of a market prefix a pseudonym keeps at most */
#define UNIT_BATCH 500    /* recipients per transaction */
#define ID_BATCH 10000    /* event or reject ids per transaction */
#define SUFFIX_MAX 1000   /* ":2" .. ":999" tried when a pseudonym is taken */

enum {
    Q_UNITS_FIRST,
    Q_UNITS_NEXT,
    Q_TAKEN,
    Q_ATTEMPTS,
    Q_RECIPIENT,
    Q_CANCEL,
    Q_BODIES,
    Q_INPUTS,
    Q_FALLBACK,
    Q_EVENTS,
    Q_REJECTS,
    Q_RUNS,
    Q_OPTOUTS,
    Q_WAITING,
    Q_COUNT
};

/* A recipient older than the cutoff: ?3 is the cutoff, ?4 the batch size;
 * the next batch starts after (?1, ?2). */
#define UNITS_SQL(after)                                                                 \
    "SELECT r.campaign_id, r.phone, f.id FROM recipients r "                             \
    "LEFT JOIN fallbacks f ON f.campaign_id = r.campaign_id AND f.phone = r.phone "      \
    "WHERE " after "r.last_attempt_at < ?3 AND r.outcome <> 'awaiting_retries' "         \
    "AND NOT suf_is_pseudonym(r.phone) "                                                 \
    "AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.campaign_id = r.campaign_id "      \
    "AND a.phone = r.phone AND a.sent_at >= ?3) "                                        \
    "AND (f.id IS NULL OR (f.created_at < ?3 AND f.state_at < ?3)) "                     \
    "ORDER BY r.campaign_id, r.phone LIMIT ?4"

static const char *const sql[Q_COUNT] = {
    [Q_UNITS_FIRST] = UNITS_SQL(""),
    [Q_UNITS_NEXT] = UNITS_SQL("(r.campaign_id, r.phone) > (?1, ?2) AND "),
    [Q_TAKEN] =
        "SELECT EXISTS (SELECT 1 FROM recipients WHERE campaign_id = ?1 AND phone = ?2) "
        "OR EXISTS (SELECT 1 FROM fallbacks WHERE campaign_id = ?1 AND phone = ?2) "
        "OR EXISTS (SELECT 1 FROM attempts WHERE campaign_id = ?1 AND phone = ?2)",
    [Q_ATTEMPTS] =
        "UPDATE attempts SET phone = ?3, text = NULL, vars = NULL, "
        "header_media_url = NULL, url_suffixes = NULL, button_payloads = NULL, "
        "customer_name = NULL WHERE campaign_id = ?1 AND phone = ?2",
    [Q_RECIPIENT] =
        "UPDATE recipients SET phone = ?3 WHERE campaign_id = ?1 AND phone = ?2",
    /* without a phone nothing may send them, whatever their state */
    [Q_CANCEL] =
        "UPDATE sends SET state = 'cancelled', updated_at = ?2 WHERE fallback_id = ?1 "
        "AND state IN ('held', 'queued', 'in_flight', 'unknown')",
    [Q_BODIES] = "UPDATE sends SET body = '', api_error = NULL WHERE fallback_id = ?1",
    /* the copy of the attempt's content plan froze for the fallback */
    [Q_INPUTS] = "UPDATE fallback_inputs SET text = NULL, vars = NULL, header_media_url = NULL, "
                 "url_suffixes = NULL, button_payloads = NULL, customer_name = NULL "
                 "WHERE fallback_id = ?1",
    [Q_FALLBACK] = "UPDATE fallbacks SET phone = ?2 WHERE id = ?1",
    /* events reconcile has not taken yet wait in event_queue: left alone */
    [Q_EVENTS] =
        "UPDATE events SET recipient = suf_pseudonym(recipient), "
        "from_phone = suf_pseudonym(from_phone), profile_name = NULL, text = NULL, "
        "payload = NULL WHERE id >= ?1 AND id < ?2 AND coalesce(ts, 0) < ?3 "
        "AND NOT EXISTS (SELECT 1 FROM event_queue q WHERE q.ts = coalesce(events.ts, 0) "
        "AND q.id = events.id) "
        "AND (profile_name IS NOT NULL OR text IS NOT NULL OR payload IS NOT NULL "
        "OR NOT suf_is_pseudonym(recipient) OR NOT suf_is_pseudonym(from_phone))",
    /* a reject is as old as the run that stored it (or its file) */
    [Q_REJECTS] =
        "UPDATE rejects SET raw = NULL, reason = suf_unquoted(reason) "
        "WHERE id >= ?1 AND id < ?2 AND coalesce("
        "(SELECT as_of FROM runs WHERE runs.id = rejects.run_id), "
        "(SELECT imported_at FROM files WHERE files.id = rejects.file_id), 0) < ?3 "
        "AND (raw IS NOT NULL OR reason IS NOT suf_unquoted(reason))",
    /* ?2: the current run, whose row is its own */
    [Q_RUNS] =
        "UPDATE runs SET args = NULL, message = NULL WHERE as_of < ?1 AND id <> ?2 "
        "AND (args IS NOT NULL OR message IS NOT NULL)",
    /* an opt-out must outlive the phone: its pseudonym keeps no prefix, so
     * that suf_purge_relink_optouts can find it again from the phone alone;
     * an opt-out already kept under that pseudonym gives way to the later */
    [Q_OPTOUTS] = "UPDATE OR REPLACE optouts SET phone = suf_optout_pseudonym(phone) "
                  "WHERE at < ?1 AND NOT suf_is_pseudonym(phone)",
    [Q_WAITING] = "SELECT count(*) FROM recipients WHERE outcome = 'awaiting_retries' "
                  "AND last_attempt_at < ?1 AND NOT suf_is_pseudonym(phone)",
};

struct purge {
    struct suf_run *run;
    struct suf_store *st;
    int64_t cutoff;
    unsigned char key[SUF_PURGE_KEY_BYTES];
    char **prefixes; /* the market map's distinct prefixes, sorted */
    size_t nprefixes;
    const struct suf_purge_map *map; /* the map in use when none was imported */
    sqlite3_stmt *q[Q_COUNT];
    struct suf_purge_counts *c;
};

/* --- the pseudonym ------------------------------------------------------------ */

int suf_purge_pseudonym(const unsigned char key[SUF_PURGE_KEY_BYTES], const char *phone,
                        size_t keep, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t len = strlen(phone), o;

    if (keep > len)
        keep = len;
    if (size < keep + 2 + HEX_DIGITS ||
        !HMAC(EVP_sha256(), key, SUF_PURGE_KEY_BYTES, (const unsigned char *)phone, len,
              mac, &maclen) ||
        maclen * 2 < HEX_DIGITS)
        return SUF_ERR_INTERNAL;
    memcpy(out, phone, keep);
    o = keep;
    out[o++] = '#';
    for (size_t i = 0; i < HEX_DIGITS / 2; i++) {
        out[o++] = hex[mac[i] >> 4];
        out[o++] = hex[mac[i] & 15];
    }
    out[o] = '\0';
    OPENSSL_cleanse(mac, sizeof(mac));
    return SUF_OK;
}

bool suf_purge_is_pseudonym(const char *s)
{
    size_t i = 0, n;

    if (!s)
        return true;
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    if (s[i++] != '#')
        return false;
    for (n = 0; n < HEX_DIGITS; n++, i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    if (!s[i])
        return true;
    if (s[i++] != ':' || !s[i])
        return false;
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    return !s[i];
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* How many leading bytes of `phone` the market map names: its longest
 * prefix that starts the phone (at most PREFIX_KEEP_MAX), or 0. */
static size_t prefix_len(const struct purge *p, const char *phone)
{
    char key[PREFIX_KEEP_MAX + 1];
    size_t n = strlen(phone);
    const char *k = key;

    for (size_t len = n < PREFIX_KEEP_MAX ? n : PREFIX_KEEP_MAX; len > 0; len--) {
        memcpy(key, phone, len);
        key[len] = '\0';
        if (p->nprefixes &&
            bsearch(&k, p->prefixes, p->nprefixes, sizeof(*p->prefixes), cmp_str))
            return len;
    }
    return 0;
}

static int pseudonym_of(const struct purge *p, const char *phone, char *out, size_t size)
{
    return suf_purge_pseudonym(p->key, phone, prefix_len(p, phone), out, size);
}

/* --- SQL functions, for the set-based passes ----------------------------------- */

/* The pseudonym of argv[0], keeping its market prefix or not; a pseudonym
 * or NULL stays as it is. */
static void result_pseudonym(sqlite3_context *ctx, sqlite3_value **argv, bool prefix)
{
    const struct purge *p = sqlite3_user_data(ctx);
    const char *v = (const char *)sqlite3_value_text(argv[0]);
    char out[SUF_PSEUDONYM_MAX];

    if (!v || suf_purge_is_pseudonym(v)) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    if (suf_purge_pseudonym(p->key, v, prefix ? prefix_len(p, v) : 0, out, sizeof(out))) {
        sqlite3_result_error(ctx, "cannot compute a pseudonym", -1);
        return;
    }
    sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

static void fn_pseudonym(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    result_pseudonym(ctx, argv, true);
}

/* An opt-out's pseudonym: the whole phone behind the key, no prefix. */
static void fn_optout_pseudonym(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    result_pseudonym(ctx, argv, false);
}

static void fn_is_pseudonym(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_result_int(ctx,
                       suf_purge_is_pseudonym((const char *)sqlite3_value_text(argv[0])));
}

/* A reject's reason quotes what it refused ("phone '9.19E+11' looks like
 * ..."): everything from the first quote to the last becomes '…'. */
static void fn_unquoted(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *v = (const char *)sqlite3_value_text(argv[0]);
    const char *first = v ? strchr(v, '\'') : NULL, *last;
    struct suf_buf b = SUF_BUF_INIT;

    (void)argc;
    if (!first) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    last = strrchr(v, '\'');
    suf_buf_add(&b, v, (size_t)(first - v));
    suf_buf_addstr(&b, "'\xe2\x80\xa6'");
    if (last > first)
        suf_buf_addstr(&b, last + 1);
    sqlite3_result_text(ctx, suf_buf_detach(&b), -1, free);
}

static int functions(struct purge *p, bool on)
{
    static const struct {
        const char *name;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {
        {"suf_pseudonym", fn_pseudonym},
        {"suf_optout_pseudonym", fn_optout_pseudonym},
        {"suf_is_pseudonym", fn_is_pseudonym},
        {"suf_unquoted", fn_unquoted},
    };
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        if (sqlite3_create_function_v2(p->st->db, fns[i].name, 1, flags, p,
                                       on ? fns[i].fn : NULL, NULL, NULL,
                                       NULL) != SQLITE_OK)
            return SUF_ERR_DB;
    return SUF_OK;
}

/* --- set-up: the key, the market prefixes, the statements ---------------------- */

static const char key_table_sql[] = "CREATE TABLE IF NOT EXISTS pseudonym_key ("
                                    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
                                    "  key BLOB NOT NULL CHECK (length(key) = 32),"
                                    "  created_at INTEGER NOT NULL)";

/* A pseudonym, as GLOB reads it (suf_purge_is_pseudonym is stricter). */
#define HEX1 "[0-9a-f]"
#define HEX8 HEX1 HEX1 HEX1 HEX1 HEX1 HEX1 HEX1 HEX1
#define PSEUDONYM_GLOB "'*#" HEX8 HEX8 HEX8 HEX8 "*'"

/*
 * A purged attempt stays purged.  An export imported again after a purge
 * (a corrected one: new bytes) updates the attempts it repeats, phone and
 * content included; without this its rows would leave their recipient for
 * a new one under the phone, which the plan could give a second fallback.
 * The trigger puts the pseudonym back and drops the content again; the
 * rest of the update (status, times, error codes) stands.
 */
static const char stay_purged_sql[] =
    "CREATE TRIGGER IF NOT EXISTS attempts_stay_purged AFTER UPDATE OF phone, text, "
    "vars, "
    "header_media_url, url_suffixes, button_payloads, customer_name ON attempts "
    "WHEN old.phone GLOB " PSEUDONYM_GLOB " AND (new.phone IS NOT old.phone "
    "OR coalesce(new.text, new.vars, new.header_media_url, new.url_suffixes, "
    "new.button_payloads, new.customer_name) IS NOT NULL) "
    "BEGIN UPDATE attempts SET phone = old.phone, text = NULL, vars = NULL, "
    "header_media_url = NULL, url_suffixes = NULL, button_payloads = NULL, "
    "customer_name = NULL WHERE id = new.id; END";

/* Reads the key, or makes and stores it on the first purge; makes sure
 * purged attempts stay so. */
static int load_key(struct purge *p, struct suf_err *err)
{
    sqlite3_stmt *s;
    int rc, src;

    if ((rc = suf_store_begin(p->st, err)))
        return rc;
    if ((rc = suf_store_exec(p->st, key_table_sql, err)) ||
        (rc = suf_store_exec(p->st, stay_purged_sql, err)))
        goto fail;
    s = suf_store_prepare(p->st, "SELECT key FROM pseudonym_key WHERE id = 1", err);
    if (!s) {
        rc = SUF_ERR_DB;
        goto fail;
    }
    src = sqlite3_step(s);
    if (src == SQLITE_ROW && sqlite3_column_bytes(s, 0) == SUF_PURGE_KEY_BYTES)
        memcpy(p->key, sqlite3_column_blob(s, 0), SUF_PURGE_KEY_BYTES);
    sqlite3_finalize(s);
    if (src == SQLITE_ROW)
        return suf_store_commit(p->st, err);
    if (src != SQLITE_DONE) {
        rc = suf_store_fail(p->st, err, "pseudonym_key");
        goto fail;
    }
    if (RAND_bytes(p->key, SUF_PURGE_KEY_BYTES) != 1) {
        rc = suf_err_set(err, SUF_ERR_INTERNAL,
                         "purge: no random bytes for the pseudonym key");
        goto fail;
    }
    s = suf_store_prepare(
        p->st, "INSERT INTO pseudonym_key (id, key, created_at) VALUES (1, ?1, ?2)", err);
    if (!s) {
        rc = SUF_ERR_DB;
        goto fail;
    }
    sqlite3_bind_blob(s, 1, p->key, SUF_PURGE_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, suf_run_now(p->run));
    src = sqlite3_step(s);
    sqlite3_finalize(s);
    if (src != SQLITE_DONE) {
        rc = suf_store_fail(p->st, err, "pseudonym_key");
        goto fail;
    }
    return suf_store_commit(p->st, err);
fail:
    suf_store_rollback(p->st);
    return rc;
}

static int load_prefixes(struct purge *p, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        p->st, "SELECT DISTINCT prefix FROM markets WHERE prefix <> '' ORDER BY prefix",
        err);
    size_t alloc = 0;
    int src;

    if (!s)
        return SUF_ERR_DB;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (p->nprefixes == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            p->prefixes = suf_xrealloc(p->prefixes, alloc * sizeof(*p->prefixes));
        }
        p->prefixes[p->nprefixes++] =
            suf_xstrdup((const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    if (src != SQLITE_DONE)
        return suf_store_fail(p->st, err, "markets");
    /* No map imported: prices come from suf's own, so pseudonyms keep its
     * prefixes, or a purge would move phones to "Other" and change costs. */
    if (!p->nprefixes && p->map && p->map->n) {
        p->prefixes = suf_xcalloc(p->map->n, sizeof(*p->prefixes));
        for (size_t i = 0; i < p->map->n; i++)
            p->prefixes[p->nprefixes++] = suf_xstrdup(p->map->prefixes[i]);
    }
    /* SQLite's order is memcmp's; bsearch wants strcmp's, which is the same
     * for strings without NUL, but sorting again costs nothing. */
    if (p->nprefixes)
        qsort(p->prefixes, p->nprefixes, sizeof(*p->prefixes), cmp_str);
    return SUF_OK;
}

static void purge_release(struct purge *p)
{
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(p->q[i]);
    if (p->st && p->st->db)
        functions(p, false);
    for (size_t i = 0; i < p->nprefixes; i++)
        free(p->prefixes[i]);
    free(p->prefixes);
    OPENSSL_cleanse(p->key, sizeof(p->key));
}

static int purge_init(struct purge *p, struct suf_run *run, int64_t cutoff,
                      const struct suf_purge_map *map, struct suf_purge_counts *c,
                      struct suf_err *err)
{
    int rc;

    memset(p, 0, sizeof(*p));
    p->run = run;
    p->map = map;
    p->st = run->store;
    p->cutoff = cutoff;
    p->c = c;
    if ((rc = load_key(p, err)) || (rc = load_prefixes(p, err)))
        return rc;
    if (functions(p, true))
        return suf_store_fail(p->st, err, "purge");
    for (int i = 0; i < Q_COUNT; i++)
        if (!(p->q[i] = suf_store_prepare(p->st, sql[i], err)))
            return SUF_ERR_DB;
    return SUF_OK;
}

/* --- pass 1: recipients -------------------------------------------------------- */

/* A recipient's key as stored: bytes, which may hold a NUL. */
struct unit {
    char *campaign, *phone;
    int campaign_len, phone_len;
    int64_t fallback; /* 0: none */
};

static char *col_bytes(sqlite3_stmt *s, int i, int *len)
{
    const void *v = sqlite3_column_blob(s, i);
    char *copy;

    *len = sqlite3_column_bytes(s, i);
    copy = suf_xmalloc((size_t)*len + 1);
    if (*len)
        memcpy(copy, v, (size_t)*len);
    copy[*len] = '\0';
    return copy;
}

static void bind_key(sqlite3_stmt *s, const struct unit *u)
{
    sqlite3_bind_text(s, 1, u->campaign, u->campaign_len, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, u->phone, u->phone_len, SQLITE_STATIC);
}

/* Runs `s` (bound), leaves it reset; *changes gets the rows it wrote. */
static int run_update(struct purge *p, sqlite3_stmt *s, int64_t *changes,
                      const char *what, struct suf_err *err)
{
    int src = sqlite3_step(s);

    if (changes && src == SQLITE_DONE)
        *changes += sqlite3_changes(p->st->db);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return src == SQLITE_DONE ? SUF_OK : suf_store_fail(p->st, err, what);
}

/* The unit's pseudonym, made unique within its campaign. */
static int unit_pseudonym(struct purge *p, const struct unit *u, char *out, size_t size,
                          struct suf_err *err)
{
    sqlite3_stmt *s = p->q[Q_TAKEN];
    size_t base;

    if (pseudonym_of(p, u->phone, out, size))
        return suf_err_set(err, SUF_ERR_INTERNAL, "purge: cannot compute a pseudonym");
    base = strlen(out);
    for (int n = 1; n < SUFFIX_MAX; n++) {
        int src, taken;

        if (n > 1)
            snprintf(out + base, size - base, ":%d", n);
        sqlite3_bind_text(s, 1, u->campaign, u->campaign_len, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, out, -1, SQLITE_STATIC);
        src = sqlite3_step(s);
        taken = src == SQLITE_ROW && sqlite3_column_int(s, 0);
        sqlite3_reset(s);
        if (src != SQLITE_ROW)
            return suf_store_fail(p->st, err, "purge");
        if (!taken)
            return SUF_OK;
    }
    return suf_err_set(err, SUF_ERR_INTERNAL, "purge: no free pseudonym in campaign '%s'",
                       u->campaign);
}

/* Purges one recipient; adds what it changed to *c. */
static int purge_unit(struct purge *p, const struct unit *u, struct suf_purge_counts *c,
                      struct suf_err *err)
{
    char ps[SUF_PSEUDONYM_MAX];
    sqlite3_stmt *s;
    int rc;

    if ((rc = unit_pseudonym(p, u, ps, sizeof(ps), err)))
        return rc;
    s = p->q[Q_ATTEMPTS];
    bind_key(s, u);
    sqlite3_bind_text(s, 3, ps, -1, SQLITE_STATIC);
    if ((rc = run_update(p, s, &c->attempts, "attempts", err)))
        return rc;
    s = p->q[Q_RECIPIENT];
    bind_key(s, u);
    sqlite3_bind_text(s, 3, ps, -1, SQLITE_STATIC);
    if ((rc = run_update(p, s, &c->recipients, "recipients", err)) || !u->fallback)
        return rc;
    s = p->q[Q_CANCEL];
    sqlite3_bind_int64(s, 1, u->fallback);
    sqlite3_bind_int64(s, 2, suf_run_now(p->run));
    if ((rc = run_update(p, s, &c->cancelled, "sends", err)))
        return rc;
    s = p->q[Q_BODIES];
    sqlite3_bind_int64(s, 1, u->fallback);
    if ((rc = run_update(p, s, &c->sends, "sends", err)))
        return rc;
    s = p->q[Q_INPUTS];
    sqlite3_bind_int64(s, 1, u->fallback);
    if ((rc = run_update(p, s, NULL, "fallback_inputs", err)))
        return rc;
    s = p->q[Q_FALLBACK];
    sqlite3_bind_int64(s, 1, u->fallback);
    sqlite3_bind_text(s, 2, ps, -1, SQLITE_STATIC);
    return run_update(p, s, &c->fallbacks, "fallbacks", err);
}

static void units_free(struct unit *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].campaign);
        free(v[i].phone);
    }
}

/* One transaction: the next batch of recipients after *last (n_last = 0:
 * from the start), purged; *last becomes the batch's last. */
static int units_batch(struct purge *p, struct unit *last, size_t *n_last, size_t *done,
                       struct suf_err *err)
{
    struct unit batch[UNIT_BATCH];
    struct suf_purge_counts c;
    sqlite3_stmt *s = p->q[*n_last ? Q_UNITS_NEXT : Q_UNITS_FIRST];
    size_t n = 0;
    int rc, src = SQLITE_DONE;

    memset(&c, 0, sizeof(c));
    if ((rc = suf_store_begin(p->st, err)))
        return rc;
    if (*n_last)
        bind_key(s, last);
    sqlite3_bind_int64(s, 3, p->cutoff);
    sqlite3_bind_int(s, 4, UNIT_BATCH);
    while (n < UNIT_BATCH && (src = sqlite3_step(s)) == SQLITE_ROW) {
        batch[n].campaign = col_bytes(s, 0, &batch[n].campaign_len);
        batch[n].phone = col_bytes(s, 1, &batch[n].phone_len);
        batch[n].fallback = sqlite3_column_int64(s, 2);
        n++;
    }
    if (n < UNIT_BATCH && src != SQLITE_DONE)
        rc = suf_store_fail(p->st, err, "recipients");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    for (size_t i = 0; !rc && i < n; i++)
        rc = purge_unit(p, &batch[i], &c, err);
    if (!rc)
        rc = suf_store_commit(p->st, err);
    if (rc) {
        suf_store_rollback(p->st);
        units_free(batch, n);
        return rc;
    }
    p->c->recipients += c.recipients;
    p->c->attempts += c.attempts;
    p->c->fallbacks += c.fallbacks;
    p->c->sends += c.sends;
    p->c->cancelled += c.cancelled;
    if (n) {
        units_free(last, *n_last);
        *last = batch[n - 1];
        *n_last = 1;
        units_free(batch, n - 1);
    }
    *done = n;
    return SUF_OK;
}

/* The recipients older than the cutoff that wait for the broadcast's
 * retries: kept, and said, since their outcome is not decided yet. */
static int count_waiting(struct purge *p, struct suf_err *err)
{
    sqlite3_stmt *s = p->q[Q_WAITING];
    int src;

    sqlite3_bind_int64(s, 1, p->cutoff);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        p->c->kept_waiting = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return src == SQLITE_ROW ? SUF_OK : suf_store_fail(p->st, err, "recipients");
}

static int purge_units(struct purge *p, struct suf_err *err)
{
    struct unit last = {NULL, NULL, 0, 0, 0};
    size_t n_last = 0, done = UNIT_BATCH;
    int rc = SUF_OK;

    while (done == UNIT_BATCH && !suf_run_stopping(p->run))
        if ((rc = units_batch(p, &last, &n_last, &done, err)))
            break;
    units_free(&last, n_last);
    return rc ? rc : count_waiting(p, err);
}

/* --- pass 2: events and rejects, by id ranges ------------------------------------- */

static int by_ranges(struct purge *p, const char *table, int q, int64_t *changes,
                     struct suf_err *err)
{
    char *bounds = suf_xasprintf("SELECT coalesce(min(id), 0) FROM %s", table);
    char *top = suf_xasprintf("SELECT coalesce(max(id), -1) FROM %s", table);
    int64_t lo = 0, hi = -1;
    int rc;

    rc = suf_store_scalar(p->st, bounds, NULL, &lo, err);
    if (!rc)
        rc = suf_store_scalar(p->st, top, NULL, &hi, err);
    free(bounds);
    free(top);
    for (; !rc && lo <= hi && !suf_run_stopping(p->run); lo += ID_BATCH) {
        sqlite3_stmt *s = p->q[q];
        int64_t n = 0;

        if ((rc = suf_store_begin(p->st, err)))
            break;
        sqlite3_bind_int64(s, 1, lo);
        sqlite3_bind_int64(s, 2, lo + ID_BATCH);
        sqlite3_bind_int64(s, 3, p->cutoff);
        if ((rc = run_update(p, s, &n, table, err)) ||
            (rc = suf_store_commit(p->st, err)))
            suf_store_rollback(p->st);
        else
            *changes += n;
    }
    return rc;
}

/* --- pass 3: runs ------------------------------------------------------------------- */

static int purge_runs(struct purge *p, struct suf_err *err)
{
    sqlite3_stmt *s = p->q[Q_RUNS];

    sqlite3_bind_int64(s, 1, p->cutoff);
    sqlite3_bind_int64(s, 2, p->run->id);
    return run_update(p, s, &p->c->runs, "runs", err);
}

/* --- the whole purge --------------------------------------------------------------- */

static void count_all(struct suf_run *run, const struct suf_purge_counts *c)
{
    const struct {
        const char *name;
        int64_t n;
    } v[] = {
        {"purge.recipients", c->recipients},     {"purge.attempts", c->attempts},
        {"purge.fallbacks", c->fallbacks},       {"purge.sends", c->sends},
        {"purge.cancelled", c->cancelled},       {"purge.events", c->events},
        {"purge.rejects", c->rejects},           {"purge.runs", c->runs},
        {"purge.optouts", c->optouts},           {"purge.kept_waiting", c->kept_waiting},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (v[i].n)
            suf_run_count(run, v[i].name, v[i].n);
}

/* Empties the write-ahead log into the database, whose pages the purge
 * rewrote, and truncates it; a reader still looking at older pages keeps
 * them until the next checkpoint, which is said, not an error. */
static void checkpoint(struct suf_store *st)
{
    sqlite3_stmt *s;

    if (!suf_store_is_wal(st) ||
        sqlite3_prepare_v2(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &s, NULL) !=
            SQLITE_OK)
        return;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0))
        suf_warn(
            "purge: a reader kept the write-ahead log busy; the purged rows leave it at "
            "the next checkpoint");
    sqlite3_finalize(s);
}

static void restore_secure_delete(struct suf_store *st, int64_t was)
{
    char pragma[48];

    snprintf(pragma, sizeof(pragma), "PRAGMA secure_delete = %" PRId64, was);
    suf_store_exec(st, pragma, NULL);
}

/* --- pass 4: opt-outs ---------------------------------------------------------- */

static int purge_optouts(struct purge *p, struct suf_err *err)
{
    sqlite3_stmt *s = p->q[Q_OPTOUTS];
    int rc;

    if ((rc = suf_store_begin(p->st, err)))
        return rc;
    sqlite3_bind_int64(s, 1, p->cutoff);
    if ((rc = run_update(p, s, &p->c->optouts, "optouts", err))) {
        suf_store_rollback(p->st);
        return rc;
    }
    return suf_store_commit(p->st, err);
}

/* A phone of `attempts` that is not an opt-out itself, but whose opt-out
 * pseudonym is one: the opt-out is kept again under the phone. */
static const char relink_sql[] =
    "INSERT OR IGNORE INTO optouts (phone, at, source, campaign_id) "
    "SELECT a.phone, o.at, o.source, o.campaign_id FROM "
    "(SELECT DISTINCT phone FROM attempts WHERE NOT suf_is_pseudonym(phone) "
    " AND phone NOT IN (SELECT phone FROM optouts)) a "
    "JOIN optouts o ON o.phone = suf_optout_pseudonym(a.phone)";

int suf_purge_relink_optouts(struct suf_run *run, int64_t *relinked, struct suf_err *err)
{
    struct purge p;
    int64_t n = 0;
    int rc;

    *relinked = 0;
    /* Only a store with opt-outs kept as pseudonyms has anything to do:
     * two look-ups, whatever its size. */
    if ((rc = suf_store_scalar(run->store,
                               "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE "
                               "name = 'pseudonym_key') AND EXISTS (SELECT 1 FROM optouts "
                               "WHERE phone GLOB '*#*')",
                               NULL, &n, err)) ||
        !n)
        return rc;
    memset(&p, 0, sizeof(p));
    p.run = run;
    p.st = run->store;
    if ((rc = load_key(&p, err)))
        goto out;
    if (functions(&p, true)) {
        rc = suf_store_fail(p.st, err, "optouts");
        goto out;
    }
    if ((rc = suf_store_begin(p.st, err)))
        goto out;
    if ((rc = suf_store_exec(p.st, relink_sql, err))) {
        suf_store_rollback(p.st);
        goto out;
    }
    *relinked = sqlite3_changes64(p.st->db);
    rc = suf_store_commit(p.st, err);
out:
    purge_release(&p);
    return rc;
}

int suf_purge(struct suf_run *run, int64_t cutoff, const struct suf_purge_map *map,
              struct suf_purge_counts *counts, struct suf_err *err)
{
    struct purge p;
    int64_t secure = 0;
    char when[32];
    int rc;

    memset(counts, 0, sizeof(*counts));
    if (cutoff > suf_run_now(run))
        return suf_err_set(err, SUF_ERR_USAGE, "purge: the cutoff '%s' is later than now",
                           suf_time_format(cutoff, when, sizeof(when)));
    if ((rc = suf_store_scalar(run->store, "PRAGMA secure_delete", NULL, &secure, err)) ||
        (rc = suf_store_exec(run->store, "PRAGMA secure_delete = 1", err)))
        return rc;
    rc = purge_init(&p, run, cutoff, map, counts, err);
    if (!rc)
        rc = purge_units(&p, err);
    if (!rc)
        rc = purge_optouts(&p, err);
    if (!rc)
        rc = by_ranges(&p, "events", Q_EVENTS, &counts->events, err);
    if (!rc)
        rc = by_ranges(&p, "rejects", Q_REJECTS, &counts->rejects, err);
    if (!rc && !suf_run_stopping(run))
        rc = purge_runs(&p, err);
    purge_release(&p);
    restore_secure_delete(run->store, secure);
    count_all(run, counts);
    if (rc)
        return rc;
    if (counts->recipients || counts->events || counts->rejects || counts->runs ||
        counts->optouts)
        checkpoint(run->store);
    suf_info("purge: before %s: %" PRId64 " recipients (%" PRId64 " attempts, %" PRId64
             " fallbacks, %" PRId64 " sends, %" PRId64
             " of them cancelled unsent), %" PRId64 " events, %" PRId64
             " rejected rows, %" PRId64 " runs, %" PRId64 " opt-outs; %" PRId64
             " recipients still awaiting retries kept",
             suf_time_format(cutoff, when, sizeof(when)), counts->recipients,
             counts->attempts, counts->fallbacks, counts->sends, counts->cancelled,
             counts->events, counts->rejects, counts->runs, counts->optouts,
             counts->kept_waiting);
    return SUF_OK;
}

int suf_purge_vacuum(struct suf_run *run, struct suf_err *err)
{
    int rc = suf_store_exec(run->store, "VACUUM", err);

    if (!rc)
        checkpoint(run->store);
    return rc;
}
