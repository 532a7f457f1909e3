/*
 * report.c: `suf report`'s driver: which campaigns, where each workbook goes,
 * and writing it safely (see report.h for the contract).
 *
 * The figures come from report_data.c, the cells from report_sheets.c, and
 * the file from report_xlsx.c; this file joins them.  A workbook is written
 * to a hidden temporary file in its final folder, then renamed over the
 * final name, so a reader (or a crash) never meets half a file.  Sheets are
 * added in reading order, but filled in the order constant-memory mode
 * allows: the Fallbacks sheets stream first, while the campaign is costed,
 * then the summary sheets are written from the totals.  With CSV, the
 * workbook's sink and the CSV sink are fed together through a tee
 * (report_tee.h), so the campaign is read once and both say the same; the
 * CSV files are written in a hidden folder that is renamed into place once
 * every file and the workbook are complete.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/phone.h"
#include "base/progress.h"
#include "base/util.h"
#include "report/report.h"
#include "report/report_csv.h"
#include "report/report_priv.h"
#include "report/report_tee.h"
#include "report/report_xlsx.h"
#include "base/banned.h"

#define SAFE_MAX 80

char *suf_report_safe_name(const char *id, char *out, size_t size)
{
    size_t n = strlen(id), o = 0;
    bool changed = n == 0 || n > SAFE_MAX;

    if (size < 2)
        return out;
    for (size_t i = 0; i < n && o < SAFE_MAX && o + 1 < size; i++) {
        unsigned char ch = (unsigned char)id[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && o > 0);
        out[o++] = ok ? (char)ch : '_';
        changed |= !ok;
    }
    if (!o)
        out[o++] = '_';
    out[o] = '\0';
    if (changed) {
        char hex[SUF_SHA256_HEX];

        /* The hash keeps "a/b" and "a_b" apart. */
        suf_sha256_buf(id, n, hex);
        snprintf(out + o, size - o, "-%.8s", hex);
    }
    return out;
}

static int make_dir(const char *path, struct suf_err *err)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            return SUF_OK;
        return suf_err_at(err, SUF_ERR_CANTCREAT, path, 0, "not a folder");
    }
    return suf_err_at(err, SUF_ERR_CANTCREAT, path, 0, "cannot create folder: %s",
                      strerror(errno));
}

/* Makes `path` and its missing parents. */
static int make_dirs(const char *path, struct suf_err *err)
{
    char *p = suf_xstrdup(path);
    int rc = SUF_OK;

    for (char *s = p + 1; *s && !rc; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        rc = make_dir(p, err);
        *s = '/';
    }
    if (!rc)
        rc = make_dir(p, err);
    free(p);
    return rc;
}

/* Syncs, sets the mode and renames the finished temporary file. */
static int publish(const char *tmp, const char *final, struct suf_err *err)
{
    mode_t mask = umask(0);
    int fd;

    umask(mask);
    fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fchmod(fd, 0640 & ~mask) != 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return suf_err_at(err, SUF_ERR_IO, tmp, 0, "cannot finish workbook: %s", strerror(e));
    }
    close(fd);
    if (rename(tmp, final) != 0) {
        int e = errno;
        unlink(tmp);
        return suf_err_at(err, SUF_ERR_CANTCREAT, final, 0, "cannot write workbook: %s",
                          strerror(e));
    }
    return SUF_OK;
}

/* Removes the folder `path` and the files in it (the CSV folders hold
 * files only); true when it is gone. */
static bool remove_folder(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;

    if (!d)
        return false;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            char *f = suf_xasprintf("%s/%s", path, de->d_name);
            unlink(f);
            free(f);
        }
    }
    closedir(d);
    return rmdir(path) == 0;
}

/* Removes temporary files a killed run left in `dir` for `prefix`
 * (".<name>_<date>.xlsx.tmp<pid>", and the CSV folders ".<name>_<date>
 * .csv.tmp<pid>" and ".csv.old<pid>"): the store lock keeps two reports of
 * one database apart, so any such file is stale. */
static void remove_stale(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = strlen(prefix);

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && !strncmp(de->d_name + 1, prefix, n) &&
            (strstr(de->d_name, ".xlsx.tmp") || strstr(de->d_name, ".csv.tmp") ||
             strstr(de->d_name, ".csv.old"))) {
            char *path = suf_xasprintf("%s/%s", dir, de->d_name);
            if (unlink(path) != 0)
                remove_folder(path);
            free(path);
        }
    }
    closedir(d);
}

/* Writes the finished workbook `x` and renames it into place; on failure
 * removes the temporary file. */
static int finish_workbook(struct rep_xlsx *x, const char *tmp, const char *final,
                           struct suf_err *err)
{
    int rc = rep_xlsx_close(x, final, err);

    if (rc) {
        unlink(tmp);
        return rc;
    }
    return publish(tmp, final, err);
}

/* --- the CSV tables beside a workbook ---------------------------------------------- */

/* A workbook's CSV folder being written. */
struct csv_out {
    char *tmp, *final; /* folders: the hidden one written, the published one */
    char *old;         /* where an earlier run's folder waits to be removed */
    struct rep_csv *csv;
    struct rep_tee *tee;
    bool published;
};

/* Whether `path` holds only files named *.csv: a CSV folder of an earlier
 * run, which may be replaced whole.  Anything else (a campaign's own folder
 * that happens to bear the name) is never touched. */
static bool csv_folder(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    bool ok = d != NULL;

    while (ok && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char *f;
        struct stat sb;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        f = suf_xasprintf("%s/%s", path, de->d_name);
        ok = n > 4 && !strcmp(de->d_name + n - 4, ".csv") && lstat(f, &sb) == 0 &&
             S_ISREG(sb.st_mode);
        free(f);
    }
    if (d)
        closedir(d);
    return ok;
}

/* Starts the CSV folder `stem` in `dir` and makes *sink the tee of `book`
 * (the workbook's sink) and the CSV sink. */
static int csv_begin(struct csv_out *o, const char *dir, const char *stem,
                     const struct rep_sink *book, struct rep_sink *sink, struct suf_err *err)
{
    struct rep_sink csink;

    o->final = suf_xasprintf("%s/%s", dir, stem);
    o->tmp = suf_xasprintf("%s/.%s.csv.tmp%ld", dir, stem, (long)getpid());
    o->old = suf_xasprintf("%s/.%s.csv.old%ld", dir, stem, (long)getpid());
    if (mkdir(o->tmp, 0750) != 0)
        return suf_err_at(err, SUF_ERR_CANTCREAT, o->tmp, 0, "cannot create folder: %s",
                          strerror(errno));
    o->csv = rep_csv_open(o->tmp, 0640);
    csink = rep_csv_sink(o->csv);
    o->tee = rep_tee_new(book, &csink);
    *sink = rep_tee_sink(o->tee);
    return SUF_OK;
}

/* Completes and syncs every file, still in the hidden folder. */
static int csv_close_files(struct csv_out *o, struct suf_err *err)
{
    int rc = rep_csv_close(o->csv, err);

    o->csv = NULL;
    return rc;
}

/* Renames the hidden folder into place, over the folder of an earlier run
 * of the same day (moved aside first, then removed). */
static int csv_publish(struct csv_out *o, struct suf_err *err)
{
    struct stat sb;
    bool replacing = lstat(o->final, &sb) == 0;

    if (replacing) {
        if (!S_ISDIR(sb.st_mode) || !csv_folder(o->final))
            return suf_err_at(err, SUF_ERR_CANTCREAT, o->final, 0,
                              "cannot write CSV tables: the name is taken by something other "
                              "than a folder of CSV files");
        if (rename(o->final, o->old) != 0)
            return suf_err_at(err, SUF_ERR_CANTCREAT, o->final, 0,
                              "cannot replace CSV tables: %s", strerror(errno));
    }
    if (rename(o->tmp, o->final) != 0) {
        int e = errno;

        if (replacing)
            rename(o->old, o->final); /* the earlier tables stay rather than none */
        return suf_err_at(err, SUF_ERR_CANTCREAT, o->final, 0, "cannot write CSV tables: %s",
                          strerror(e));
    }
    o->published = true;
    if (replacing)
        remove_folder(o->old);
    return SUF_OK;
}

/* Frees o; the hidden folder goes unless it was published. */
static void csv_end(struct csv_out *o)
{
    rep_csv_discard(o->csv);
    rep_tee_free(o->tee);
    if (o->tmp && !o->published)
        remove_folder(o->tmp);
    free(o->tmp);
    free(o->final);
    free(o->old);
    memset(o, 0, sizeof(*o));
}

void rep_place_campaign(const struct rep_ctx *ctx, struct rep_campaign *c)
{
    suf_report_safe_name(c->id, c->safe, sizeof(c->safe));
    free(c->relpath);
    c->relpath = suf_xasprintf("%s/%s_%s.xlsx", c->safe, c->safe, ctx->as_of_date);
}

/* The book and the progress line that its Fallbacks rows move. */
struct counted_book {
    struct rep_book *b;
    struct suf_progress bar;
};

static int book_fallback_counted(void *user, const struct rep_fallback *fb, struct suf_err *err)
{
    struct counted_book *cb = user;

    suf_progress_set(&cb->bar, cb->bar.done + 1);
    return rep_book_fallback(cb->b, fb, err);
}

int rep_render_campaign(struct rep_ctx *ctx, struct rep_campaign *c, const struct rep_sink *sink,
                        int64_t rows_per_sheet, struct suf_err *err)
{
    struct rep_book b;
    struct counted_book cb = {&b, {0}};
    int64_t total = 0;
    int rc;

    if ((rc = rep_scan_campaign(ctx, c, err)))
        return rc;
    rep_book_begin(&b, ctx, c, sink, rows_per_sheet);
    if (suf_progress_wanted())
        suf_store_scalar(ctx->run->store, "SELECT count(*) FROM fallbacks WHERE campaign_id = ?1",
                         c->id, &total, NULL);
    suf_progress_start(&cb.bar, "report", total);
    if ((rc = rep_scan_left_out(ctx, c, REP_LEFT_EXCLUDED, rep_book_excluded, &b, err)) ||
        (rc = rep_scan_left_out(ctx, c, REP_LEFT_WAITING, rep_book_waiting, &b, err)) ||
        (rc = rep_scan_fallbacks(ctx, c, book_fallback_counted, &cb, err))) {
        suf_progress_end(&cb.bar);
        return rc;
    }
    suf_progress_end(&cb.bar);
    rep_book_finish(&b, c);
    return SUF_OK;
}

/* One warning per campaign with unpriced charges: a workbook that cannot
 * give every cost is still written (and the run still succeeds), but the
 * operator hears of it, as finance sees it on the Summary. */
static void warn_unpriced(const struct rep_ctx *ctx, const struct rep_campaign *c)
{
    int64_t all = c->charges_webhook + c->charges_estimated + c->charges_unpriced;

    if (!c->charges_unpriced)
        return;
    suf_warn("report: campaign '%s': %lld of %lld charges unpriced (no rate card for their "
             "day, or n/a for their market and category); their cells are blank",
             c->id, (long long)c->charges_unpriced, (long long)all);
    suf_run_count(ctx->run, "report.unpriced_charges", c->charges_unpriced);
}

/* Writes one campaign's workbook, and its CSV tables when `csv`; fills `c`
 * with its figures. */
static int write_campaign(struct rep_ctx *ctx, const struct rep_formats *f, const char *root,
                          bool csv, struct rep_campaign *c, struct suf_err *err)
{
    struct rep_xlsx *x = NULL;
    struct rep_sink book, sink;
    struct csv_out co;
    char *dir, *final, *tmp, *title, *stem;
    int rc;

    memset(&co, 0, sizeof(co));
    rep_place_campaign(ctx, c);
    dir = suf_xasprintf("%s/%s", root, c->safe);
    final = suf_xasprintf("%s/%s", root, c->relpath);
    tmp = suf_xasprintf("%s/.%s_%s.xlsx.tmp%ld", dir, c->safe, ctx->as_of_date, (long)getpid());
    title = suf_xasprintf("suf report: %s", c->id);
    stem = suf_xasprintf("%s_%s", c->safe, ctx->as_of_date);
    if ((rc = make_dir(dir, err)))
        goto out;
    remove_stale(dir, c->safe);
    x = rep_xlsx_open(tmp, dir, title, ctx->as_of, f->spec);
    if (!x) {
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, final, 0, "cannot create workbook");
        goto out;
    }
    sink = book = rep_xlsx_sink(x);
    if (csv && (rc = csv_begin(&co, dir, stem, &book, &sink, err)))
        goto out;
    if ((rc = rep_render_campaign(ctx, c, &sink, SUF_REPORT_ROWS_PER_SHEET, err)) ||
        (csv && (rc = csv_close_files(&co, err))))
        goto out;
    rc = finish_workbook(x, tmp, final, err);
    x = NULL;
    if (!rc && csv)
        rc = csv_publish(&co, err);
    if (!rc) {
        suf_info("report: %s (%lld fallbacks)", final, (long long)c->funnel[REP_FALLBACKS]);
        suf_run_count(ctx->run, "report.workbooks", 1);
        suf_run_count(ctx->run, "report.fallbacks", c->funnel[REP_FALLBACKS]);
        warn_unpriced(ctx, c);
    }
    if (!rc && csv) {
        suf_info("report: %s/ (CSV tables)", co.final);
        suf_run_count(ctx->run, "report.csv_folders", 1);
    }
out:
    if (x) {
        rep_xlsx_discard(x); /* the half-written file goes */
        unlink(tmp);
    }
    csv_end(&co);
    free(stem);
    free(title);
    free(tmp);
    free(final);
    free(dir);
    return rc;
}

static int write_portfolio(struct rep_ctx *ctx, const struct rep_formats *f, const char *root,
                           bool csv, struct rep_campaign *const *cs, int n, struct suf_err *err)
{
    struct rep_billed mb;
    char *final = suf_xasprintf("%s/portfolio_%s.xlsx", root, ctx->as_of_date);
    char *tmp = suf_xasprintf("%s/.portfolio_%s.xlsx.tmp%ld", root, ctx->as_of_date,
                              (long)getpid());
    char *stem = suf_xasprintf("portfolio_%s", ctx->as_of_date);
    struct rep_xlsx *x;
    struct rep_sink book, sink;
    struct csv_out co;
    int rc;

    memset(&co, 0, sizeof(co));
    /* What Meta billed is read before the file is made: a failure leaves
     * the last good portfolio in place. */
    if ((rc = rep_scan_meta_billed(ctx, &mb, err)))
        goto out;
    remove_stale(root, "portfolio_");
    x = rep_xlsx_open(tmp, root, "suf portfolio", ctx->as_of, f->spec);
    if (!x) {
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, final, 0, "cannot create workbook");
        goto out;
    }
    sink = book = rep_xlsx_sink(x);
    if (csv && (rc = csv_begin(&co, root, stem, &book, &sink, err))) {
        rep_xlsx_discard(x);
        unlink(tmp);
        goto out;
    }
    rep_render_portfolio(ctx, &sink, cs, n, &mb);
    if (csv && (rc = csv_close_files(&co, err))) {
        rep_xlsx_discard(x);
        unlink(tmp);
        goto out;
    }
    rc = finish_workbook(x, tmp, final, err);
    if (!rc && csv)
        rc = csv_publish(&co, err);
    if (!rc) {
        suf_info("report: %s (%d campaigns)", final, n);
        suf_run_count(ctx->run, "report.workbooks", 1);
    }
    if (!rc && csv) {
        suf_info("report: %s/ (CSV tables)", co.final);
        suf_run_count(ctx->run, "report.csv_folders", 1);
    }
out:
    rep_billed_release(&mb);
    csv_end(&co);
    free(stem);
    free(tmp);
    free(final);
    return rc;
}

/* A phone as a log line shows it: always masked, as the config says
 * phones are masked, whatever the workbooks do. */
static char *log_phone(const struct suf_config *cfg, const char *digits, char *out, size_t size)
{
    return suf_phone_mask(digits, (int)cfg->mask_keep_first, (int)cfg->mask_keep_last, out,
                          size);
}

/* Says once for the whole run how many phones matched no prefix of the
 * market map, with one of them: a phone priced as "Other" in silence is
 * what the warning is for.  Each Summary and Inputs sheet has the count. */
static void warn_no_market(const struct rep_ctx *ctx, struct rep_campaign *const *cs, int n)
{
    const struct suf_config *cfg = ctx->run->cfg;
    const char *example = NULL;
    char masked[SUF_PHONE_MAX + 8];
    int64_t phones = 0;
    int campaigns = 0;

    for (int i = 0; i < n; i++) {
        if (!cs[i]->no_market)
            continue;
        phones += cs[i]->no_market;
        campaigns++;
        if (!example)
            example = cs[i]->no_market_example;
    }
    if (!phones)
        return;
    suf_warn("report: %lld phone%s in %d campaign%s match no prefix of the market map "
             "(e.g. '%s'): %s; see 'Phones with no market' on the Summary",
             (long long)phones, phones == 1 ? "" : "s", campaigns, campaigns == 1 ? "" : "s",
             log_phone(cfg, example, masked, sizeof(masked)),
             suf_money_market_id(ctx->money, "Other") >= 0 ? "priced as 'Other'"
                                                            : "no market, so no rate");
    suf_run_count(ctx->run, "report.phones_no_market", phones);
}

int suf_report_no_market(struct suf_run *run, const char *campaign, int64_t *n, char *example,
                         size_t size, struct suf_err *err)
{
    struct rep_ctx ctx;
    struct rep_campaign c;
    int rc;

    *n = 0;
    if (size)
        example[0] = '\0';
    if ((rc = rep_ctx_init(&ctx, run, err))) {
        rep_ctx_release(&ctx);
        return rc;
    }
    rep_campaign_init(&c, &ctx, campaign);
    rc = rep_scan_no_market(&ctx, &c, err);
    *n = c.no_market;
    if (c.no_market_example && size)
        log_phone(run->cfg, c.no_market_example, example, size);
    rep_campaign_release(&c);
    rep_ctx_release(&ctx);
    return rc;
}

int suf_report_write_opts(struct suf_run *run, const struct suf_report_opts *opts,
                          struct suf_err *err)
{
    struct rep_ctx ctx;
    struct rep_formats f;
    struct rep_campaign **cs = NULL;
    const char *root = opts->out_dir ? opts->out_dir : run->cfg->reports_dir;
    char *id = NULL;
    int n = 0, id_len = 0, rc;

    if ((rc = rep_ctx_init(&ctx, run, err)))
        goto out;
    rep_formats_init(&f, suf_money_currency(ctx.money));
    if (!suf_money_ncards(ctx.money))
        suf_warn("report: no %s rate card imported; every charge is unpriced "
                 "(suf import rates FILE --effective YYYY-MM-DD)",
                 run->cfg->currency);
    if ((rc = make_dirs(root, err)))
        goto out;
    if (run->campaign) {
        bool yes = false;
        if ((rc = rep_campaign_exists(&ctx, run->campaign, &yes, err)))
            goto out;
        if (!yes) {
            rc = suf_err_set(err, SUF_ERR_NOTFOUND, "campaign '%s' not found", run->campaign);
            goto out;
        }
        id = suf_xstrdup(run->campaign);
        id_len = (int)strlen(id);
    } else if ((rc = rep_next_campaign(&ctx, "", 0, &id, &id_len, err))) {
        goto out;
    }
    while (id) {
        struct rep_campaign *c;
        char *next = NULL;
        int next_len = 0;

        if (strlen(id) != (size_t)id_len) {
            /* No C string, so no query, can name it: say so and go on. */
            suf_warn("report: skipped a campaign id holding a NUL byte ('%s...')", id);
            suf_run_count(run, "report.skipped_campaigns", 1);
            goto next;
        }
        c = suf_xmalloc(sizeof(*c));
        rep_campaign_init(c, &ctx, id);
        cs = suf_xrealloc(cs, (size_t)(n + 1) * sizeof(*cs));
        cs[n++] = c;
        if ((rc = write_campaign(&ctx, &f, root, opts->csv, c, err)))
            goto out;
        rep_campaign_trim(c);
    next:
        if (run->campaign || suf_run_stopping(run))
            break;
        if ((rc = rep_next_campaign(&ctx, id, id_len, &next, &next_len, err)))
            goto out;
        free(id);
        id = next;
        id_len = next_len;
    }
    warn_no_market(&ctx, cs, n);
    if (!run->campaign && !suf_run_stopping(run))
        rc = write_portfolio(&ctx, &f, root, opts->csv, cs, n, err);
out:
    free(id);
    for (int i = 0; i < n; i++) {
        rep_campaign_release(cs[i]);
        free(cs[i]);
    }
    free(cs);
    rep_ctx_release(&ctx);
    return rc;
}

int suf_report_write(struct suf_run *run, const char *out_dir, struct suf_err *err)
{
    struct suf_report_opts opts = {out_dir, run->cfg->csv_export};

    return suf_report_write_opts(run, &opts, err);
}
