/*
 * The store and service context a command runs on (gh_cmd.h): the database
 * opened for a command, one connection, an arena, and a gh_ctx for the
 * default tenant with actor details a command has none of.
 */
#include <stdio.h>

#include "gh_clock.h"
#include "gh_cmd.h"
#include "gh_store_users.h"

bool gh_cmd_store_open(gh_config *cfg, gh_cmd_store *s)
{
    char err[512] = "";
    *s = (gh_cmd_store){0};
    s->db = gh_db_open_for_command(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!s->db) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return false;
    }
    s->c = gh_db_acquire(s->db);
    s->a = gh_arena_new(0);
    s->x = (gh_ctx){.tenant = GH_DEFAULT_TENANT,
                    .db = s->c,
                    .arena = s->a,
                    .cfg = cfg,
                    .now = gh_now_ms(),
                    .client_ip = "",
                    .user_agent = ""};
    if (s->c && s->a)
        return true;
    fprintf(stderr, "gatehouse: the database is busy\n");
    gh_cmd_store_close(s);
    return false;
}

void gh_cmd_store_close(gh_cmd_store *s)
{
    gh_arena_free(s->a);
    if (s->c)
        gh_db_release(s->c);
    if (s->db)
        gh_db_close(s->db);
    *s = (gh_cmd_store){0};
}
