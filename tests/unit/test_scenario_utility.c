/*
 * test_scenario_utility.c: the utility body's bytes, written directly by
 * suf_utility_text, against the jansson tree the builder used to make
 * (tests/fuzz/utility_jansson.h): the same status, reason and bytes, over a
 * table of odd inputs and a few hundred thousand generated ones.  The
 * bytes are stored, posted and hashed in reports, so "equal as JSON" is
 * not enough: they must be equal byte for byte.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "../fuzz/utility_jansson.h"
#include "testutil.h"

/* Compares the two builders on one input; names the input when they
 * differ. */
static void agree(const struct suf_utility_opts *u, const char *to, const char *campaign,
                  const char *customer, int64_t id, int n)
{
    const char *diff = ref_utility_compare(u, to, campaign, customer, id, n);

    if (diff)
        fprintf(stderr, "%s: name '%s' language '%s' params '%s' to '%s' campaign '%s' "
                        "customer '%s' id %" PRId64 " n %d\n",
                diff, u->template_name ? u->template_name : "(null)",
                u->language ? u->language : "(null)", u->params ? u->params : "(null)",
                to ? to : "(null)", campaign ? campaign : "(null)",
                customer ? customer : "(null)", id, n);
    CU_ASSERT_PTR_NULL(diff);
}

static void test_utility_bytes__odd_inputs_give_the_old_bytes(void)
{
    static const char *const strings[] = {
        "Diwali Sale",
        "",
        " ",
        "\"quoted\" and \\backslashed\\",
        "tab\there, new\nline, cr\rend",
        "\x01\x02\x1f\x7f bell\a back\b form\f vt\v",
        "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x8e\x89 \xe2\x80\xa8 \xef\xbb\xbf",
        "\xc3\x28 invalid",
        "\xed\xa0\x80 surrogate",
        "\xc0\xaf overlong",
        "\xf4\x90\x80\x80 past U+10FFFF",
        "slash / and <script>",
        "  lead and trail  ",
        "comma, inside",
        "{{1}} braces",
        "\\u0000 not a nul",
        NULL,
    };
    static const char *const specs[] = {
        NULL,
        "campaign_name",
        "customer_name",
        "campaign_name,customer_name",
        "text:Hello \"there\"",
        "text:\x01",
        " , ,",
        "",
        "campaign_name,,text:  spaced  out ,customer_name",
        "unknown",
        "text:",
        "text:caf\xc3\xa9\t\n",
    };
    static const char *const phones[] = {"919812345678", "", "91 98", "+91", NULL};
    static const int64_t ids[] = {1, 42, INT64_MAX};
    size_t ns = sizeof(strings) / sizeof(strings[0]);

    for (size_t a = 0; a < ns; a++)
        for (size_t sp = 0; sp < sizeof(specs) / sizeof(specs[0]); sp++)
            for (int nb = 0; nb < 2; nb++) {
                struct suf_utility_opts u = {"permission_ask", "en", specs[sp], nb};

                agree(&u, "919812345678", strings[a], strings[(a + 3) % ns], ids[a % 3],
                      (int)a);
                agree(&u, "919812345678", "Sale", strings[a], 7, 1);
                u.template_name = strings[a];
                agree(&u, "919812345678", "Sale", "Asha", 7, 2);
                u.template_name = "permission_ask";
                u.language = strings[a];
                agree(&u, "919812345678", "Sale", NULL, 7, 3);
            }
    {
        struct suf_utility_opts u = {"permission_ask", "en", "campaign_name", 1};
        agree(&u, "919812345678", "Sale", "Asha", 0, 0);
        agree(&u, "919812345678", "Sale", "Asha", -5, -1);
        agree(&u, "919812345678", "Sale", "Asha", INT64_MIN, INT32_MIN);
        agree(&u, "919812345678", "Sale", "Asha", INT64_MAX, INT32_MAX);
    }
    for (size_t p = 0; p < sizeof(phones) / sizeof(phones[0]); p++) {
        struct suf_utility_opts u = {"permission_ask", "en_US", "campaign_name", 1};
        agree(&u, phones[p], "Sale", "Asha", 9, 1);
    }
}

static void test_utility_bytes__long_names_give_the_old_bytes(void)
{
    size_t len = 70000;
    char *big = malloc(len + 1);
    struct suf_utility_opts u = {"permission_ask", "en", "campaign_name,customer_name", 1};

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    for (size_t i = 0; i < len; i++)
        big[i] = "ab\"\\\n\x01 "[i % 7];
    big[len] = '\0';
    agree(&u, "919812345678", big, big + 1, 5, 1);
    u.template_name = big;
    agree(&u, "919812345678", "Sale", "Asha", 5, 1);
    free(big);
}

/* A small deterministic generator (xorshift), so a failure replays. */
static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A string of 1 to `max` pieces: ASCII, the characters JSON escapes,
 * white space, commas, source names and UTF-8 sequences; one string in
 * sixteen also gets a sequence that is not valid UTF-8. */
static void gen(uint64_t *s, char *out, size_t size, size_t max)
{
    static const char *const pieces[] = {
        "a", "Z", "0", " ", "  ", "\t", "\n", "\r", "\"", "\\", "/", ",", ":", "\x01", "\x08",
        "\x0c", "\x1b", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x80\xa6", "\xf0\x9f\x98\x80",
        "\xe2\x80\xa8", "text:", "campaign_name", "customer_name", "{{1}}", "\\u00e9",
    };
    static const char *const invalid[] = {"\xc3", "\x80", "\xed\xa0\x80",
                                          "\xf8\x88\x80\x80\x80", "\xc0\xaf"};
    size_t n = 1 + next(s) % max, len = 0, bad = next(s) % 16 ? n : next(s) % n;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *p = i == bad ? invalid[next(s) % (sizeof(invalid) / sizeof(invalid[0]))]
                                 : pieces[next(s) % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t pl = strlen(p);

        if (len + pl + 1 > size)
            break;
        memcpy(out + len, p, pl + 1);
        len += pl;
    }
}

static void test_utility_bytes__generated_inputs_give_the_old_bytes(void)
{
    uint64_t seed = 0x5eed5eed12345678ULL;
    char name[128], lang[32], spec[256], campaign[256], customer[256];
    static const char *const specs[] = {"campaign_name", "customer_name",
                                        "campaign_name,customer_name", "text:"};
    size_t differ = 0, built = 0;

    for (int i = 0; i < 200000; i++) {
        struct suf_utility_opts u = {name, lang, spec, (int)(next(&seed) & 1)};
        int64_t id = (int64_t)(next(&seed) >> 1);
        const char *d;

        gen(&seed, name, sizeof(name), 6);
        gen(&seed, lang, sizeof(lang), 3);
        gen(&seed, campaign, sizeof(campaign), 12);
        gen(&seed, customer, sizeof(customer), 12);
        if (next(&seed) % 2) {
            gen(&seed, spec, sizeof(spec), 10);
        } else { /* mostly well formed sources, with generated text */
            size_t k = (size_t)(next(&seed) % 4);
            int w = snprintf(spec, sizeof(spec), "%s", specs[k]);

            if (k == 3)
                gen(&seed, spec + w, sizeof(spec) - (size_t)w, 8);
        }
        {
            const char *why;
            built += !suf_utility_text(&u, "919812345678", campaign, customer, id, 1, NULL, &why);
        }
        d = ref_utility_compare(&u, "919812345678", campaign, customer, id,
                                (int)(next(&seed) % 1000));
        if (d && differ++ < 5)
            agree(&u, "919812345678", campaign, customer, id, 1);
    }
    CU_ASSERT_EQUAL(differ, 0);
    /* most inputs must get through to the bytes, not only to a refusal */
    fprintf(stderr, "%zu of 200000 generated inputs built\n", built);
    CU_ASSERT_TRUE(built > 60000);
}

static const struct suf_test tests[] = {
    {"odd inputs", test_utility_bytes__odd_inputs_give_the_old_bytes},
    {"long names", test_utility_bytes__long_names_give_the_old_bytes},
    {"generated inputs", test_utility_bytes__generated_inputs_give_the_old_bytes},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("scenario_utility", tests);
}
