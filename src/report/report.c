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
 * then the summary sheets are written from the totals.
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
#include "base/util.h"
#include "report/report.h"
#include "report/report_priv.h"
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

/* Removes temporary files a killed run left in `dir` for `prefix`
 * (".<name>_<date>.xlsx.tmp<pid>"): the store lock keeps two reports of
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
            strstr(de->d_name, ".xlsx.tmp")) {
            char *path = suf_xasprintf("%s/%s", dir, de->d_name);
            unlink(path);
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

void rep_place_campaign(const struct rep_ctx *ctx, struct rep_campaign *c)
{
    suf_report_safe_name(c->id, c->safe, sizeof(c->safe));
    free(c->relpath);
    c->relpath = suf_xasprintf("%s/%s_%s.xlsx", c->safe, c->safe, ctx->as_of_date);
}

int rep_render_campaign(struct rep_ctx *ctx, struct rep_campaign *c, const struct rep_sink *sink,
                        int64_t rows_per_sheet, struct suf_err *err)
{
    struct rep_book b;
    int rc;

    if ((rc = rep_scan_campaign(ctx, c, err)))
        return rc;
    rep_book_begin(&b, ctx, c, sink, rows_per_sheet);
    if ((rc = rep_scan_fallbacks(ctx, c, rep_book_fallback, &b, err)))
        return rc;
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

/* Writes one campaign's workbook; fills `c` with its figures. */
static int write_campaign(struct rep_ctx *ctx, const struct rep_formats *f, const char *root,
                          struct rep_campaign *c, struct suf_err *err)
{
    struct rep_xlsx *x = NULL;
    struct rep_sink sink;
    char *dir, *final, *tmp, *title;
    int rc;

    rep_place_campaign(ctx, c);
    dir = suf_xasprintf("%s/%s", root, c->safe);
    final = suf_xasprintf("%s/%s", root, c->relpath);
    tmp = suf_xasprintf("%s/.%s_%s.xlsx.tmp%ld", dir, c->safe, ctx->as_of_date, (long)getpid());
    title = suf_xasprintf("suf report: %s", c->id);
    if ((rc = make_dir(dir, err)))
        goto out;
    remove_stale(dir, c->safe);
    x = rep_xlsx_open(tmp, dir, title, ctx->as_of, f->spec);
    if (!x) {
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, final, 0, "cannot create workbook");
        goto out;
    }
    sink = rep_xlsx_sink(x);
    if ((rc = rep_render_campaign(ctx, c, &sink, SUF_REPORT_ROWS_PER_SHEET, err)))
        goto out;
    rc = finish_workbook(x, tmp, final, err);
    x = NULL;
    if (!rc) {
        suf_info("report: %s (%lld fallbacks)", final, (long long)c->funnel[REP_FALLBACKS]);
        suf_run_count(ctx->run, "report.workbooks", 1);
        suf_run_count(ctx->run, "report.fallbacks", c->funnel[REP_FALLBACKS]);
        warn_unpriced(ctx, c);
    }
out:
    if (x) {
        rep_xlsx_discard(x); /* the half-written file goes */
        unlink(tmp);
    }
    free(title);
    free(tmp);
    free(final);
    free(dir);
    return rc;
}

static int write_portfolio(struct rep_ctx *ctx, const struct rep_formats *f, const char *root,
                           struct rep_campaign *const *cs, int n, struct suf_err *err)
{
    char *final = suf_xasprintf("%s/portfolio_%s.xlsx", root, ctx->as_of_date);
    char *tmp = suf_xasprintf("%s/.portfolio_%s.xlsx.tmp%ld", root, ctx->as_of_date,
                              (long)getpid());
    struct rep_xlsx *x;
    struct rep_sink sink;
    int rc;

    remove_stale(root, "portfolio_");
    x = rep_xlsx_open(tmp, root, "suf portfolio", ctx->as_of, f->spec);
    if (!x) {
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, final, 0, "cannot create workbook");
        goto out;
    }
    sink = rep_xlsx_sink(x);
    rep_render_portfolio(ctx, &sink, cs, n);
    rc = finish_workbook(x, tmp, final, err);
    if (!rc) {
        suf_info("report: %s (%d campaigns)", final, n);
        suf_run_count(ctx->run, "report.workbooks", 1);
    }
out:
    free(tmp);
    free(final);
    return rc;
}

int suf_report_write(struct suf_run *run, const char *out_dir, struct suf_err *err)
{
    struct rep_ctx ctx;
    struct rep_formats f;
    struct rep_campaign **cs = NULL;
    const char *root = out_dir ? out_dir : run->cfg->reports_dir;
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
        if ((rc = write_campaign(&ctx, &f, root, c, err)))
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
    if (!run->campaign && !suf_run_stopping(run))
        rc = write_portfolio(&ctx, &f, root, cs, n, err);
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
