/*
 * report.c: `suf report`'s driver: which campaigns, where each workbook goes,
 * and writing it safely (see report.h for the contract).
 *
 * A workbook is written by libxlsxwriter to a hidden temporary file in its
 * final folder, then renamed over the final name, so a reader (or a crash)
 * never meets half a file.  Sheets are added in reading order, but filled in
 * the order constant-memory mode allows: the Fallbacks sheets stream first,
 * while the campaign is costed, then the summary sheets are written from the
 * totals.
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
#include "base/version.h"
#include "report/report.h"
#include "report/report_priv.h"
#include "store/store.h"
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

/* A new constant-memory workbook at `tmp`, its temporary files in `dir`.
 * The creation date is the as-of time, so two runs differ in nothing. */
static lxw_workbook *open_workbook(const struct rep_ctx *ctx, const char *tmp, char *dir,
                                   const char *title)
{
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = dir, .use_zip64 = 0};
    char title_buf[256], author[64], comments[64];
    lxw_doc_properties props;
    lxw_workbook *wb = workbook_new_opt(tmp, &opt);

    if (!wb)
        return NULL;
    /* libxlsxwriter copies these; its struct just is not const. */
    suf_strlcpy(title_buf, title, sizeof(title_buf));
    suf_strlcpy(author, "suf " SUF_VERSION, sizeof(author));
    suf_strlcpy(comments, "Smart Utility Fallback report", sizeof(comments));
    memset(&props, 0, sizeof(props));
    props.title = title_buf;
    props.author = author;
    props.comments = comments;
    props.created = (time_t)ctx->as_of;
    workbook_set_properties(wb, &props);
    return wb;
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

static int close_workbook(lxw_workbook *wb, const char *tmp, const char *final,
                          struct suf_err *err)
{
    lxw_error e = workbook_close(wb);

    if (e != LXW_NO_ERROR) {
        unlink(tmp);
        return suf_err_at(err, SUF_ERR_IO, final, 0, "cannot write workbook: %s",
                          lxw_strerror(e));
    }
    return publish(tmp, final, err);
}

/* Writes one campaign's workbook; fills `c` with its figures. */
static int write_campaign(struct rep_ctx *ctx, const char *root, struct rep_campaign *c,
                          struct suf_err *err)
{
    struct rep_formats f;
    struct rep_fb_writer w;
    lxw_worksheet *summary, *markets, *scen, *excl, *inputs;
    lxw_workbook *wb = NULL;
    char *dir, *final, *tmp, *title;
    int rc;

    suf_report_safe_name(c->id, c->safe, sizeof(c->safe));
    dir = suf_xasprintf("%s/%s", root, c->safe);
    c->relpath = suf_xasprintf("%s/%s_%s.xlsx", c->safe, c->safe, ctx->as_of_date);
    final = suf_xasprintf("%s/%s", root, c->relpath);
    tmp = suf_xasprintf("%s/.%s_%s.xlsx.tmp%ld", dir, c->safe, ctx->as_of_date, (long)getpid());
    title = suf_xasprintf("suf report: %s", c->id);
    if ((rc = make_dir(dir, err)))
        goto out;
    remove_stale(dir, c->safe);
    if ((rc = rep_scan_header(ctx, c, err)))
        goto out;
    wb = open_workbook(ctx, tmp, dir, title);
    if (!wb) {
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, final, 0, "cannot create workbook");
        goto out;
    }
    rep_formats_add(wb, ctx, &f);
    summary = workbook_add_worksheet(wb, "Summary");
    markets = workbook_add_worksheet(wb, "By market");
    scen = workbook_add_worksheet(wb, "By scenario");
    excl = workbook_add_worksheet(wb, "Exclusions");
    memset(&w, 0, sizeof(w));
    w.wb = wb;
    w.ctx = ctx;
    w.f = &f;
    w.rows_per_sheet = SUF_REPORT_ROWS_PER_SHEET;
    rep_fb_writer_begin(&w);
    if ((rc = rep_scan_fallbacks(ctx, c, rep_fb_writer_row, &w, err)))
        goto out;
    rep_fb_writer_end(&w);
    inputs = workbook_add_worksheet(wb, "Inputs");
    if ((rc = rep_sheet_inputs(inputs, ctx, &f, c, err)))
        goto out;
    rep_sheet_summary(wb, summary, ctx, &f, c);
    rep_sheet_markets(markets, ctx, &f, c);
    rep_sheet_scenarios(scen, &f, c);
    rep_sheet_exclusions(excl, &f, c);
    worksheet_activate(summary);
    rc = close_workbook(wb, tmp, final, err);
    wb = NULL;
    if (!rc) {
        suf_info("report: %s (%lld fallbacks)", final, (long long)c->funnel[2]);
        suf_run_count(ctx->run, "report.workbooks", 1);
        suf_run_count(ctx->run, "report.fallbacks", c->funnel[2]);
    }
out:
    if (wb) {
        workbook_close(wb); /* frees it; the half-written file goes */
        unlink(tmp);
    }
    free(title);
    free(tmp);
    free(final);
    free(dir);
    return rc;
}

static int write_portfolio(struct rep_ctx *ctx, const char *root, struct rep_campaign *const *cs,
                           int n, struct suf_err *err)
{
    char *final = suf_xasprintf("%s/portfolio_%s.xlsx", root, ctx->as_of_date);
    char *tmp = suf_xasprintf("%s/.portfolio_%s.xlsx.tmp%ld", root, ctx->as_of_date,
                              (long)getpid());
    char *dir = suf_xstrdup(root);
    struct rep_formats f;
    lxw_workbook *wb;
    lxw_worksheet *ws, *info;
    lxw_row_t r = 0;
    int rc;

    remove_stale(root, "portfolio_");
    wb = open_workbook(ctx, tmp, dir, "suf portfolio");

    if (!wb) {
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, final, 0, "cannot create workbook");
        goto out;
    }
    rep_formats_add(wb, ctx, &f);
    ws = workbook_add_worksheet(wb, "Campaigns");
    info = workbook_add_worksheet(wb, "Inputs");
    rep_sheet_portfolio(ws, ctx, &f, cs, n);
    worksheet_set_column(info, 0, 0, 36, NULL);
    worksheet_set_column(info, 1, 1, 30, NULL);
    worksheet_write_string(info, r, 0, "Item", f.header);
    worksheet_write_string(info, r++, 1, "Value", f.header);
    worksheet_write_string(info, r, 0, "As of (UTC)", f.bold);
    rep_write_time(info, r++, 1, ctx->as_of, f.datetime);
    worksheet_write_string(info, r, 0, "suf version", f.bold);
    worksheet_write_string(info, r++, 1, SUF_VERSION, NULL);
    worksheet_write_string(info, r, 0, "Currency", f.bold);
    worksheet_write_string(info, r++, 1, suf_money_currency(ctx->money), NULL);
    worksheet_write_string(info, r, 0, "Utility message billed as (policy)", f.bold);
    worksheet_write_string(info, r++, 1, suf_category_name(ctx->bill.utility_as), NULL);
    worksheet_write_string(info, r, 0, "Session message billed as (policy)", f.bold);
    worksheet_write_string(info, r++, 1, suf_category_name(ctx->bill.session_as), NULL);
    worksheet_write_string(info, r, 0, "Session billing (policy)", f.bold);
    worksheet_write_string(info, r++, 1,
                           ctx->bill.per_conversion ? "per_conversion" : "per_message", NULL);
    worksheet_freeze_panes(info, 1, 0);
    rc = close_workbook(wb, tmp, final, err);
    if (!rc) {
        suf_info("report: %s (%d campaigns)", final, n);
        suf_run_count(ctx->run, "report.workbooks", 1);
    }
out:
    free(dir);
    free(tmp);
    free(final);
    return rc;
}

/* The number format of money: "#,##0.0000 "USD"", the code only when it
 * is three capitals (it is config, but it still lands in the file). */
static void money_formats(struct rep_ctx *ctx)
{
    const char *cur = suf_money_currency(ctx->money);
    bool ok = strlen(cur) == 3;

    for (int i = 0; ok && i < 3; i++)
        ok = cur[i] >= 'A' && cur[i] <= 'Z';
    snprintf(ctx->money_format, sizeof(ctx->money_format), ok ? "#,##0.0000 \"%s\"" : "#,##0.0000%s",
             ok ? cur : "");
    snprintf(ctx->rate_format, sizeof(ctx->rate_format), ok ? "#,##0.0000 \"%s\"" : "#,##0.0000%s",
             ok ? cur : "");
}

/* Frees what the portfolio does not need of a finished campaign. */
static void trim_campaign(struct rep_campaign *c)
{
    for (int i = 0; i < c->nreasons; i++)
        free(c->reasons[i].reason);
    free(c->reasons);
    c->reasons = NULL;
    c->nreasons = 0;
    free(c->markets);
    c->markets = NULL;
    free(c->card_charges);
    c->card_charges = NULL;
}

static int campaign_exists(struct rep_ctx *ctx, const char *id, bool *yes, struct suf_err *err)
{
    int64_t n;
    int rc = suf_store_scalar(ctx->run->store,
                              "SELECT EXISTS (SELECT 1 FROM attempts WHERE campaign_id = ?1) OR "
                              "EXISTS (SELECT 1 FROM recipients WHERE campaign_id = ?1) OR "
                              "EXISTS (SELECT 1 FROM fallbacks WHERE campaign_id = ?1)",
                              id, &n, err);
    *yes = n != 0;
    return rc;
}

int suf_report_write(struct suf_run *run, const char *out_dir, struct suf_err *err)
{
    struct rep_ctx ctx;
    struct rep_campaign **cs = NULL;
    const char *root = out_dir ? out_dir : run->cfg->reports_dir;
    char *id = NULL;
    int n = 0, id_len = 0, rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.run = run;
    /* The clock's base, not suf_run_now(): the as-of time must not drift
     * with the seconds the run has taken, or two runs with the same --now
     * would differ. */
    ctx.as_of = run->clock.base;
    ctx.as_of_day = suf_day_of(ctx.as_of);
    suf_day_format(ctx.as_of_day, ctx.as_of_date, sizeof(ctx.as_of_date));
    suf_billing_from_config(&ctx.bill, run->cfg);
    if ((rc = suf_money_load(&ctx.money, run->store, run->cfg->currency, err)))
        return rc;
    money_formats(&ctx);
    if (!suf_money_ncards(ctx.money))
        suf_warn("report: no %s rate card imported; every cost shows as 0 "
                 "(suf import rates FILE --effective YYYY-MM-DD)",
                 run->cfg->currency);
    if ((rc = make_dirs(root, err)))
        goto out;
    if (run->campaign) {
        bool yes = false;
        if ((rc = campaign_exists(&ctx, run->campaign, &yes, err)))
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
        if ((rc = write_campaign(&ctx, root, c, err)))
            goto out;
        trim_campaign(c);
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
        rc = write_portfolio(&ctx, root, cs, n, err);
out:
    free(id);
    for (int i = 0; i < n; i++) {
        rep_campaign_release(cs[i]);
        free(cs[i]);
    }
    free(cs);
    suf_money_free(ctx.money);
    return rc;
}
