/*
 * gh_db_pg: the PostgreSQL driver for gh_db (libpq, PostgreSQL 15).
 *
 * Any number of Gatehouse instances may share one database, so everything
 * that must hold across them lives in the database: unique constraints,
 * optimistic version checks, and an advisory lock around migrations.
 *
 * Parameters travel as text and the server infers their types from where
 * they appear; a parameter the statement does not use is declared as text so
 * that callers may pass one array to several statements, as with SQLite.
 *
 * A connection that the server dropped (restart, failover, network) is noticed
 * before the next statement and re-established once; if that fails the call
 * answers GH_DB_BUSY (503) and the next one tries again. A transaction that
 * was open on a dropped connection is gone: every statement up to the
 * caller's ROLLBACK answers GH_DB_BUSY rather than run outside it.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_db_driver.h"
#include "gh_log.h"

enum { STMT_CACHE = 128, MAX_PARAMS = 64, TEXT_OID = 25 };

struct cached_stmt {
    const char *sql; /* key: the string constant's address */
    int nparams;     /* as declared when prepared */
    char name[16];
};

struct pg_conn {
    PGconn *conn;
    struct cached_stmt cache[STMT_CACHE];
    unsigned next_name;
    bool in_tx;         /* a BEGIN succeeded and no COMMIT or ROLLBACK yet */
    bool tx_lost;       /* the connection dropped inside that transaction */
    bool outage_logged; /* "unreachable" was logged; quiet until it is back */
};

/* Versioned schema; migrations[i] brings the schema to version i+1. Never
 * edit a shipped migration: add a new one. The same tables as the SQLite
 * schema. Text columns compared or searched by the store use the "C"
 * collation: byte-wise ordering and an ASCII-only lower(), as in SQLite,
 * whatever locale the database was created with (the store folds only ASCII
 * when it normalises user names). */
static const char *const pg_migrations[] = {
    /* 1: tenants, users, credentials, audit log */
    "CREATE TABLE tenants ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "INSERT INTO tenants (id, name, created_at)"
    "  VALUES ('default', 'Default', (extract(epoch FROM now()) * 1000)::bigint);"
    "CREATE TABLE users ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL REFERENCES tenants(id),"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  username TEXT COLLATE \"C\" NOT NULL,"
    "  email TEXT COLLATE \"C\","
    "  email_verified SMALLINT NOT NULL DEFAULT 0,"
    "  status TEXT COLLATE \"C\" NOT NULL DEFAULT 'active',"
    "  external_id TEXT COLLATE \"C\","
    "  given_name TEXT COLLATE \"C\","
    "  family_name TEXT COLLATE \"C\","
    "  display_name TEXT COLLATE \"C\","
    "  profile TEXT NOT NULL DEFAULT '{}',"
    "  version BIGINT NOT NULL DEFAULT 1,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, id),"
    "  UNIQUE (tenant_id, username));"
    "CREATE UNIQUE INDEX users_email ON users (tenant_id, email);"
    "CREATE INDEX users_created ON users (tenant_id, created_at, id);"
    "CREATE TABLE credentials ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  type TEXT COLLATE \"C\" NOT NULL,"
    "  name TEXT,"
    "  data TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  last_used_at BIGINT,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX credentials_user ON credentials (tenant_id, user_id, type);"
    "CREATE TABLE audit_events ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  time BIGINT NOT NULL,"
    "  type TEXT COLLATE \"C\" NOT NULL,"
    "  subject TEXT COLLATE \"C\","
    "  actor TEXT COLLATE \"C\","
    "  ip TEXT,"
    "  user_agent TEXT,"
    "  outcome TEXT COLLATE \"C\" NOT NULL,"
    "  reason TEXT,"
    "  details TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX audit_tenant_time ON audit_events (tenant_id, time);"
    /* Statement-level, so that even an UPDATE or DELETE matching no row and
     * TRUNCATE (which skips row triggers) are refused. */
    "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'restrict_violation';"
    "  END $$;"
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events"
    "  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();",

    /* 2: accounts: sessions, email verification flows, throttling, mail outbox */
    "CREATE TABLE sessions ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  token_hash TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  last_seen_at BIGINT NOT NULL,"
    "  idle_expires_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  auth_time BIGINT NOT NULL,"
    "  aal INTEGER NOT NULL DEFAULT 1,"
    "  amr TEXT NOT NULL DEFAULT '[]',"
    "  ip TEXT,"
    "  user_agent TEXT,"
    "  revoked_at BIGINT,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX sessions_user ON sessions (tenant_id, user_id);"
    "CREATE TABLE email_flows ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  kind TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\","
    "  email TEXT COLLATE \"C\" NOT NULL,"
    "  code_hash TEXT COLLATE \"C\" NOT NULL,"
    "  link_hash TEXT COLLATE \"C\" NOT NULL,"
    "  binding_hash TEXT COLLATE \"C\","
    "  return_to TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  sends INTEGER NOT NULL DEFAULT 1,"
    "  created_at BIGINT NOT NULL,"
    "  last_sent_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  consumed_at BIGINT,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE TABLE throttles ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  key TEXT COLLATE \"C\" NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  last_failure_at BIGINT NOT NULL,"
    "  blocked_until BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, key));"
    "CREATE TABLE mail_outbox ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  to_addr TEXT NOT NULL,"
    "  template TEXT COLLATE \"C\" NOT NULL,"
    "  params TEXT NOT NULL,"
    "  status TEXT COLLATE \"C\" NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at BIGINT NOT NULL,"
    "  claimed_until BIGINT,"
    "  last_error TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  sent_at BIGINT,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);"
    "CREATE TABLE mail_attempts ("
    "  outbox_id TEXT COLLATE \"C\" NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  outcome TEXT COLLATE \"C\" NOT NULL,"
    "  error TEXT,"
    "  PRIMARY KEY (outbox_id, attempt));",

    /* 3: OpenID Connect provider: keys, clients, codes, refresh tokens, consent */
    "CREATE TABLE signing_keys ("
    "  tenant_id TEXT NOT NULL,"
    "  kid TEXT NOT NULL,"
    "  alg TEXT NOT NULL,"
    "  private_jwk TEXT NOT NULL,"
    "  public_jwk TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  retired_at BIGINT,"
    "  expires_at BIGINT,"
    "  PRIMARY KEY (tenant_id, kid));"
    "CREATE TABLE clients ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  secret_hash TEXT,"
    "  registration_token_hash TEXT,"
    "  first_party SMALLINT NOT NULL DEFAULT 0,"
    "  metadata TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE TABLE auth_codes ("
    "  tenant_id TEXT NOT NULL,"
    "  code_hash TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  session_id TEXT,"
    "  redirect_uri TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  nonce TEXT,"
    "  code_challenge TEXT,"
    "  auth_time BIGINT NOT NULL,"
    "  acr TEXT,"
    "  amr TEXT,"
    "  family_id TEXT,"
    "  access_jti TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  used_at BIGINT,"
    "  PRIMARY KEY (tenant_id, code_hash));"
    "CREATE TABLE refresh_tokens ("
    "  tenant_id TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL,"
    "  family_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  session_id TEXT,"
    "  scope TEXT NOT NULL,"
    "  auth_time BIGINT,"
    "  acr TEXT,"
    "  amr TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  family_expires_at BIGINT NOT NULL,"
    "  rotated_at BIGINT,"
    "  revoked_at BIGINT,"
    "  PRIMARY KEY (tenant_id, token_hash));"
    "CREATE INDEX refresh_family ON refresh_tokens (tenant_id, family_id);"
    "CREATE TABLE consents ("
    "  tenant_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  granted_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, user_id, client_id));"
    "CREATE TABLE revoked_tokens ("
    "  tenant_id TEXT NOT NULL,"
    "  jti TEXT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, jti));"
    "CREATE TABLE used_jtis ("
    "  tenant_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  jti TEXT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, client_id, jti));",

    /* 4: second factors (TOTP, passkeys, email codes), recovery codes,
     * ceremony state, and each session's factors with their times */
    "ALTER TABLE sessions ADD COLUMN factors TEXT NOT NULL DEFAULT '[]';"
    "CREATE TABLE mfa_factors ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  kind TEXT COLLATE \"C\" NOT NULL,"
    "  name TEXT,"
    "  secret TEXT,"
    "  credential_id TEXT COLLATE \"C\","
    "  public_key TEXT,"
    "  alg INTEGER NOT NULL DEFAULT 0,"
    "  sign_count BIGINT NOT NULL DEFAULT 0,"
    "  last_step BIGINT NOT NULL DEFAULT 0,"
    "  flags INTEGER NOT NULL DEFAULT 0,"
    "  aaguid TEXT,"
    "  transports TEXT,"
    "  attestation TEXT,"
    "  confirmed SMALLINT NOT NULL DEFAULT 0,"
    "  cloned_at BIGINT,"
    "  created_at BIGINT NOT NULL,"
    "  last_used_at BIGINT,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE UNIQUE INDEX mfa_factors_credential ON mfa_factors (tenant_id, credential_id);"
    "CREATE INDEX mfa_factors_user ON mfa_factors (tenant_id, user_id);"
    "CREATE TABLE recovery_codes ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  code_hash TEXT COLLATE \"C\" NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  used_at BIGINT,"
    "  PRIMARY KEY (tenant_id, user_id, code_hash),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE TABLE auth_challenges ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  kind TEXT COLLATE \"C\" NOT NULL,"
    "  binding_hash TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\","
    "  challenge TEXT COLLATE \"C\","
    "  data TEXT NOT NULL DEFAULT '{}',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  consumed_at BIGINT,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE INDEX auth_challenges_binding ON auth_challenges (tenant_id, binding_hash, kind);"
    "CREATE INDEX auth_challenges_expires ON auth_challenges (tenant_id, expires_at);",

    /* 5: back-channel logout finds a session's clients by session_id in both
     * token tables (gh_store_session_clients): without these indexes every
     * logout scanned both tables */
    "CREATE INDEX auth_codes_session ON auth_codes (tenant_id, session_id);"
    "CREATE INDEX refresh_tokens_session ON refresh_tokens (tenant_id, session_id);",

    /* 6: back-channel logout queue (see the SQLite list) */
    "CREATE TABLE logout_queue ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  session_id TEXT COLLATE \"C\" NOT NULL,"
    "  client_id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  status TEXT COLLATE \"C\" NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at BIGINT NOT NULL,"
    "  claimed_until BIGINT,"
    "  last_error TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  sent_at BIGINT,"
    "  PRIMARY KEY (tenant_id, session_id, client_id));"
    "CREATE INDEX logout_queue_due ON logout_queue (status, next_attempt_at);"
    "CREATE TABLE logout_attempts ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  session_id TEXT COLLATE \"C\" NOT NULL,"
    "  client_id TEXT COLLATE \"C\" NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  outcome TEXT COLLATE \"C\" NOT NULL,"
    "  error TEXT,"
    "  PRIMARY KEY (tenant_id, session_id, client_id, attempt));",

    /* 7: one credential of a type per user (the password re-hash is an
     * upsert): duplicates from concurrent re-hashes are dropped first,
     * keeping the newest */
    "DELETE FROM credentials WHERE EXISTS (SELECT 1 FROM credentials n"
    "  WHERE n.tenant_id = credentials.tenant_id AND n.user_id = credentials.user_id"
    "  AND n.type = credentials.type AND (n.created_at > credentials.created_at"
    "  OR (n.created_at = credentials.created_at AND n.id > credentials.id)));"
    "DROP INDEX credentials_user;"
    "CREATE UNIQUE INDEX credentials_user_type ON credentials (tenant_id, user_id, type);",

    /* 8: devices an account signed in on (the SHA-256 of a device cookie),
     * so sign-in throttling judges them on their own record */
    "CREATE TABLE devices ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  device_hash TEXT COLLATE \"C\" NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  last_seen_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, user_id, device_hash),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);",

    /* 9: self_signup and email_flows.signup: see src/gh_db_sqlite.c */
    "ALTER TABLE users ADD COLUMN self_signup SMALLINT NOT NULL DEFAULT 0;"
    "ALTER TABLE email_flows ADD COLUMN signup TEXT;"
    "CREATE INDEX users_unverified ON users (tenant_id, self_signup, email_verified, created_at);",

    /* 10: protected resources (RFC 8707): issue 16 */
    "CREATE TABLE resources ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  identifier TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  scopes TEXT NOT NULL,"
    "  access_token_ttl BIGINT NOT NULL DEFAULT 0,"
    "  access_token_format TEXT NOT NULL DEFAULT 'jwt',"
    "  introspection_clients TEXT NOT NULL DEFAULT '[]',"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE UNIQUE INDEX resources_identifier ON resources (tenant_id, identifier);",
    /* see the SQLite migration of the same place */
    "ALTER TABLE refresh_tokens ADD COLUMN access_jti TEXT;"
    "ALTER TABLE refresh_tokens ADD COLUMN access_expires_at BIGINT;"
    "CREATE INDEX refresh_tokens_user ON refresh_tokens (tenant_id, user_id, client_id);",
    /* see the SQLite migration of the same place */
    "CREATE TABLE recovery_waits ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  state TEXT NOT NULL,"
    "  started_at BIGINT NOT NULL,"
    "  ends_at BIGINT NOT NULL,"
    "  cancel_hash TEXT COLLATE \"C\" NOT NULL,"
    "  reminder_mail_id TEXT COLLATE \"C\","
    "  reason TEXT,"
    "  updated_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX recovery_waits_user ON recovery_waits (tenant_id, user_id, state);",
    /* 13: the owner's lock and the links in security notices (issue 18,
     * docs/recovery.md "This wasn't me"): users.locked_at is set when the
     * owner locks the account from a notice (sign-in refused until a
     * recovery completes); a notice_links row is one link of a notice,
     * kind lock (lock and recover) or undo_email (restore old_email, lock
     * and recover), token_hash the SHA-256 hex of its token, single use;
     * audit_subject for one customer's own events. */
    "ALTER TABLE users ADD COLUMN locked_at BIGINT;"
    "CREATE TABLE notice_links ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  token_hash TEXT COLLATE \"C\" NOT NULL,"
    "  old_email TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  used_at BIGINT,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE UNIQUE INDEX notice_links_token ON notice_links (tenant_id, token_hash);"
    "CREATE INDEX notice_links_expiry ON notice_links (expires_at);"
    /* a customer's own events (data export, deletion) without a scan */
    "CREATE INDEX audit_subject ON audit_events (tenant_id, subject, seq);",
    /* 14: see the SQLite migration of the same place */
    "ALTER TABLE users ADD COLUMN delete_at BIGINT;"
    "CREATE INDEX users_delete_at ON users (delete_at) WHERE delete_at IS NOT NULL;"
    "DROP TRIGGER audit_append_only ON audit_events;"
    "CREATE TRIGGER audit_append_only BEFORE DELETE OR TRUNCATE ON audit_events"
    "  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();"
    "CREATE FUNCTION audit_events_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN"
    "    IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id"
    "      OR NEW.id IS DISTINCT FROM OLD.id OR NEW.time IS DISTINCT FROM OLD.time"
    "      OR NEW.type IS DISTINCT FROM OLD.type OR NEW.outcome IS DISTINCT FROM OLD.outcome"
    "      OR NEW.reason IS DISTINCT FROM OLD.reason"
    "      OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "      OR (NEW.subject IS DISTINCT FROM OLD.subject AND substr(NEW.subject, 1, 6) <> 'pseud:')"
    "      OR (NEW.actor IS DISTINCT FROM OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:') THEN"
    "      RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'restrict_violation';"
    "    END IF;"
    "    RETURN NEW;"
    "  END $$;"
    "CREATE TRIGGER audit_erase_only BEFORE UPDATE ON audit_events"
    "  FOR EACH ROW EXECUTE FUNCTION audit_events_erase_only();",
    /* migration 15: see the SQLite migration of the same place */
    "CREATE TABLE consent_purposes ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  key TEXT COLLATE \"C\" NOT NULL,"
    "  title TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  label TEXT NOT NULL,"
    "  required INTEGER NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, key));"
    "CREATE TABLE consent_documents ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  purpose TEXT COLLATE \"C\" NOT NULL,"
    "  version TEXT COLLATE \"C\" NOT NULL,"
    "  effective_at BIGINT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  sha256 TEXT COLLATE \"C\" NOT NULL,"
    "  body TEXT,"
    "  summary TEXT NOT NULL DEFAULT '',"
    "  published_at BIGINT NOT NULL,"
    "  UNIQUE (tenant_id, purpose, version),"
    "  FOREIGN KEY (tenant_id, purpose) REFERENCES consent_purposes (tenant_id, key));"
    "CREATE TABLE consent_records ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  time BIGINT NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  purpose TEXT COLLATE \"C\" NOT NULL,"
    "  decision TEXT COLLATE \"C\" NOT NULL,"
    "  version TEXT COLLATE \"C\","
    "  sha256 TEXT COLLATE \"C\","
    "  wording TEXT NOT NULL,"
    "  channel TEXT COLLATE \"C\" NOT NULL,"
    "  ip TEXT,"
    "  user_agent TEXT,"
    "  actor TEXT COLLATE \"C\" NOT NULL,"
    "  reason TEXT);"
    "CREATE INDEX consent_records_user ON consent_records (tenant_id, user_id, seq);"
    "CREATE FUNCTION consent_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN RAISE EXCEPTION 'consent_records is append-only'"
    "    USING ERRCODE = 'restrict_violation';"
    "  END $$;"
    "CREATE TRIGGER consent_records_append_only BEFORE DELETE OR TRUNCATE ON consent_records"
    "  FOR EACH STATEMENT EXECUTE FUNCTION consent_records_append_only();"
    "CREATE FUNCTION consent_records_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN"
    "    IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id"
    "      OR NEW.id IS DISTINCT FROM OLD.id OR NEW.time IS DISTINCT FROM OLD.time"
    "      OR NEW.purpose IS DISTINCT FROM OLD.purpose"
    "      OR NEW.decision IS DISTINCT FROM OLD.decision"
    "      OR NEW.version IS DISTINCT FROM OLD.version OR NEW.sha256 IS DISTINCT FROM OLD.sha256"
    "      OR NEW.wording IS DISTINCT FROM OLD.wording"
    "      OR NEW.channel IS DISTINCT FROM OLD.channel OR NEW.reason IS DISTINCT FROM OLD.reason"
    "      OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "      OR (NEW.user_id IS DISTINCT FROM OLD.user_id AND substr(NEW.user_id, 1, 6) <> 'pseud:')"
    "      OR (NEW.actor IS DISTINCT FROM OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:') THEN"
    "      RAISE EXCEPTION 'consent_records is append-only' USING ERRCODE = 'restrict_violation';"
    "    END IF;"
    "    RETURN NEW;"
    "  END $$;"
    "CREATE TRIGGER consent_records_erase_only BEFORE UPDATE ON consent_records"
    "  FOR EACH ROW EXECUTE FUNCTION consent_records_erase_only();",
    /* migration 16: see the SQLite migration of the same place */
    "CREATE TABLE comm_topics ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  key TEXT COLLATE \"C\" NOT NULL,"
    "  title TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  channel TEXT COLLATE \"C\" NOT NULL DEFAULT 'email',"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  retired_at BIGINT,"
    "  PRIMARY KEY (tenant_id, key));"
    "CREATE TABLE comm_preferences ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  topic_key TEXT COLLATE \"C\" NOT NULL,"
    "  channel TEXT COLLATE \"C\" NOT NULL,"
    "  subscribed INTEGER NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, user_id, topic_key, channel),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX comm_preferences_topic ON comm_preferences (tenant_id, topic_key, channel);"
    "CREATE TABLE comm_preference_history ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  time BIGINT NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  topic_key TEXT COLLATE \"C\" NOT NULL,"
    "  channel TEXT COLLATE \"C\" NOT NULL,"
    "  decision TEXT COLLATE \"C\" NOT NULL,"
    "  via TEXT COLLATE \"C\" NOT NULL,"
    "  actor TEXT COLLATE \"C\" NOT NULL,"
    "  reason TEXT,"
    "  ip TEXT,"
    "  user_agent TEXT);"
    "CREATE INDEX comm_history_user ON comm_preference_history (tenant_id, user_id, seq);"
    "CREATE FUNCTION comm_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN RAISE EXCEPTION 'comm_preference_history is append-only'"
    "    USING ERRCODE = 'restrict_violation';"
    "  END $$;"
    "CREATE TRIGGER comm_history_append_only BEFORE DELETE OR TRUNCATE ON comm_preference_history"
    "  FOR EACH STATEMENT EXECUTE FUNCTION comm_history_append_only();"
    "CREATE FUNCTION comm_history_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN"
    "    IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id"
    "      OR NEW.id IS DISTINCT FROM OLD.id OR NEW.time IS DISTINCT FROM OLD.time"
    "      OR NEW.topic_key IS DISTINCT FROM OLD.topic_key"
    "      OR NEW.channel IS DISTINCT FROM OLD.channel"
    "      OR NEW.decision IS DISTINCT FROM OLD.decision OR NEW.via IS DISTINCT FROM OLD.via"
    "      OR NEW.reason IS DISTINCT FROM OLD.reason"
    "      OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "      OR (NEW.user_id IS DISTINCT FROM OLD.user_id AND substr(NEW.user_id, 1, 6) <> 'pseud:')"
    "      OR (NEW.actor IS DISTINCT FROM OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:') THEN"
    "      RAISE EXCEPTION 'comm_preference_history is append-only'"
    "        USING ERRCODE = 'restrict_violation';"
    "    END IF;"
    "    RETURN NEW;"
    "  END $$;"
    "CREATE TRIGGER comm_history_erase_only BEFORE UPDATE ON comm_preference_history"
    "  FOR EACH ROW EXECUTE FUNCTION comm_history_erase_only();"
    "CREATE TABLE comm_unsubscribe_links ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  token_hash TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  topic_key TEXT COLLATE \"C\" NOT NULL,"
    "  channel TEXT COLLATE \"C\" NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  used_at BIGINT,"
    "  PRIMARY KEY (tenant_id, token_hash),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX comm_unsubscribe_user ON comm_unsubscribe_links (tenant_id, user_id);"
    "CREATE INDEX comm_unsubscribe_expiry ON comm_unsubscribe_links (expires_at);",
    /* migration 17: see the SQLite migration of the same place */
    "CREATE TABLE profile_attributes ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  name TEXT COLLATE \"C\" NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, name));",
    /* migration 18: see the SQLite migration of the same place */
    "ALTER TABLE consent_records ADD COLUMN client_id TEXT;"
    "ALTER TABLE auth_codes ADD COLUMN claims TEXT;"
    "CREATE OR REPLACE FUNCTION consent_records_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN"
    "    IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id"
    "      OR NEW.id IS DISTINCT FROM OLD.id OR NEW.time IS DISTINCT FROM OLD.time"
    "      OR NEW.purpose IS DISTINCT FROM OLD.purpose"
    "      OR NEW.decision IS DISTINCT FROM OLD.decision"
    "      OR NEW.version IS DISTINCT FROM OLD.version OR NEW.sha256 IS DISTINCT FROM OLD.sha256"
    "      OR NEW.wording IS DISTINCT FROM OLD.wording"
    "      OR NEW.channel IS DISTINCT FROM OLD.channel OR NEW.reason IS DISTINCT FROM OLD.reason"
    "      OR NEW.client_id IS DISTINCT FROM OLD.client_id"
    "      OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "      OR (NEW.user_id IS DISTINCT FROM OLD.user_id AND substr(NEW.user_id, 1, 6) <> 'pseud:')"
    "      OR (NEW.actor IS DISTINCT FROM OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:') THEN"
    "      RAISE EXCEPTION 'consent_records is append-only' USING ERRCODE = 'restrict_violation';"
    "    END IF;"
    "    RETURN NEW;"
    "  END $$;",
    /* migration 19: see the SQLite migration of the same place */
    "ALTER TABLE audit_events ADD COLUMN chain_n BIGINT;"
    "ALTER TABLE audit_events ADD COLUMN prev_hash TEXT COLLATE \"C\";"
    "ALTER TABLE audit_events ADD COLUMN pii_digest TEXT COLLATE \"C\";"
    "ALTER TABLE audit_events ADD COLUMN hash TEXT COLLATE \"C\";"
    "CREATE TABLE audit_chain_heads ("
    "  tenant_id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  n BIGINT NOT NULL,"
    "  hash TEXT COLLATE \"C\" NOT NULL,"
    "  cp_n BIGINT NOT NULL,"
    "  cp_time BIGINT NOT NULL);"
    "CREATE TABLE audit_checkpoints ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  n BIGINT NOT NULL,"
    "  hash TEXT COLLATE \"C\" NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  kid TEXT COLLATE \"C\" NOT NULL,"
    "  jwk TEXT NOT NULL,"
    "  jwk_mac TEXT COLLATE \"C\" NOT NULL,"
    "  jws TEXT NOT NULL,"
    "  PRIMARY KEY (tenant_id, n));"
    "CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN RAISE EXCEPTION 'audit_checkpoints is append-only'"
    "    USING ERRCODE = 'restrict_violation';"
    "  END $$;"
    "CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
    "  ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();"
    "CREATE OR REPLACE FUNCTION audit_events_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN"
    "    IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id"
    "      OR NEW.id IS DISTINCT FROM OLD.id OR NEW.time IS DISTINCT FROM OLD.time"
    "      OR NEW.type IS DISTINCT FROM OLD.type OR NEW.outcome IS DISTINCT FROM OLD.outcome"
    "      OR NEW.reason IS DISTINCT FROM OLD.reason"
    "      OR (OLD.hash IS NULL AND (NEW.subject IS DISTINCT FROM OLD.subject"
    "        OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.ip IS DISTINCT FROM OLD.ip"
    "        OR NEW.user_agent IS DISTINCT FROM OLD.user_agent"
    "        OR NEW.details IS DISTINCT FROM OLD.details))"
    "      OR (OLD.hash IS NOT NULL AND (NEW.chain_n IS DISTINCT FROM OLD.chain_n"
    "        OR NEW.prev_hash IS DISTINCT FROM OLD.prev_hash"
    "        OR NEW.pii_digest IS DISTINCT FROM OLD.pii_digest"
    "        OR NEW.hash IS DISTINCT FROM OLD.hash"
    "        OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "        OR (NEW.subject IS DISTINCT FROM OLD.subject"
    "          AND substr(NEW.subject, 1, 6) <> 'pseud:')"
    "        OR (NEW.actor IS DISTINCT FROM OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:')))"
    "    THEN"
    "      RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'restrict_violation';"
    "    END IF;"
    "    RETURN NEW;"
    "  END $$;",
    /* migration 20: see the SQLite migration of the same place */
    "CREATE TABLE ratelimit_counts ("
    "  key TEXT COLLATE \"C\" NOT NULL,"
    "  window_start BIGINT NOT NULL,"
    "  count BIGINT NOT NULL,"
    "  PRIMARY KEY (key, window_start));",
    /* migration 21: see the SQLite migration of the same place */
    "CREATE TABLE risk_networks ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\" NOT NULL,"
    "  network_hash TEXT COLLATE \"C\" NOT NULL,"
    "  first_seen BIGINT NOT NULL,"
    "  last_seen BIGINT NOT NULL,"
    "  PRIMARY KEY (tenant_id, user_id, network_hash),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE TABLE risk_decisions ("
    "  tenant_id TEXT COLLATE \"C\" NOT NULL,"
    "  id TEXT COLLATE \"C\" NOT NULL,"
    "  user_id TEXT COLLATE \"C\","
    "  journey TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  acr TEXT,"
    "  reason TEXT,"
    "  score BIGINT NOT NULL,"
    "  policy_version TEXT NOT NULL,"
    "  signals TEXT NOT NULL,"
    "  fired TEXT NOT NULL,"
    "  shadow TEXT,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE INDEX risk_decisions_user ON risk_decisions (tenant_id, user_id, created_at);"
    "ALTER TABLE sessions ADD COLUMN risk_context TEXT;",
    /* migration 22: see the SQLite migration of the same place */
    "ALTER TABLE refresh_tokens ADD COLUMN claims TEXT;",
};

/* Server messages reach the structured log instead of libpq's default of
 * printing them on stderr. They carry no parameter values: notices from
 * our statements (e.g. "already exists, skipping") and the server's own
 * farewell (e.g. "terminating connection due to administrator command"). */
static void on_notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    bool loud = sev && (strcmp(sev, "WARNING") == 0 || strcmp(sev, "ERROR") == 0 ||
                        strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0);
    gh_log_event(loud ? GH_LOG_WARN : GH_LOG_DEBUG, "postgresql notice",
                 json_pack("{s:s, s:s, s:s}", "severity", sev ? sev : "", "sqlstate",
                           state ? state : "", "error", msg ? msg : ""));
}

/* libpq's messages span lines ("...\n\tIs the server running...\n"); a
 * log field reads better as one line. */
static void copy_message(char *dst, size_t len, const char *msg)
{
    snprintf(dst, len, "%s", msg ? msg : "unknown error");
    for (char *p = dst; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == ' ')
        dst[--n] = '\0';
}

/* Settings every session needs, checked after each (re)connection. */
static bool session_ready(struct pg_conn *c)
{
    /* LIKE ... ESCAPE '\' in the store needs standard strings, the default
     * since PostgreSQL 9.1; an old server setting would turn it into a
     * syntax error. */
    const char *scs = PQparameterStatus(c->conn, "standard_conforming_strings");
    if (scs && strcmp(scs, "on") == 0)
        return true;
    PGresult *res = PQexec(c->conn, "SET standard_conforming_strings = on");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

static void *pg_connect(const char *url, char *err, size_t errlen)
{
    struct pg_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    /* Defaults first: settings in the URL (dbname, expanded) win over them.
     * A bounded connect timeout keeps a reconnect attempt from holding a
     * request for ever when the host does not answer at all. */
    const char *const keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                                NULL};
    const char *const vals[] = {"5", "gatehouse", "UTF8", url, NULL};
    c->conn = PQconnectdbParams(keys, vals, 1);
    if (!c->conn) {
        snprintf(err, errlen, "GATEHOUSE_DATABASE: out of memory");
        goto fail;
    }
    /* The URL may hold a password: it is never echoed, only libpq's reason. */
    if (PQstatus(c->conn) != CONNECTION_OK) {
        char msg[300];
        copy_message(msg, sizeof(msg), PQerrorMessage(c->conn));
        snprintf(err, errlen, "GATEHOUSE_DATABASE: cannot connect to PostgreSQL: %s", msg);
        goto fail;
    }
    PQsetNoticeReceiver(c->conn, on_notice, NULL);
    if (!session_ready(c)) {
        snprintf(err, errlen, "GATEHOUSE_DATABASE: cannot set standard_conforming_strings");
        goto fail;
    }
    return c;
fail:
    PQfinish(c->conn);
    free(c);
    return NULL;
}

static void pg_disconnect(void *p)
{
    struct pg_conn *c = p;
    if (!c)
        return;
    PQfinish(c->conn); /* the server frees the prepared statements with the session */
    free(c);
}

/* Called when the connection is found dead: a transaction in progress on
 * it is gone with it. */
static void mark_lost(struct pg_conn *c)
{
    if (c->in_tx)
        c->tx_lost = true;
}

/* Notices a connection the server has closed while it sat idle in the pool,
 * without sending anything: what is waiting on the socket (the server's
 * farewell, then end of file) is read, which marks the connection bad. */
static void probe(struct pg_conn *c)
{
    int fd = PQsocket(c->conn);
    if (fd < 0)
        return;
    /* A farewell message and the end of file may arrive as separate reads. */
    for (int i = 0; i < 4 && PQstatus(c->conn) == CONNECTION_OK; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) <= 0)
            break;
        if (!PQconsumeInput(c->conn))
            break;
        /* Parses what arrived while idle (notices go to on_notice) so no
         * stale message is taken for the answer to the next statement. */
        (void)PQisBusy(c->conn);
    }
}

/* Makes the connection usable for the next statement, reconnecting once if
 * the server dropped it. */
static gh_dbrc ensure_usable(struct pg_conn *c)
{
    if (PQstatus(c->conn) == CONNECTION_OK)
        probe(c);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        mark_lost(c);
        PQreset(c->conn);
        /* The new session knows none of the old one's prepared statements. */
        memset(c->cache, 0, sizeof(c->cache));
        if (PQstatus(c->conn) != CONNECTION_OK || !session_ready(c)) {
            if (!c->outage_logged) {
                char msg[300];
                copy_message(msg, sizeof(msg), PQerrorMessage(c->conn));
                gh_log_event(GH_LOG_ERROR, "postgresql unreachable",
                             json_pack("{s:s}", "error", msg));
                c->outage_logged = true;
            }
            return GH_DB_BUSY;
        }
        c->outage_logged = false;
        gh_log_event(GH_LOG_WARN, "postgresql reconnected", NULL);
    }
    return c->tx_lost ? GH_DB_BUSY : GH_DB_OK;
}

static bool is_state(const char *state, const char *want)
{
    return state && strcmp(state, want) == 0;
}

/* Turns a failed result into a gh_dbrc, logging what is not expected. */
static gh_dbrc map_error(struct pg_conn *c, const PGresult *res, const char *sql)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* Class 08 is a connection exception; 57P01-57P03 are the server going
     * down or not up yet. Fails now; the next call reconnects. */
    if (PQstatus(c->conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0) ||
        is_state(state, "57P01") || is_state(state, "57P02") || is_state(state, "57P03")) {
        mark_lost(c);
        gh_log_event(GH_LOG_WARN, "postgresql connection lost",
                     json_pack("{s:s}", "sqlstate", state ? state : ""));
        return GH_DB_BUSY;
    }
    if (is_state(state, "23505") || is_state(state, "23503"))
        return GH_DB_CONFLICT;
    /* Serialization failure, deadlock, lock not available, too many
     * connections: all pass if the client tries again shortly. */
    if (is_state(state, "40001") || is_state(state, "40P01") || is_state(state, "55P03") ||
        is_state(state, "53300"))
        return GH_DB_BUSY;
    /* Only the primary message, never DETAIL (it shows the row's values);
     * data exceptions (class 22) quote the offending input even there. */
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (state && strncmp(state, "22", 2) == 0)
        msg = "data exception (value not logged)";
    char buf[300];
    copy_message(buf, sizeof(buf), msg ? msg : PQerrorMessage(c->conn));
    gh_log_event(GH_LOG_ERROR, "postgresql error",
                 json_pack("{s:s, s:s, s:s}", "sqlstate", state ? state : "", "error", buf, "sql",
                           sql ? sql : ""));
    return GH_DB_FAIL;
}

/* Marks which of $1..$np the statement uses. Skips quoted literals and
 * identifiers and -- comments; the store's SQL has no dollar quoting. */
static void used_params(const char *sql, size_t np, bool *used)
{
    memset(used, 0, np * sizeof(*used));
    for (const char *s = sql; *s;) {
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            while (*s && *s != q)
                s++;
            if (*s)
                s++; /* a doubled quote reads as two adjacent literals: same result */
        } else if (s[0] == '-' && s[1] == '-') {
            while (*s && *s != '\n')
                s++;
        } else if (*s == '$' && s[1] >= '0' && s[1] <= '9') {
            size_t n = 0;
            for (s++; *s >= '0' && *s <= '9'; s++)
                if (n <= MAX_PARAMS)
                    n = n * 10 + (size_t)(*s - '0');
            if (n >= 1 && n <= np)
                used[n - 1] = true;
        } else {
            s++;
        }
    }
}

/* Declared types: 0 lets the server infer a used parameter's type from its
 * context; an unused one is text, which the server accepts and ignores. */
static void param_types(const char *sql, size_t np, Oid *types)
{
    bool used[MAX_PARAMS];
    used_params(sql, np, used);
    for (size_t i = 0; i < np; i++)
        types[i] = used[i] ? 0 : TEXT_OID;
}

/* Finds or prepares the named statement for sql, which must be a string
 * constant: SQL built at run time (a SCIM filter) could reuse a freed
 * address. NULL with *rc == GH_DB_OK means "run it unprepared". */
static const char *stmt_get(struct pg_conn *c, const char *sql, size_t np, gh_dbrc *rc)
{
    *rc = GH_DB_OK;
    size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        struct cached_stmt *e = &c->cache[(h + i) % STMT_CACHE];
        if (e->sql == sql)
            return e->nparams == (int)np ? e->name : NULL; /* other arity: unprepared */
        if (!e->sql) {
            Oid types[MAX_PARAMS];
            param_types(sql, np, types);
            snprintf(e->name, sizeof(e->name), "gh_%u", c->next_name++);
            PGresult *res = PQprepare(c->conn, e->name, sql, (int)np, types);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                *rc = map_error(c, res, sql);
                PQclear(res);
                return NULL;
            }
            PQclear(res);
            e->sql = sql;
            e->nparams = (int)np;
            return e->name;
        }
    }
    return NULL; /* cache full: run unprepared */
}

/* Copies the rows into the arena as text cells. */
static gh_dbrc collect_rows(PGresult *res, gh_arena *a, gh_dbres *out)
{
    if (!out)
        return GH_DB_OK;
    size_t nrows = (size_t)PQntuples(res), ncols = (size_t)PQnfields(res);
    const char **cells = NULL;
    if (nrows > 0 && ncols > 0) {
        if (nrows > SIZE_MAX / sizeof(*cells) / ncols)
            return GH_DB_FAIL;
        cells = gh_arena_alloc(a, nrows * ncols * sizeof(*cells) + 1);
        if (!cells)
            return GH_DB_FAIL;
    }
    for (size_t i = 0; i < nrows; i++) {
        for (size_t j = 0; j < ncols; j++) {
            const char *v = NULL;
            if (!PQgetisnull(res, (int)i, (int)j)) {
                v = gh_arena_strndup(a, PQgetvalue(res, (int)i, (int)j),
                                     (size_t)PQgetlength(res, (int)i, (int)j));
                if (!v)
                    return GH_DB_FAIL;
            }
            cells[i * ncols + j] = v;
        }
    }
    out->nrows = nrows;
    out->ncols = ncols;
    out->cells = cells;
    if (ncols > 0) {
        /* Names, and integer columns: int8, int2, int4. */
        const char **names = gh_arena_alloc(a, ncols * sizeof(*names));
        bool *ints = gh_arena_alloc(a, ncols * sizeof(*ints));
        if (!names || !ints)
            return GH_DB_FAIL;
        for (size_t j = 0; j < ncols; j++) {
            Oid t = PQftype(res, (int)j);
            names[j] = gh_arena_strdup(a, PQfname(res, (int)j));
            ints[j] = t == 20 || t == 21 || t == 23;
            if (!names[j])
                return GH_DB_FAIL;
        }
        out->names = names;
        out->int_cols = ints;
    }
    const char *tuples = PQcmdTuples(res); /* "" for commands without a count */
    out->changes = tuples[0] ? strtoll(tuples, NULL, 10) : 0;
    return GH_DB_OK;
}

static gh_dbrc pg_exec(void *p, gh_arena *a, const char *sql, const gh_dbparam *params, size_t np,
                       gh_dbres *out, bool constant_sql)
{
    struct pg_conn *c = p;
    if (np > MAX_PARAMS) {
        gh_log_event(GH_LOG_ERROR, "postgresql error",
                     json_pack("{s:s, s:s}", "error", "too many parameters", "sql", sql));
        return GH_DB_FAIL;
    }
    gh_dbrc rc = ensure_usable(c);
    if (rc != GH_DB_OK)
        return rc;

    /* Integers go as decimal text, which the server parses into the type it
     * inferred for the parameter. */
    char ints[MAX_PARAMS][24];
    const char *values[MAX_PARAMS];
    for (size_t i = 0; i < np; i++) {
        switch (params[i].type) {
        case GH_DBP_TEXT:
            values[i] = params[i].s;
            break;
        case GH_DBP_INT:
            snprintf(ints[i], sizeof(ints[i]), "%lld", params[i].i);
            values[i] = ints[i];
            break;
        default:
            values[i] = NULL;
            break;
        }
    }

    const char *name = constant_sql ? stmt_get(c, sql, np, &rc) : NULL;
    if (rc != GH_DB_OK)
        return rc;
    PGresult *res = NULL;
    if (name) {
        res = PQexecPrepared(c->conn, name, (int)np, values, NULL, NULL, 0);
        /* "cached plan must not change result type": another instance
         * migrated the schema under our prepared statements. They are
         * prepared afresh from now on (the old ones stay on the server
         * until the session ends). The failed statement did nothing, so
         * outside a transaction it simply runs again. */
        if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
            is_state(PQresultErrorField(res, PG_DIAG_SQLSTATE), "0A000")) {
            memset(c->cache, 0, sizeof(c->cache));
            gh_log_event(GH_LOG_WARN, "postgresql schema changed",
                         json_pack("{s:b}", "retried", !c->in_tx));
            if (!c->in_tx) {
                PQclear(res);
                name = NULL;
                res = NULL;
            }
        }
    }
    if (!res) {
        Oid types[MAX_PARAMS];
        param_types(sql, np, types);
        res = PQexecParams(c->conn, sql, (int)np, types, values, NULL, NULL, 0);
    }
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        rc = collect_rows(res, a, out);
    else
        rc = map_error(c, res, sql);
    PQclear(res);
    return rc;
}

static bool starts_with(const char *sql, const char *word)
{
    return strncasecmp(sql, word, strlen(word)) == 0;
}

static gh_dbrc pg_script(void *p, const char *sql)
{
    struct pg_conn *c = p;
    bool begin = starts_with(sql, "BEGIN"), commit = starts_with(sql, "COMMIT");
    if (starts_with(sql, "ROLLBACK") &&
        (c->tx_lost || PQstatus(c->conn) != CONNECTION_OK || !c->in_tx)) {
        /* Nothing to undo on the server: the transaction died with the old
         * connection, or never began. */
        c->in_tx = c->tx_lost = false;
        return GH_DB_OK;
    }
    gh_dbrc rc = ensure_usable(c);
    if (rc != GH_DB_OK)
        return rc;
    PGresult *res = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? GH_DB_OK : map_error(c, res, sql);
    /* COMMIT of a transaction that an earlier error aborted succeeds with
     * the tag ROLLBACK: the caller's writes are not there. */
    if (commit && rc == GH_DB_OK && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        gh_log_event(GH_LOG_ERROR, "postgresql error",
                     json_pack("{s:s}", "error", "COMMIT rolled back an aborted transaction"));
        rc = GH_DB_FAIL;
    }
    PQclear(res);
    if (begin && rc == GH_DB_OK)
        c->in_tx = true;
    /* A COMMIT that fails still ends the transaction on the server. */
    if (commit || starts_with(sql, "ROLLBACK"))
        c->in_tx = c->tx_lost = false;
    return rc;
}

const gh_db_driver gh_db_pg_driver = {
    .name = "postgresql",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .script = pg_script,
    /* Optimistic version checks and unique constraints keep writers correct
     * without serialising them. */
    .begin_sql = "BEGIN ISOLATION LEVEL READ COMMITTED",
    .begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    /* Held until the migration's transaction ends; other instances wait. */
    .migration_lock_sql = "SELECT pg_advisory_xact_lock(4242001)",
    .migrations = pg_migrations,
    .nmigrations = sizeof(pg_migrations) / sizeof(pg_migrations[0]),
};
