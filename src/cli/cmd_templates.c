/*
 * cmd_templates.c: `suf templates ensure-permission [--language L]...
 * [--campaign ID] [--dry-run]`: the permission templates the campaigns
 * need, looked up at Meta and created where missing (meta_permission.h).
 *
 * It prints one line per template: its name, language, Meta's id and
 * status, and what suf did ("exists", "created", "adopted": made by an
 * earlier try whose reply was lost, "would create", "failed: why").  A
 * created template is PENDING until Meta's review: its status then comes
 * by webhook, and the send stage waits for APPROVED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "import/events.h"
#include "meta/meta_permission.h"
#include "base/banned.h"

#define MAX_LANGUAGES 64

static void print_one(const struct suf_perm *p)
{
    if (p->error)
        printf("%s (%s): failed: %s\n", p->name, p->language, p->error);
    else if (!p->id)
        printf("%s (%s): %s\n", p->name, p->language, p->action ? p->action : "not looked up");
    else
        printf("%s (%s): id %s, %s, %s, %s\n", p->name, p->language, p->id,
               p->status ? p->status : "no status", p->category ? p->category : "no category",
               p->action);
}

int cmd_templates(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    char langs[MAX_LANGUAGES][16];
    const char *lang[MAX_LANGUAGES];
    size_t nlang = 0;
    struct suf_perm_list list;
    int rc;

    if ((rc = suf_cli_common_opts(run, &argc, argv, NULL, err)))
        return rc;
    if (argc < 2 || strcmp(argv[1], "ensure-permission"))
        return suf_err_set(err, SUF_ERR_USAGE,
                           "templates: %s '%s'; see 'suf templates --help'",
                           argc < 2 ? "missing subcommand" : "unknown subcommand",
                           argc < 2 ? "ensure-permission" : argv[1]);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--language") || i + 1 >= argc)
            return suf_err_set(err, SUF_ERR_USAGE,
                               "templates ensure-permission: unexpected argument '%s'; see "
                               "'suf templates --help'",
                               argv[i]);
        if (nlang == MAX_LANGUAGES)
            return suf_err_set(err, SUF_ERR_USAGE, "templates ensure-permission: more than %d "
                               "--language options", MAX_LANGUAGES);
        if (!(lang[nlang] = suf_events_language(argv[++i], langs[nlang], sizeof(langs[nlang]))))
            return suf_err_set(err, SUF_ERR_USAGE,
                               "templates ensure-permission: --language '%s' is not a language "
                               "code (en_US, pt_BR, es)",
                               argv[i]);
        nlang++;
    }
    if ((rc = suf_meta_permission_targets(run, lang, nlang, &list, err)))
        return rc;
    rc = suf_meta_permission_run(run, &list, err);
    if (!rc || list.n) /* what was done, even when one failed */
        for (size_t i = 0; i < list.n; i++)
            if (list.v[i].action)
                print_one(&list.v[i]);
    if (run->dry_run)
        printf("(dry run: nothing was created)\n");
    suf_perm_list_release(&list);
    return rc;
}
