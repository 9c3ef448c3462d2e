/*
 * What every command prints the same way (gh_cmd.h): a usage error on
 * standard error with its exit code, and a JSON document on standard output.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "gh_cmd.h"

int gh_cmd_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gatehouse: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see gatehouse help %s)\n", command);
    va_end(ap);
    return 2;
}

void gh_cmd_print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        puts(text);
    free(text);
    json_decref(doc);
}
