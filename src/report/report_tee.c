/*
 * report_tee.c: a sink that passes every call to two sinks (see
 * report_tee.h).  A sheet of the tee is the pair of the two sinks' sheets;
 * the tee keeps the pairs, a few per workbook, until it is freed.
 */
#include <stdlib.h>

#include "base/util.h"
#include "report/report_tee.h"
#include "base/banned.h"

struct pair {
    void *a, *b;
};

struct rep_tee {
    struct rep_sink a, b;
    struct pair **sheets;
    int nsheets;
};

static void *add_sheet(void *self, const char *name)
{
    struct rep_tee *t = self;
    struct pair *p = suf_xmalloc(sizeof(*p));

    p->a = t->a.ops->add_sheet(t->a.self, name);
    p->b = t->b.ops->add_sheet(t->b.self, name);
    t->sheets = suf_xrealloc(t->sheets, (size_t)(t->nsheets + 1) * sizeof(*t->sheets));
    t->sheets[t->nsheets++] = p;
    return p;
}

static void text(void *self, void *ws, uint32_t row, uint16_t col, const char *s,
                 enum rep_fmt fmt)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->text(t->a.self, p->a, row, col, s, fmt);
    t->b.ops->text(t->b.self, p->b, row, col, s, fmt);
}

static void number(void *self, void *ws, uint32_t row, uint16_t col, double v,
                   enum rep_fmt fmt)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->number(t->a.self, p->a, row, col, v, fmt);
    t->b.ops->number(t->b.self, p->b, row, col, v, fmt);
}

static void formula(void *self, void *ws, uint32_t row, uint16_t col, const char *f,
                    double v, enum rep_fmt fmt)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->formula(t->a.self, p->a, row, col, f, v, fmt);
    t->b.ops->formula(t->b.self, p->b, row, col, f, v, fmt);
}

static void datetime(void *self, void *ws, uint32_t row, uint16_t col, int64_t v,
                     enum rep_fmt fmt)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->datetime(t->a.self, p->a, row, col, v, fmt);
    t->b.ops->datetime(t->b.self, p->b, row, col, v, fmt);
}

static void width(void *self, void *ws, uint16_t first, uint16_t last, double w)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->width(t->a.self, p->a, first, last, w);
    t->b.ops->width(t->b.self, p->b, first, last, w);
}

static void freeze(void *self, void *ws, uint32_t row, uint16_t col)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->freeze(t->a.self, p->a, row, col);
    t->b.ops->freeze(t->b.self, p->b, row, col);
}

static void filter(void *self, void *ws, uint32_t r1, uint16_t c1, uint32_t r2,
                   uint16_t c2)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->filter(t->a.self, p->a, r1, c1, r2, c2);
    t->b.ops->filter(t->b.self, p->b, r1, c1, r2, c2);
}

static void chart(void *self, void *ws, uint32_t row, uint16_t col,
                  const struct rep_chart *ch)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->chart(t->a.self, p->a, row, col, ch);
    t->b.ops->chart(t->b.self, p->b, row, col, ch);
}

static void activate(void *self, void *ws)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->activate(t->a.self, p->a);
    t->b.ops->activate(t->b.self, p->b);
}

static void amount(void *self, void *ws, uint32_t row, uint16_t col, struct rep_amount v,
                   enum rep_fmt fmt)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->amount(t->a.self, p->a, row, col, v, fmt);
    t->b.ops->amount(t->b.self, p->b, row, col, v, fmt);
}

static void formula_amount(void *self, void *ws, uint32_t row, uint16_t col,
                           const char *f, struct rep_amount v, enum rep_fmt fmt)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    t->a.ops->formula_amount(t->a.self, p->a, row, col, f, v, fmt);
    t->b.ops->formula_amount(t->b.self, p->b, row, col, f, v, fmt);
}

/* blank, print and height are optional: each goes to the sinks that have
 * it. */
static void blank(void *self, void *ws, uint32_t row, uint16_t col, enum rep_fmt fmt)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    if (t->a.ops->blank)
        t->a.ops->blank(t->a.self, p->a, row, col, fmt);
    if (t->b.ops->blank)
        t->b.ops->blank(t->b.self, p->b, row, col, fmt);
}

static void print(void *self, void *ws, const struct rep_print *pr)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    if (t->a.ops->print)
        t->a.ops->print(t->a.self, p->a, pr);
    if (t->b.ops->print)
        t->b.ops->print(t->b.self, p->b, pr);
}

static void height(void *self, void *ws, uint32_t row, double points)
{
    struct rep_tee *t = self;
    struct pair *p = ws;

    if (t->a.ops->height)
        t->a.ops->height(t->a.self, p->a, row, points);
    if (t->b.ops->height)
        t->b.ops->height(t->b.self, p->b, row, points);
}

static const struct rep_sink_ops tee_ops = {
    add_sheet, text,   number, formula,  datetime, width,          freeze, filter,
    chart,     activate, amount, formula_amount, blank,  print, height,
};

struct rep_tee *rep_tee_new(const struct rep_sink *a, const struct rep_sink *b)
{
    struct rep_tee *t = suf_xcalloc(1, sizeof(*t));

    t->a = *a;
    t->b = *b;
    return t;
}

struct rep_sink rep_tee_sink(struct rep_tee *t)
{
    struct rep_sink s = {&tee_ops, t};
    return s;
}

void rep_tee_free(struct rep_tee *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nsheets; i++)
        free(t->sheets[i]);
    free(t->sheets);
    free(t);
}
