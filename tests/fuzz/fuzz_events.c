/*
 * fuzz_events.c: libFuzzer target for one webhook event log line.
 *
 * suf_events_parse_line() is the only code that looks inside a webhook body
 * read from disk, so it gets arbitrary bytes here (NUL bytes, invalid UTF-8,
 * deep nesting and huge numbers included).  The sink counts what it gets
 * and reads every string it is handed, so a dangling or unterminated
 * borrowed pointer shows up under AddressSanitizer.  The contract is
 * checked too: a line is either rejected with a reason, or every event it
 * yields has an id, a positive time and the fields its kind requires.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/events.h"
#include "base/banned.h"

struct counts {
    size_t events, skips, bytes;
};

static void touch(struct counts *c, const char *s)
{
    if (s)
        c->bytes += strlen(s);
}

static void bad(const char *what)
{
    fprintf(stderr, "fuzz_events: %s\n", what);
    abort();
}

static int on_event(void *ctx, const struct suf_event *ev)
{
    struct counts *c = ctx;

    c->events++;
    if ((ev->kind == SUF_EVENT_STATUS || ev->kind == SUF_EVENT_MESSAGE) && (!ev->id || !*ev->id))
        bad("an event without an id");
    if (ev->ts <= 0)
        bad("an event with a time <= 0");
    if (ev->kind == SUF_EVENT_STATUS) {
        if (!ev->status)
            bad("a status event without a status");
        if (strcmp(ev->status, "sent") && strcmp(ev->status, "delivered") &&
            strcmp(ev->status, "read") && strcmp(ev->status, "failed"))
            bad("a status event with a status this job does not use");
        if (ev->pricing_billable < -1 || ev->pricing_billable > 1)
            bad("pricing_billable out of range");
    } else if (ev->kind == SUF_EVENT_MESSAGE) {
        if (!ev->from || !ev->msg_type)
            bad("a message event without from or type");
        if (!ev->payload && !ev->text)
            bad("a message event with neither payload nor text");
    } else if (ev->kind == SUF_EVENT_TEMPLATE_STATUS || ev->kind == SUF_EVENT_TEMPLATE_CATEGORY) {
        if (!ev->tpl_name || !*ev->tpl_name || !ev->tpl_language || strchr(ev->tpl_language, '-'))
            bad("a template event without a name or a normalised language");
        if (ev->kind == SUF_EVENT_TEMPLATE_STATUS ? !ev->tpl_event : !ev->new_category)
            bad("a template event without its event or new category");
        touch(c, ev->tpl_id);
        touch(c, ev->tpl_name);
        touch(c, ev->tpl_event);
        touch(c, ev->tpl_reason);
        touch(c, ev->detail);
        touch(c, ev->correct_category);
    } else {
        bad("an event of no known kind");
    }
    touch(c, ev->id);
    touch(c, ev->status);
    touch(c, ev->recipient);
    touch(c, ev->callback);
    touch(c, ev->error_title);
    touch(c, ev->pricing_model);
    touch(c, ev->pricing_type);
    touch(c, ev->pricing_category);
    touch(c, ev->from);
    touch(c, ev->context_id);
    touch(c, ev->msg_type);
    touch(c, ev->payload);
    touch(c, ev->text);
    touch(c, ev->profile_name);
    return SUF_OK;
}

static void on_skip(void *ctx, const char *why)
{
    struct counts *c = ctx;

    c->skips++;
    if (!why || !*why)
        bad("a skip without a word");
    touch(c, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct counts c = {0, 0, 0};
    struct suf_events_sink sink = {on_event, on_skip, &c};
    const char *why = NULL;
    char *copy;
    int rc;

    /* An exact-size copy: reading one byte past the line is an ASan error. */
    copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    memcpy(copy, data, size);
    rc = suf_events_parse_line(copy, size, &sink, &why);
    if (rc == SUF_ERR_INPUT && (!why || !*why))
        bad("a rejected line without a reason");
    if (rc != SUF_OK && rc != SUF_ERR_INPUT)
        bad("a status other than OK or INPUT from a sink that never fails");
    if (rc == SUF_ERR_INPUT && (c.events || c.skips))
        bad("a rejected line that also yielded events");
    free(copy);
    return 0;
}
