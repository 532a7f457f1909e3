/*
 * test_report.c: the report's file names: a campaign id is data, never a
 * path.
 */
#include <string.h>

#include "report/report.h"
#include "testutil.h"

static int safe_chars(const char *s)
{
    if (s[0] == '.' || !s[0])
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static void test_report__safe_names_stay_inside_the_folder(void)
{
    static const struct {
        const char *id;
        const char *exact; /* NULL: changed, so hashed */
    } rows[] = {
        {"camp_a", "camp_a"},
        {"Winter-2026.v2", "Winter-2026.v2"},
        {"../../etc/x", NULL},
        {"a/b", NULL},
        {"a_b", "a_b"},
        {"..", NULL},
        {".hidden", NULL},
        {"", NULL},
        {"caf\xc3\xa9", NULL},
        {"x\ny", NULL},
    };
    char out[96], other[96];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        suf_report_safe_name(rows[i].id, out, sizeof(out));
        CU_ASSERT(safe_chars(out));
        CU_ASSERT_PTR_NULL(strstr(out, "/"));
        CU_ASSERT(strcmp(out, ".") && strcmp(out, ".."));
        if (rows[i].exact) {
            CU_ASSERT_STRING_EQUAL(out, rows[i].exact);
        } else {
            CU_ASSERT_PTR_NOT_NULL(strchr(out, '-'));
        }
    }
    /* Ids that sanitise alike still get different names. */
    suf_report_safe_name("a/b", out, sizeof(out));
    suf_report_safe_name("a_b", other, sizeof(other));
    CU_ASSERT_STRING_NOT_EQUAL(out, other);
    suf_report_safe_name("a/b", other, sizeof(other));
    CU_ASSERT_STRING_EQUAL(out, other); /* deterministic */
}

static void test_report__long_ids_are_cut_and_kept_apart(void)
{
    char a[400], b[400], oa[96], ob[96];

    memset(a, 'L', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[300] = 'M';
    suf_report_safe_name(a, oa, sizeof(oa));
    suf_report_safe_name(b, ob, sizeof(ob));
    CU_ASSERT(strlen(oa) <= 89);
    CU_ASSERT(safe_chars(oa));
    CU_ASSERT_STRING_NOT_EQUAL(oa, ob);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"safe names stay inside the folder", test_report__safe_names_stay_inside_the_folder},
        {"long ids are cut and kept apart", test_report__long_ids_are_cut_and_kept_apart},
        {NULL, NULL},
    };
    return suf_test_main("report", tests);
}
