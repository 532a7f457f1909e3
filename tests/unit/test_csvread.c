/*
 * test_csvread.c: the streaming CSV reader: records, physical line numbers,
 * raw text, the field cap, field counts, UTF-8 and header matching.
 *
 * Most cases are rows of {input, expected records}; a record is written
 * "<line> [<error>] f1|f2|..." and records are joined by "\n~".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/util.h"
#include "import/csvread.h"
#include "testutil.h"

struct collected {
    struct suf_buf text;  /* the records, formatted */
    struct suf_buf raw;   /* raw text of each record, joined by "\n~" */
    int stop_after;       /* stop with SUF_ERR_INTERNAL after this many; 0: never */
    int n;
    size_t max_field;     /* longest field seen */
};

static int collect(void *vc, const struct suf_csv_record *rec)
{
    struct collected *c = vc;

    if (c->n)
        suf_buf_addstr(&c->text, "\n~");
    suf_buf_addf(&c->text, "%lld ", (long long)rec->line);
    if (rec->error)
        suf_buf_addf(&c->text, "[%s] ", rec->error);
    for (size_t i = 0; i < rec->nfields; i++) {
        if (rec->lens[i] > c->max_field)
            c->max_field = rec->lens[i];
        if (rec->lens[i] <= 64)
            suf_buf_addf(&c->text, "%s%s", i ? "|" : "", rec->fields[i]);
        else
            suf_buf_addf(&c->text, "%s<%zu bytes>", i ? "|" : "", rec->lens[i]);
    }
    if (c->n)
        suf_buf_addstr(&c->raw, "\n~");
    suf_buf_add(&c->raw, rec->raw, rec->rawlen);
    c->n++;
    return c->stop_after && c->n >= c->stop_after ? SUF_ERR_INTERNAL : SUF_OK;
}

static int read_mem(const char *data, size_t len, struct collected *c)
{
    struct suf_err err = SUF_ERR_INIT;
    FILE *in = fmemopen((void *)(uintptr_t)data, len, "rb");
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    rc = suf_csv_read(in, "mem.csv", NULL, collect, c, &err);
    fclose(in);
    return rc;
}

static void collected_release(struct collected *c)
{
    suf_buf_release(&c->text);
    suf_buf_release(&c->raw);
}

static void test_csvread__records_and_lines_from_a_table(void)
{
    static const struct {
        const char *name, *in, *want;
    } rows[] = {
        {"plain LF", "a,b\nc,d\n", "1 a|b\n~2 c|d"},
        {"BOM and CRLF", "\xEF\xBB\xBF" "a,b\r\nc,d\r\n", "1 a|b\n~2 c|d"},
        {"quoted newline keeps line numbers", "h1,h2\n\"x\ny\",z\nq,r\n",
         "1 h1|h2\n~2 x\ny|z\n~4 q|r"},
        {"quoted CRLF", "h\r\n\"a\r\nb\"\r\nc\r\n", "1 h\n~2 a\r\nb\n~4 c"},
        {"quoted comma and quotes", "h1,h2\n\"a,b\",\"say \"\"hi\"\"\"\n",
         "1 h1|h2\n~2 a,b|say \"hi\""},
        {"blank lines are skipped", "h1,h2\n\n\r\nq,r\n", "1 h1|h2\n~4 q|r"},
        {"blank lines before the header", "\n\nh1,h2\nq,r\n", "3 h1|h2\n~4 q|r"},
        {"no final line end", "h1,h2\nq,r", "1 h1|h2\n~2 q|r"},
        {"empty fields", "a,,c\n,,\n", "1 a||c\n~2 ||"},
        {"wrong number of fields", "h1,h2\na,b,c\nd\ne,f\n",
         "1 h1|h2\n~2 [wrong number of fields] a|b|c\n~3 [wrong number of fields] d\n~4 e|f"},
        {"invalid UTF-8", "h1,h2\n\xff,b\nc,d\n", "1 h1|h2\n~2 [invalid UTF-8] \xff|b\n~3 c|d"},
        {"valid multibyte UTF-8", "h\n\"caf\xc3\xa9, \xe0\xa4\xa8\"\n",
         "1 h\n~2 caf\xc3\xa9, \xe0\xa4\xa8"},
        {"unterminated quote runs to the end", "h1,h2\n\"abc,d\nxyz\n",
         "1 h1|h2\n~2 [unterminated quoted field] abc,d\nxyz\n"},
        {"empty input", "", ""},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct collected c = {SUF_BUF_INIT, SUF_BUF_INIT, 0, 0, 0};

        CU_ASSERT_EQUAL(read_mem(rows[i].in, strlen(rows[i].in), &c), SUF_OK);
        if (strcmp(suf_buf_str(&c.text), rows[i].want))
            fprintf(stderr, "\ncase '%s': got\n%s\nwant\n%s\n", rows[i].name,
                    suf_buf_str(&c.text), rows[i].want);
        CU_ASSERT_STRING_EQUAL(suf_buf_str(&c.text), rows[i].want);
        collected_release(&c);
    }
}

static void test_csvread__raw_text_is_the_records_bytes_without_line_end(void)
{
    static const char in[] = "h1,h2\r\n\"x\r\ny\",z\r\n\r\n  q , r\r\nlast,one";
    struct collected c = {SUF_BUF_INIT, SUF_BUF_INIT, 0, 0, 0};

    CU_ASSERT_EQUAL(read_mem(in, strlen(in), &c), SUF_OK);
    CU_ASSERT_STRING_EQUAL(suf_buf_str(&c.raw), "h1,h2\n~\"x\r\ny\",z\n~  q , r\n~last,one");
    CU_ASSERT_STRING_EQUAL(suf_buf_str(&c.text), "1 h1|h2\n~2 x\r\ny|z\n~5 q|r\n~6 last|one");
    collected_release(&c);
}

/* Builds "h1,h2\n<a field of n bytes, quoted or not>,b\nc,d\n". */
static char *with_field(size_t n, bool quoted, size_t *len)
{
    struct suf_buf b = SUF_BUF_INIT;

    suf_buf_addstr(&b, "h1,h2\n");
    if (quoted)
        suf_buf_addch(&b, '"');
    for (size_t i = 0; i < n; i++)
        suf_buf_addch(&b, quoted && i % 1000 == 999 ? '\n' : 'x');
    if (quoted)
        suf_buf_addch(&b, '"');
    suf_buf_addstr(&b, ",b\nc,d\n");
    *len = b.len;
    return suf_buf_detach(&b);
}

static void test_csvread__field_cap_rejects_the_record_and_goes_on(void)
{
    static const struct {
        size_t n;
        bool quoted;
        const char *want;
    } rows[] = {
        {SUF_CSV_FIELD_MAX, false, "1 h1|h2\n~2 <65536 bytes>|b\n~3 c|d"},
        {SUF_CSV_FIELD_MAX + 1, false, "1 h1|h2\n~2 [field over 64 KiB] "},
        {300000, false, "1 h1|h2\n~2 [field over 64 KiB] "},
        /* 300 embedded newlines: the next record starts on line 303 */
        {300000, true, "1 h1|h2\n~2 [field over 64 KiB] "},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct collected c = {SUF_BUF_INIT, SUF_BUF_INIT, 0, 0, 0};
        size_t len;
        char *in = with_field(rows[i].n, rows[i].quoted, &len);
        const char *tail = rows[i].quoted ? "\n~303 c|d" : "\n~3 c|d";

        CU_ASSERT_EQUAL(read_mem(in, len, &c), SUF_OK);
        CU_ASSERT_EQUAL(strncmp(suf_buf_str(&c.text), rows[i].want, strlen(rows[i].want)), 0);
        if (rows[i].n > SUF_CSV_FIELD_MAX) {
            const char *t = suf_buf_str(&c.text);
            CU_ASSERT(strlen(t) > strlen(tail) && !strcmp(t + strlen(t) - strlen(tail), tail));
            CU_ASSERT(c.raw.len < 2 * SUF_CSV_RAW_MAX);
        }
        CU_ASSERT(c.max_field <= SUF_CSV_FIELD_MAX);
        CU_ASSERT_EQUAL(c.n, 3);
        free(in);
        collected_release(&c);
    }
}

/* A stream of "h\n\"" + `left` bytes of 'y' + "\"\nok\n", made on the fly. */
struct big {
    size_t left;
    int part;
};

static ssize_t big_read(void *cookie, char *buf, size_t size)
{
    struct big *b = cookie;
    static const char head[] = "h\n\"", tail[] = "\"\nok\n";

    if (b->part == 0) {
        b->part = 1;
        memcpy(buf, head, 3);
        return 3;
    }
    if (b->part == 1) {
        size_t n = size < b->left ? size : b->left;
        memset(buf, 'y', n);
        b->left -= n;
        if (!b->left)
            b->part = 2;
        return (ssize_t)n;
    }
    if (b->part == 2) {
        b->part = 3;
        memcpy(buf, tail, 5);
        return 5;
    }
    return 0;
}

static long max_rss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_csvread__a_100_mb_field_keeps_memory_flat(void)
{
    struct big b = {100u << 20, 0};
    cookie_io_functions_t io = {big_read, NULL, NULL, NULL};
    struct collected c = {SUF_BUF_INIT, SUF_BUF_INIT, 0, 0, 0};
    struct suf_err err = SUF_ERR_INIT;
    FILE *in = fopencookie(&b, "r", io);
    long before = max_rss_kb();

    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_EQUAL(suf_csv_read(in, "big.csv", NULL, collect, &c, &err), SUF_OK);
    fclose(in);
    CU_ASSERT_EQUAL(c.n, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_buf_str(&c.text), "2 [field over 64 KiB]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_buf_str(&c.text), "\n~3 ok"));
    /* 100 MB went through; the reader may hold a few blocks, not the field */
    CU_ASSERT(max_rss_kb() - before < 16 * 1024);
    collected_release(&c);
}

static void test_csvread__callback_status_stops_the_reading(void)
{
    static const char in[] = "a\nb\nc\nd\n";
    struct collected c = {SUF_BUF_INIT, SUF_BUF_INIT, 2, 0, 0};

    CU_ASSERT_EQUAL(read_mem(in, strlen(in), &c), SUF_ERR_INTERNAL);
    CU_ASSERT_EQUAL(c.n, 2);
    collected_release(&c);
}

static void test_csvread__record_over_the_field_count_limit_is_rejected(void)
{
    struct suf_buf b = SUF_BUF_INIT;
    struct collected c = {SUF_BUF_INIT, SUF_BUF_INIT, 0, 0, 0};

    suf_buf_addstr(&b, "h\n");
    for (unsigned i = 0; i <= SUF_CSV_FIELDS_MAX; i++)
        suf_buf_addstr(&b, "x,");
    suf_buf_addstr(&b, "\nok\n");
    CU_ASSERT_EQUAL(read_mem(b.buf, b.len, &c), SUF_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_buf_str(&c.text), "2 [record over 1 MiB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(suf_buf_str(&c.text), "\n~3 ok"));
    suf_buf_release(&b);
    collected_release(&c);
}

/* Appends each record's suf_csv_reason to a buffer, "/" between records. */
static int collect_reasons(void *vb, const struct suf_csv_record *rec)
{
    struct suf_buf *b = vb;
    char why[256];

    if (rec->index)
        suf_buf_addch(b, '/');
    suf_buf_addstr(b, suf_csv_reason(rec, why, sizeof(why)));
    return SUF_OK;
}

static void test_csvread__reasons_are_worded_for_rejects(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"h1,h2\na,b\n", "/"},
        {"h1,h2\na,b,c\nd\ne,f\n",
         "/wrong number of fields: 3, the header has 2/wrong number of fields: 1, the header "
         "has 2/"},
        {"h1,h2\n\xff,b\n", "/invalid UTF-8"},
        {"h1,h2\n\xff,b,c\n", "/invalid UTF-8"}, /* the first reason wins */
        {"h1,h2\n\"abc,d\n", "/unterminated quoted field"},
    };
    struct suf_csv_record rec;
    char small[12];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_buf b = SUF_BUF_INIT;
        struct suf_err err = SUF_ERR_INIT;
        FILE *in = fmemopen((void *)(uintptr_t)rows[i].in, strlen(rows[i].in), "rb");

        CU_ASSERT_PTR_NOT_NULL_FATAL(in);
        CU_ASSERT_EQUAL(suf_csv_read(in, "mem.csv", NULL, collect_reasons, &b, &err), SUF_OK);
        CU_ASSERT_STRING_EQUAL(suf_buf_str(&b), rows[i].want);
        fclose(in);
        suf_buf_release(&b);
    }
    /* a short buffer gets the start of the reason */
    memset(&rec, 0, sizeof(rec));
    rec.error = SUF_CSV_ERR_WIDTH;
    rec.nfields = 3;
    rec.width = 8;
    CU_ASSERT_STRING_EQUAL(suf_csv_reason(&rec, small, sizeof(small)), "wrong numbe");
    rec.error = SUF_CSV_ERR_FIELD_SIZE;
    CU_ASSERT_STRING_EQUAL(suf_csv_reason(&rec, small, sizeof(small)), "field over ");
}

static void test_csvread__header_keys_fold_case_and_separators(void)
{
    static const struct {
        const char *in, *key;
    } rows[] = {
        {"  Broadcast-ID ", "broadcast_id"}, {"Message State", "message_state"},
        {"CUSTOMER__PHONE", "customer_phone"}, {"wa_id", "wa_id"},
        {"Body 1", "body_1"},                {"-x-", "x"},
        {"", ""},
    };
    char key[64];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        suf_csv_header_key(rows[i].in, key, sizeof(key));
        CU_ASSERT_STRING_EQUAL(key, rows[i].key);
    }
}

static void test_csvread__header_aliases_and_numbered_columns(void)
{
    static const char *const names[] = {"campaign_id", "campaign", "broadcast_id", NULL};
    static const struct {
        const char *header, *prefix;
        int n; /* 0: no match */
    } rows[] = {
        {"var1", "var", 1},           {"Var 12", "var", 12},
        {"Body 1", "body", 1},        {"body_3", "body", 3},
        {"QR Payload 10", "qr_payload", 10}, {"url_suffix_1", "url_suffix", 1},
        {"variable", "var", 0},       {"var0", "var", 0},
        {"var1x", "var", 0},          {"var", "var", 0},
        {"var99999", "var", 0},       {"button_payload2", "button_payload", 2},
    };

    CU_ASSERT_EQUAL(suf_csv_header_find("Broadcast ID", names), 2);
    CU_ASSERT_EQUAL(suf_csv_header_find("CAMPAIGN", names), 1);
    CU_ASSERT_EQUAL(suf_csv_header_find("campaign id", names), 0);
    CU_ASSERT_EQUAL(suf_csv_header_find("campaign name", names), -1);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int n = 0;
        bool ok = suf_csv_header_numbered(rows[i].header, rows[i].prefix, &n);

        CU_ASSERT_EQUAL(ok, rows[i].n != 0);
        if (ok)
            CU_ASSERT_EQUAL(n, rows[i].n);
    }
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"records_and_lines_from_a_table", test_csvread__records_and_lines_from_a_table},
        {"raw_text_is_the_records_bytes_without_line_end",
         test_csvread__raw_text_is_the_records_bytes_without_line_end},
        {"field_cap_rejects_the_record_and_goes_on",
         test_csvread__field_cap_rejects_the_record_and_goes_on},
        {"a_100_mb_field_keeps_memory_flat", test_csvread__a_100_mb_field_keeps_memory_flat},
        {"callback_status_stops_the_reading", test_csvread__callback_status_stops_the_reading},
        {"record_over_the_field_count_limit_is_rejected",
         test_csvread__record_over_the_field_count_limit_is_rejected},
        {"reasons_are_worded_for_rejects", test_csvread__reasons_are_worded_for_rejects},
        {"header_keys_fold_case_and_separators",
         test_csvread__header_keys_fold_case_and_separators},
        {"header_aliases_and_numbered_columns",
         test_csvread__header_aliases_and_numbered_columns},
        {NULL, NULL},
    };
    return suf_test_main("csvread", tests);
}
