#include "gh_audit_verify.h"

#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_sealer.h"
#include "gh_jose.h"
#include "gh_keys.h"
#include "gh_log.h"

bool gh_audit_sign_checkpoint(gh_arena *a, const char *payload, gh_audit_sig *out)
{
    gh_jose_jws p = {0};
    bool ok = false;
    out->jws = gh_keys_sign_text(a, "ES256", GH_AUDIT_CP_TYP, payload, strlen(payload));
    if (!out->jws || gh_jose_parse(out->jws, &p, NULL) != 0 || !p.kid)
        goto out;
    /* The public key that signed, as the JWK Set publishes it. */
    json_t *set = gh_keys_jwks(), *k;
    size_t i;
    json_array_foreach(json_object_get(set, "keys"), i, k)
    {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kid && strcmp(kid, p.kid) == 0) {
            char *t = json_dumps(k, JSON_SORT_KEYS | JSON_COMPACT);
            out->jwk = t ? gh_arena_strdup(a, t) : NULL;
            out->kid = gh_arena_strdup(a, p.kid);
            free(t);
            ok = out->jwk && out->kid;
            break;
        }
    }
    json_decref(set);
out:
    gh_jose_jws_free(&p);
    return ok;
}

int gh_audit_start(gh_app *app, char *err, size_t errlen)
{
    gh_audit_log_set_key(app->cfg->master_key);
    gh_audit_log_set_checkpoints(gh_audit_sign_checkpoint, app->cfg->audit_checkpoint_events,
                                 app->cfg->audit_checkpoint_minutes);
    /* Events left unsealed (written by `gatehouse` commands, by an
     * instance that stopped before its sealer's turn, or before the chain
     * existed) are chained before the first request. */
    long long n = gh_audit_sealer_once(app->db);
    if (n < 0) {
        snprintf(err, errlen, "the audit log could not be chained");
        return -1;
    }
    if (n > 0)
        gh_log(GH_LOG_INFO, "audit log chained", "%lld events not chained yet", n);
    if (gh_audit_sealer_start(app->db) != 0) {
        snprintf(err, errlen, "the audit sealer thread could not start");
        return -1;
    }
    return 0;
}

void gh_audit_stop(void)
{
    gh_audit_sealer_stop();
}

static bool broken(gh_audit_report *rep, long long seq, long long n, const char *what)
{
    rep->ok = false;
    rep->seq = seq;
    rep->n = n;
    rep->what = what;
    return false;
}

/* The key a checkpoint names is one a master-key holder vouched for
 * (jwk_mac), its kid is its thumbprint, and it signed exactly this
 * checkpoint's fields. */
static bool checkpoint_ok(gh_arena *a, const char *tenant, const gh_audit_cp *cp, const char **why)
{
    char mac[GH_AUDIT_HEX + 1];
    json_t *jwk = json_loads(cp->jwk, 0, NULL), *set = NULL, *payload = NULL;
    gh_jose_jws p = {0};
    const char *tp = jwk ? gh_jose_thumbprint(a, jwk) : NULL;
    const char *want = gh_audit_log_cp_payload(a, tenant, cp->n, cp->hash, cp->time);
    *why = "its public key is not one this server's master key vouched for";
    if (!jwk || !gh_audit_log_jwk_mac(cp->kid, cp->jwk, mac) || strcmp(mac, cp->jwk_mac) != 0)
        goto out;
    *why = "its kid is not the thumbprint of its key";
    if (!tp || strcmp(tp, cp->kid) != 0)
        goto out;
    *why = "its JWS is not of type " GH_AUDIT_CP_TYP;
    if (gh_jose_parse(cp->jws, &p, NULL) != 0 || !gh_jose_typ_matches(p.typ, GH_AUDIT_CP_TYP))
        goto out;
    set = json_pack("{s:[O]}", "keys", jwk);
    *why = "its signature does not verify with its key";
    if (!set || !(payload = gh_jose_verify_with_jwks(cp->jws, set, NULL)))
        goto out;
    char *got = json_dumps(payload, JSON_SORT_KEYS | JSON_COMPACT);
    bool same = got && want && strcmp(got, want) == 0;
    free(got);
    *why = same ? NULL : "its signed payload differs from its stored position, hash or time";
out:
    gh_jose_jws_free(&p);
    json_decref(payload);
    json_decref(set);
    json_decref(jwk);
    return *why == NULL;
}

/* Checks the checkpoints' signatures; the positions are checked during
 * the walk. */
static bool checkpoints_ok(gh_arena *a, const char *tenant, const gh_audit_cp *cps, size_t ncp,
                           gh_audit_report *rep)
{
    for (size_t i = 0; i < ncp; i++) {
        const char *why;
        if (!checkpoint_ok(a, tenant, &cps[i], &why))
            return broken(rep, 0, cps[i].n,
                          gh_arena_printf(a, "checkpoint at position %lld: %s", cps[i].n, why));
    }
    rep->checkpoints = (long long)ncp;
    rep->last_cp = ncp ? cps[ncp - 1].n : 0;
    return true;
}

/* Walks the events in batches; stops at the first broken link. */
static gh_dbrc walk(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_audit_cp *cps,
                    size_t ncp, gh_audit_walk *w, gh_audit_report *rep)
{
    uint8_t key[GH_AUDIT_KEY_BYTES];
    /* from below any position, so a row moved to 0 or below is read too
     * (and refused), not skipped */
    long long after = LLONG_MIN, after_seq = LLONG_MIN;
    size_t next_cp = 0;
    if (!gh_audit_log_pii_key(key))
        return GH_DB_FAIL;
    gh_dbrc rc = GH_DB_OK;
    for (;;) {
        gh_audit_row *rows;
        size_t n;
        gh_arena *batch = gh_arena_new(0); /* one batch of rows at a time in memory */
        if (!batch)
            rc = GH_DB_FAIL;
        else
            rc = gh_audit_log_rows(c, batch, tenant, false, after, after_seq, 1000, &rows, &n);
        if (rc != GH_DB_OK || n == 0) {
            gh_arena_free(batch);
            break;
        }
        for (size_t i = 0; i < n && rep->ok; i++) {
            gh_audit_check k = gh_audit_walk_step(w, key, &rows[i]);
            if (k != GH_AUDIT_OK && k != GH_AUDIT_OK_ERASED) {
                broken(rep, rows[i].seq, rows[i].n, gh_audit_check_str(k));
                break;
            }
            rep->events++;
            if (next_cp < ncp && cps[next_cp].n == w->n) {
                if (strcmp(cps[next_cp].hash, w->hash) != 0)
                    broken(rep, rows[i].seq, w->n,
                           "the event's hash differs from the signed checkpoint at its position "
                           "(the chain was rewritten)");
                next_cp++;
            }
            after = rows[i].n;
            after_seq = rows[i].seq;
        }
        gh_arena_free(batch);
        if (!rep->ok)
            break;
    }
    rep->erased = w->erased;
    if (rc == GH_DB_OK && rep->ok && next_cp < ncp)
        broken(rep, 0, cps[next_cp].n,
               gh_arena_printf(a,
                               "a signed checkpoint names position %lld but the chain %s there "
                               "(events deleted)",
                               cps[next_cp].n,
                               cps[next_cp].n > w->n ? "ends before" : "has no event"));
    sodium_memzero(key, sizeof(key));
    return rc;
}

/* The events not chained yet: each must carry a seal MAC that holds (it
 * waits for the sealer) or be one written before the chain (never chained
 * yet: broken, as before). Anything else was altered or inserted by hand. */
static gh_dbrc unsealed(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_report *rep)
{
    uint8_t key[GH_AUDIT_KEY_BYTES];
    long long after = 0, legacy = 0;
    if (!gh_audit_log_seal_key(key))
        return GH_DB_FAIL;
    gh_dbrc rc = gh_audit_log_legacy_max(c, a, &legacy);
    while (rc == GH_DB_OK && rep->ok) {
        gh_audit_row *rows;
        size_t n;
        gh_arena *batch = gh_arena_new(0);
        rc = batch ? gh_audit_log_rows(c, batch, tenant, true, after, 0, 1000, &rows, &n)
                   : GH_DB_FAIL;
        if (rc != GH_DB_OK || n == 0) {
            gh_arena_free(batch);
            break;
        }
        for (size_t i = 0; i < n && rep->ok; i++) {
            const gh_audit_row *r = &rows[i];
            after = r->seq;
            if (r->hash || r->n > 0)
                broken(rep, r->seq, r->n, gh_audit_check_str(GH_AUDIT_ALTERED));
            else if (r->seal_mac && gh_audit_seal_ok(key, r))
                rep->unsealed++;
            else if (!r->seal_mac && r->seq <= legacy)
                broken(rep, r->seq, 0, gh_audit_check_str(GH_AUDIT_UNCHAINED));
            else
                broken(rep, r->seq, 0, gh_audit_check_str(GH_AUDIT_BAD_SEAL));
        }
        gh_arena_free(batch);
    }
    sodium_memzero(key, sizeof(key));
    return rc;
}

gh_dbrc gh_audit_verify_tenant(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_report *rep)
{
    gh_audit_cp *cps;
    size_t ncp;
    gh_audit_walk w;
    gh_audit_head h;
    memset(rep, 0, sizeof(*rep));
    rep->ok = true;
    gh_dbrc rc = gh_audit_log_checkpoints(c, a, tenant, &cps, &ncp);
    if (rc != GH_DB_OK || !checkpoints_ok(a, tenant, cps, ncp, rep))
        return rc;
    gh_audit_walk_start(&w);
    if ((rc = walk(c, a, tenant, cps, ncp, &w, rep)) != GH_DB_OK || !rep->ok)
        return rc;
    if ((rc = unsealed(c, a, tenant, rep)) != GH_DB_OK || !rep->ok)
        return rc;
    rc = gh_audit_log_head(c, a, tenant, &h);
    if (rc == GH_DB_NOTFOUND && w.n == 0)
        return GH_DB_OK;
    if (rc == GH_DB_NOTFOUND || (rc == GH_DB_OK && (h.n != w.n || strcmp(h.hash, w.hash) != 0)))
        broken(rep, 0, w.n + 1,
               gh_arena_printf(a,
                               "the chain head records %lld events but the log's chain ends at "
                               "%lld (events deleted at the end, or the head altered)",
                               rc == GH_DB_OK ? h.n : 0, w.n));
    return rc == GH_DB_NOTFOUND ? GH_DB_OK : rc;
}
