/*
 * gh_migrations_sqlite: the SQLite schema, one string per version (gh_db_sqlite.c applies them).
 * Never edit a shipped migration: add a new one at the end.
 */
#include "gh_migrations.h"

const char *const gh_sqlite_migrations[] = {
    /* 1: tenants, users, credentials, audit log */
    "CREATE TABLE tenants ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "INSERT INTO tenants (id, name, created_at)"
    "  VALUES ('default', 'Default', CAST(strftime('%s','now') AS INTEGER) * 1000);"
    "CREATE TABLE users ("
    "  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    "  id TEXT NOT NULL,"
    "  username TEXT NOT NULL,"
    "  email TEXT,"
    "  email_verified INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL DEFAULT 'active',"
    "  external_id TEXT,"
    "  given_name TEXT,"
    "  family_name TEXT,"
    "  display_name TEXT,"
    "  profile TEXT NOT NULL DEFAULT '{}',"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, id),"
    "  UNIQUE (tenant_id, username));"
    "CREATE UNIQUE INDEX users_email ON users (tenant_id, email);"
    "CREATE INDEX users_created ON users (tenant_id, created_at, id);"
    "CREATE TABLE credentials ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  name TEXT,"
    "  data TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX credentials_user ON credentials (tenant_id, user_id, type);"
    "CREATE TABLE audit_events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL UNIQUE,"
    "  time INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  subject TEXT,"
    "  actor TEXT,"
    "  ip TEXT,"
    "  user_agent TEXT,"
    "  outcome TEXT NOT NULL,"
    "  reason TEXT,"
    "  details TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX audit_tenant_time ON audit_events (tenant_id, time);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events"
    "  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events"
    "  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;",
    /* 2: accounts: sessions, email verification flows, throttling, mail outbox */
    "CREATE TABLE sessions ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  user_id TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  idle_expires_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  auth_time INTEGER NOT NULL,"
    "  aal INTEGER NOT NULL DEFAULT 1,"
    "  amr TEXT NOT NULL DEFAULT '[]',"
    "  ip TEXT,"
    "  user_agent TEXT,"
    "  revoked_at INTEGER,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX sessions_user ON sessions (tenant_id, user_id);"
    "CREATE TABLE email_flows ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  user_id TEXT,"
    "  email TEXT NOT NULL,"
    "  code_hash TEXT NOT NULL,"
    "  link_hash TEXT NOT NULL,"
    "  binding_hash TEXT,"
    "  return_to TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  sends INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL,"
    "  last_sent_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  consumed_at INTEGER,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE TABLE throttles ("
    "  tenant_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  last_failure_at INTEGER NOT NULL,"
    "  blocked_until INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, key));"
    "CREATE TABLE mail_outbox ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  to_addr TEXT NOT NULL,"
    "  template TEXT NOT NULL,"
    "  params TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  claimed_until INTEGER,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  sent_at INTEGER,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);"
    "CREATE TABLE mail_attempts ("
    "  outbox_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  error TEXT,"
    "  PRIMARY KEY (outbox_id, attempt));",
    /* 3: OpenID Connect provider: keys, clients, codes, refresh tokens, consent */
    "CREATE TABLE signing_keys ("
    "  tenant_id TEXT NOT NULL,"
    "  kid TEXT NOT NULL,"
    "  alg TEXT NOT NULL,"
    "  private_jwk TEXT NOT NULL,"
    "  public_jwk TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  retired_at INTEGER,"
    "  expires_at INTEGER,"
    "  PRIMARY KEY (tenant_id, kid));"
    "CREATE TABLE clients ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  secret_hash TEXT,"
    "  registration_token_hash TEXT,"
    "  first_party INTEGER NOT NULL DEFAULT 0,"
    "  metadata TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
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
    "  auth_time INTEGER NOT NULL,"
    "  acr TEXT,"
    "  amr TEXT,"
    "  family_id TEXT,"
    "  access_jti TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  PRIMARY KEY (tenant_id, code_hash));"
    "CREATE TABLE refresh_tokens ("
    "  tenant_id TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL,"
    "  family_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  session_id TEXT,"
    "  scope TEXT NOT NULL,"
    "  auth_time INTEGER,"
    "  acr TEXT,"
    "  amr TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  family_expires_at INTEGER NOT NULL,"
    "  rotated_at INTEGER,"
    "  revoked_at INTEGER,"
    "  PRIMARY KEY (tenant_id, token_hash));"
    "CREATE INDEX refresh_family ON refresh_tokens (tenant_id, family_id);"
    "CREATE TABLE consents ("
    "  tenant_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  granted_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, user_id, client_id));"
    "CREATE TABLE revoked_tokens ("
    "  tenant_id TEXT NOT NULL,"
    "  jti TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, jti));"
    "CREATE TABLE used_jtis ("
    "  tenant_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  jti TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, client_id, jti));",
    /* 4: second factors (TOTP, passkeys, email codes), recovery codes,
     * ceremony state, and each session's factors with their times */
    "ALTER TABLE sessions ADD COLUMN factors TEXT NOT NULL DEFAULT '[]';"
    "CREATE TABLE mfa_factors ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  name TEXT,"
    "  secret TEXT,"
    "  credential_id TEXT,"
    "  public_key TEXT,"
    "  alg INTEGER NOT NULL DEFAULT 0,"
    "  sign_count INTEGER NOT NULL DEFAULT 0,"
    "  last_step INTEGER NOT NULL DEFAULT 0,"
    "  flags INTEGER NOT NULL DEFAULT 0,"
    "  aaguid TEXT,"
    "  transports TEXT,"
    "  attestation TEXT,"
    "  confirmed INTEGER NOT NULL DEFAULT 0,"
    "  cloned_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE UNIQUE INDEX mfa_factors_credential ON mfa_factors (tenant_id, credential_id);"
    "CREATE INDEX mfa_factors_user ON mfa_factors (tenant_id, user_id);"
    "CREATE TABLE recovery_codes ("
    "  tenant_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  code_hash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  PRIMARY KEY (tenant_id, user_id, code_hash),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE TABLE auth_challenges ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  binding_hash TEXT NOT NULL,"
    "  user_id TEXT,"
    "  challenge TEXT,"
    "  data TEXT NOT NULL DEFAULT '{}',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  consumed_at INTEGER,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE INDEX auth_challenges_binding ON auth_challenges (tenant_id, binding_hash, kind);"
    "CREATE INDEX auth_challenges_expires ON auth_challenges (tenant_id, expires_at);",
    /* 5: back-channel logout finds a session's clients by session_id in both
     * token tables (gh_store_session_clients): without these indexes every
     * logout scanned both tables */
    "CREATE INDEX auth_codes_session ON auth_codes (tenant_id, session_id);"
    "CREATE INDEX refresh_tokens_session ON refresh_tokens (tenant_id, session_id);",
    /* 6: back-channel logout queue: one row per (ended session, client); the
     * token is signed at each attempt, so no row holds one */
    "CREATE TABLE logout_queue ("
    "  tenant_id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  claimed_until INTEGER,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  sent_at INTEGER,"
    "  PRIMARY KEY (tenant_id, session_id, client_id));"
    "CREATE INDEX logout_queue_due ON logout_queue (status, next_attempt_at);"
    "CREATE TABLE logout_attempts ("
    "  tenant_id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL,"
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
    "  tenant_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  device_hash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, user_id, device_hash),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);",
    /* 9: self_signup: created by POST /api/v1/signup (never SCIM or import), so
     * replaceable and prunable while unverified; email_flows.signup: the
     * sign-up (password hash, names) a verification flow carries to replace
     * such an account */
    "ALTER TABLE users ADD COLUMN self_signup INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE email_flows ADD COLUMN signup TEXT;"
    "CREATE INDEX users_unverified ON users (tenant_id, self_signup, email_verified, created_at);",
    /* 10: protected resources (RFC 8707): issue 16 */
    "CREATE TABLE resources ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  identifier TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  scopes TEXT NOT NULL,"
    "  access_token_ttl INTEGER NOT NULL DEFAULT 0,"
    "  access_token_format TEXT NOT NULL DEFAULT 'jwt',"
    "  introspection_clients TEXT NOT NULL DEFAULT '[]',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE UNIQUE INDEX resources_identifier ON resources (tenant_id, identifier);",
    /* 11: the access token issued with each refresh token, so that revoking a
     * refresh token (a family, a session, a user) revokes its access tokens
     * too; and a per-user index for the user-wide revocations. */
    "ALTER TABLE refresh_tokens ADD COLUMN access_jti TEXT;"
    "ALTER TABLE refresh_tokens ADD COLUMN access_expires_at INTEGER;"
    "CREATE INDEX refresh_tokens_user ON refresh_tokens (tenant_id, user_id, client_id);",
    /* 12: waiting-period account recovery (issue 18, docs/recovery.md):
     * state waiting, cancelled or completed; cancel_hash is the SHA-256 of
     * the token in the cancel link; reminder_mail_id the scheduled reminder,
     * withdrawn when the wait ends early. */
    "CREATE TABLE recovery_waits ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  ends_at INTEGER NOT NULL,"
    "  cancel_hash TEXT NOT NULL,"
    "  reminder_mail_id TEXT,"
    "  reason TEXT,"
    "  updated_at INTEGER NOT NULL,"
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
    "ALTER TABLE users ADD COLUMN locked_at INTEGER;"
    "CREATE TABLE notice_links ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL,"
    "  old_email TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE UNIQUE INDEX notice_links_token ON notice_links (tenant_id, token_hash);"
    "CREATE INDEX notice_links_expiry ON notice_links (expires_at);"
    /* a customer's own events (data export, deletion) without a scan */
    "CREATE INDEX audit_subject ON audit_events (tenant_id, subject, seq);",
    /* 14: deleting an account (issue 18 item 6, gh_deletion).
     * users.delete_at: when an account in status 'deleting' is erased.
     * The audit log stays append-only but for one change: the erasure of a
     * deleted customer's personal data in their events (subject and actor
     * become a pseudonym 'pseud:...', ip and user_agent are cleared, details
     * may lose an address); every other column stays as written. substr,
     * not LIKE: with trusted_schema off a trigger may not call the LIKE
     * that case_sensitive_like installs. */
    "ALTER TABLE users ADD COLUMN delete_at INTEGER;"
    "CREATE INDEX users_delete_at ON users (delete_at) WHERE delete_at IS NOT NULL;"
    "DROP TRIGGER audit_no_update;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events"
    "  WHEN NEW.seq IS NOT OLD.seq OR NEW.tenant_id IS NOT OLD.tenant_id"
    "    OR NEW.id IS NOT OLD.id OR NEW.time IS NOT OLD.time OR NEW.type IS NOT OLD.type"
    "    OR NEW.outcome IS NOT OLD.outcome OR NEW.reason IS NOT OLD.reason"
    "    OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "    OR (NEW.subject IS NOT OLD.subject AND substr(NEW.subject, 1, 6) <> 'pseud:')"
    "    OR (NEW.actor IS NOT OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:')"
    "  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;",
    /* migration 15: purposes, versioned documents and the consent ledger
     * (issue 20, docs/privacy.md). consent_records is append-only like
     * audit_events but for one change: the erasure of a deleted customer
     * (user_id and actor become their 'pseud:' pseudonym, ip and user_agent
     * are cleared); no foreign key to users, so a record outlives the account
     * it is about. */
    "CREATE TABLE consent_purposes ("
    "  tenant_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  title TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  label TEXT NOT NULL,"
    "  required INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, key));"
    "CREATE TABLE consent_documents ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id TEXT NOT NULL,"
    "  purpose TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  effective_at INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  body TEXT,"
    "  summary TEXT NOT NULL DEFAULT '',"
    "  published_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, purpose, version),"
    "  FOREIGN KEY (tenant_id, purpose) REFERENCES consent_purposes (tenant_id, key));"
    "CREATE TABLE consent_records ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL UNIQUE,"
    "  time INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  purpose TEXT NOT NULL,"
    "  decision TEXT NOT NULL,"
    "  version TEXT,"
    "  sha256 TEXT,"
    "  wording TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  ip TEXT,"
    "  user_agent TEXT,"
    "  actor TEXT NOT NULL,"
    "  reason TEXT);"
    "CREATE INDEX consent_records_user ON consent_records (tenant_id, user_id, seq);"
    "CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records"
    "  BEGIN SELECT RAISE(ABORT, 'consent_records is append-only'); END;"
    "CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records"
    "  WHEN NEW.seq IS NOT OLD.seq OR NEW.tenant_id IS NOT OLD.tenant_id"
    "    OR NEW.id IS NOT OLD.id OR NEW.time IS NOT OLD.time OR NEW.purpose IS NOT OLD.purpose"
    "    OR NEW.decision IS NOT OLD.decision OR NEW.version IS NOT OLD.version"
    "    OR NEW.sha256 IS NOT OLD.sha256 OR NEW.wording IS NOT OLD.wording"
    "    OR NEW.channel IS NOT OLD.channel OR NEW.reason IS NOT OLD.reason"
    "    OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "    OR (NEW.user_id IS NOT OLD.user_id AND substr(NEW.user_id, 1, 6) <> 'pseud:')"
    "    OR (NEW.actor IS NOT OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:')"
    "  BEGIN SELECT RAISE(ABORT, 'consent_records is append-only'); END;",
    /* migration 16: communication preferences (issue 20 item 5, gh_prefs,
     * docs/privacy.md). comm_topics: what an operator mails about (opt-in:
     * no row in comm_preferences means not subscribed); comm_preferences:
     * each customer's current choice per topic and channel; the history is
     * append-only evidence of every change, erasable only as the audit
     * log is (user_id and actor to a 'pseud:' pseudonym, ip and user_agent
     * cleared); comm_unsubscribe_links: one row per mailed link, its token
     * kept as a SHA-256 hex only, single use. */
    "CREATE TABLE comm_topics ("
    "  tenant_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  title TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  channel TEXT NOT NULL DEFAULT 'email',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  retired_at INTEGER,"
    "  PRIMARY KEY (tenant_id, key));"
    "CREATE TABLE comm_preferences ("
    "  tenant_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  topic_key TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  subscribed INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, user_id, topic_key, channel),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX comm_preferences_topic ON comm_preferences (tenant_id, topic_key, channel);"
    "CREATE TABLE comm_preference_history ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL UNIQUE,"
    "  time INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  topic_key TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  decision TEXT NOT NULL,"
    "  via TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  reason TEXT,"
    "  ip TEXT,"
    "  user_agent TEXT);"
    "CREATE INDEX comm_history_user ON comm_preference_history (tenant_id, user_id, seq);"
    "CREATE TRIGGER comm_history_no_delete BEFORE DELETE ON comm_preference_history"
    "  BEGIN SELECT RAISE(ABORT, 'comm_preference_history is append-only'); END;"
    "CREATE TRIGGER comm_history_no_update BEFORE UPDATE ON comm_preference_history"
    "  WHEN NEW.seq IS NOT OLD.seq OR NEW.tenant_id IS NOT OLD.tenant_id"
    "    OR NEW.id IS NOT OLD.id OR NEW.time IS NOT OLD.time"
    "    OR NEW.topic_key IS NOT OLD.topic_key OR NEW.channel IS NOT OLD.channel"
    "    OR NEW.decision IS NOT OLD.decision OR NEW.via IS NOT OLD.via"
    "    OR NEW.reason IS NOT OLD.reason OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "    OR (NEW.user_id IS NOT OLD.user_id AND substr(NEW.user_id, 1, 6) <> 'pseud:')"
    "    OR (NEW.actor IS NOT OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:')"
    "  BEGIN SELECT RAISE(ABORT, 'comm_preference_history is append-only'); END;"
    "CREATE TABLE comm_unsubscribe_links ("
    "  tenant_id TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  topic_key TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  PRIMARY KEY (tenant_id, token_hash),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX comm_unsubscribe_user ON comm_unsubscribe_links (tenant_id, user_id);"
    "CREATE INDEX comm_unsubscribe_expiry ON comm_unsubscribe_links (expires_at);",
    /* migration 17: the operator's profile schema (issue 20 item 6,
     * docs/privacy.md "Progressive profiling"): one row per attribute of a
     * tenant; doc is the attribute as the admin API shows it (JSON text,
     * validated by proto/gh_attr_schema). The customers' values live in
     * users.profile under "attributes" (ARCHITECTURE.md says why). */
    "CREATE TABLE profile_attributes ("
    "  tenant_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, name));",
    /* migration 18: purpose decisions for applications (issue 20 item 4,
     * docs/privacy.md "For applications"). consent_records.client_id is the
     * application through which the customer decided (NULL for Gatehouse's
     * own pages and the operator); the no-update trigger is made again so
     * that the new column is as fixed as the others. auth_codes.claims holds
     * the claims the request's claims parameter asked for in the ID token
     * (space-separated names Gatehouse acts on, e.g. "consents"). */
    "ALTER TABLE consent_records ADD COLUMN client_id TEXT;"
    "ALTER TABLE auth_codes ADD COLUMN claims TEXT;"
    "DROP TRIGGER consent_records_no_update;"
    "CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records"
    "  WHEN NEW.seq IS NOT OLD.seq OR NEW.tenant_id IS NOT OLD.tenant_id"
    "    OR NEW.id IS NOT OLD.id OR NEW.time IS NOT OLD.time OR NEW.purpose IS NOT OLD.purpose"
    "    OR NEW.decision IS NOT OLD.decision OR NEW.version IS NOT OLD.version"
    "    OR NEW.sha256 IS NOT OLD.sha256 OR NEW.wording IS NOT OLD.wording"
    "    OR NEW.channel IS NOT OLD.channel OR NEW.reason IS NOT OLD.reason"
    "    OR NEW.client_id IS NOT OLD.client_id"
    "    OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "    OR (NEW.user_id IS NOT OLD.user_id AND substr(NEW.user_id, 1, 6) <> 'pseud:')"
    "    OR (NEW.actor IS NOT OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:')"
    "  BEGIN SELECT RAISE(ABORT, 'consent_records is append-only'); END;",
    /* migration 19: the audit log's hash chain (issue 22 item 8,
     * docs/audit.md). Each event gets its place in its tenant's chain
     * (chain_n), the hash of the event before it, the keyed digest of its
     * personal fields and its own hash; audit_chain_heads holds each
     * tenant's last position and hash (its row is the lock that orders
     * appends) and the last checkpoint; audit_checkpoints the signed ones.
     * Rows written before this migration have no hash until the first start
     * chains them (gh_audit_log_backfill): the one update that may set the
     * chain columns, and only while hash is NULL and nothing else changes.
     * Once chained, the erasure of a deleted customer stays the only
     * change. */
    "ALTER TABLE audit_events ADD COLUMN chain_n INTEGER;"
    "ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;"
    "ALTER TABLE audit_events ADD COLUMN pii_digest TEXT;"
    "ALTER TABLE audit_events ADD COLUMN hash TEXT;"
    "CREATE TABLE audit_chain_heads ("
    "  tenant_id TEXT PRIMARY KEY,"
    "  n INTEGER NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  cp_n INTEGER NOT NULL,"
    "  cp_time INTEGER NOT NULL);"
    "CREATE TABLE audit_checkpoints ("
    "  tenant_id TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  kid TEXT NOT NULL,"
    "  jwk TEXT NOT NULL,"
    "  jwk_mac TEXT NOT NULL,"
    "  jws TEXT NOT NULL,"
    "  PRIMARY KEY (tenant_id, n));"
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
    "  BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
    "  BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"
    "DROP TRIGGER audit_no_update;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events"
    "  WHEN NEW.seq IS NOT OLD.seq OR NEW.tenant_id IS NOT OLD.tenant_id"
    "    OR NEW.id IS NOT OLD.id OR NEW.time IS NOT OLD.time OR NEW.type IS NOT OLD.type"
    "    OR NEW.outcome IS NOT OLD.outcome OR NEW.reason IS NOT OLD.reason"
    "    OR (OLD.hash IS NULL AND (NEW.subject IS NOT OLD.subject OR NEW.actor IS NOT OLD.actor"
    "      OR NEW.ip IS NOT OLD.ip OR NEW.user_agent IS NOT OLD.user_agent"
    "      OR NEW.details IS NOT OLD.details))"
    "    OR (OLD.hash IS NOT NULL AND (NEW.chain_n IS NOT OLD.chain_n"
    "      OR NEW.prev_hash IS NOT OLD.prev_hash OR NEW.pii_digest IS NOT OLD.pii_digest"
    "      OR NEW.hash IS NOT OLD.hash OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "      OR (NEW.subject IS NOT OLD.subject AND substr(NEW.subject, 1, 6) <> 'pseud:')"
    "      OR (NEW.actor IS NOT OLD.actor AND substr(NEW.actor, 1, 6) <> 'pseud:')))"
    "  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;",
    /* migration 20: rate-limit counts shared by instances (docs/rate-limits.md):
     * tokens taken per key (a keyed hash of class, kind and address, email or
     * client; never the email itself) per minute, added to once a second by
     * each instance's reconciliation (gh_ratelimit_sync); rows older than a few
     * minutes are deleted by it. Used on PostgreSQL; here for one schema. */
    "CREATE TABLE ratelimit_counts ("
    "  key TEXT NOT NULL,"
    "  window_start INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (key, window_start));",
    /* migration 21: the risk engine (issue 22 items 1-4, docs/risk.md).
     * risk_networks: the networks (/24, /48) an account signed in from, as
     * SHA-256 of user and network, at most GH_RISK_NETWORKS_KEPT per
     * account. risk_decisions: every decision with its signals, the rules
     * that fired, score, outcome and policy version (JSON text), and what
     * the shadow policy would have decided. */
    "CREATE TABLE risk_networks ("
    "  tenant_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  network_hash TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, user_id, network_hash),"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE TABLE risk_decisions ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  user_id TEXT,"
    "  journey TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  acr TEXT,"
    "  reason TEXT,"
    "  score INTEGER NOT NULL,"
    "  policy_version TEXT NOT NULL,"
    "  signals TEXT NOT NULL,"
    "  fired TEXT NOT NULL,"
    "  shadow TEXT,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE INDEX risk_decisions_user ON risk_decisions (tenant_id, user_id, created_at);"
    /* the context a live session was last scored in ("network\nuser agent";
     * NULL: the sign-in's, its ip and user_agent, which stay as they were) */
    "ALTER TABLE sessions ADD COLUMN risk_context TEXT;",
    /* migration 22: refresh_tokens.claims keeps the claims the original
     * request's claims parameter asked for in the ID token (as
     * auth_codes.claims), so an ID token issued on refresh carries them
     * too (docs/oidc.md "Refresh"). Every rotated token copies it. */
    "ALTER TABLE refresh_tokens ADD COLUMN claims TEXT;",
    /* 23: tenants (docs/tenants.md): a status (active, disabled, deleted:
     * a deleted tenant keeps its row and audit events, so its id is never
     * reused), an optional host name it is reached by, its policy (JSON),
     * and per-tenant SCIM tokens (SHA-256 of each, shown once) */
    "ALTER TABLE tenants ADD COLUMN status TEXT NOT NULL DEFAULT 'active';"
    "ALTER TABLE tenants ADD COLUMN host TEXT;"
    "ALTER TABLE tenants ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';"
    "ALTER TABLE tenants ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE UNIQUE INDEX tenants_host ON tenants (host) WHERE host IS NOT NULL;"
    "CREATE TABLE scim_tokens ("
    "  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    "  id TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  PRIMARY KEY (tenant_id, id));",
    /* 24: per-tenant branding (issue 21 item 2, docs/branding.md): one row
     * per branded tenant, values validated by gh_brand before they are
     * stored; colors and dark_colors are JSON objects of colour name to
     * CSS colour; "" in product_name, logo_uri or stylesheet: the default */
    "CREATE TABLE tenant_branding ("
    "  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),"
    "  product_name TEXT NOT NULL,"
    "  logo_uri TEXT NOT NULL,"
    "  colors TEXT NOT NULL,"
    "  dark_colors TEXT NOT NULL,"
    "  stylesheet TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL);",
    /* 25: federation with upstream providers (issue 21 part 4,
     * docs/federation.md). fed_providers: an upstream OpenID Connect or
     * GitHub-style OAuth 2.0 provider of a tenant (org_id: an organisation's
     * own, later), its client secret sealed under the master key
     * (gh_mkey_seal, ad "fedsecret:<tenant>/<id>"), endpoints overriding
     * discovery or the preset's (JSON object), whether its email_verified is
     * believed, and the attribute mapping (JSON object). fed_identities: an
     * upstream subject linked to an account, one account per (tenant,
     * provider, subject). The pending flow (hash of state, nonce, sealed PKCE
     * verifier) lives in auth_challenges, kind "federation". */
    "CREATE TABLE fed_providers ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  org_id TEXT,"
    "  display_name TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  preset TEXT NOT NULL,"
    "  issuer TEXT,"
    "  endpoints TEXT NOT NULL DEFAULT '{}',"
    "  client_id TEXT NOT NULL,"
    "  client_secret TEXT,"
    "  scopes TEXT NOT NULL,"
    "  trust_email_verified INTEGER NOT NULL DEFAULT 0,"
    "  mapping TEXT NOT NULL DEFAULT '{}',"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE TABLE fed_identities ("
    "  tenant_id TEXT NOT NULL,"
    "  provider_id TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  email TEXT,"
    "  linked_at INTEGER NOT NULL,"
    "  last_used_at INTEGER,"
    "  PRIMARY KEY (tenant_id, provider_id, subject),"
    "  FOREIGN KEY (tenant_id, provider_id) REFERENCES fed_providers (tenant_id, id)"
    "    ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX fed_identities_user ON fed_identities (tenant_id, user_id);",
    /* 26: sessions.fresh_required marks a live session whose risk
     * re-evaluation asked for a step-up (docs/risk.md): its sign-in no
     * longer counts as recent until the person proves again, while
     * auth_time keeps the true time of that sign-in */
    "ALTER TABLE sessions ADD COLUMN fresh_required INTEGER NOT NULL DEFAULT 0;"
    /* 26: refresh_tokens.network: the keyed hash of the network a refresh
     * token was issued to; the risk engine's token journey compares the
     * network that presents it (docs/risk.md, "Token requests") */
    "ALTER TABLE refresh_tokens ADD COLUMN network TEXT;",
    /* 27: organisations inside a tenant (docs/organisations.md): members
     * with roles, the email domains an organisation holds, and the
     * organisation an authorization was for (auth_codes.org_id, kept by
     * every refresh token of its family) */
    "CREATE TABLE organizations ("
    "  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    "  id TEXT NOT NULL,"
    "  display_name TEXT NOT NULL,"
    "  mfa_required INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, id));"
    "CREATE TABLE org_members ("
    "  tenant_id TEXT NOT NULL,"
    "  org_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  roles TEXT NOT NULL DEFAULT '[]',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, org_id, user_id),"
    "  FOREIGN KEY (tenant_id, org_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE,"
    "  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE);"
    "CREATE INDEX org_members_user ON org_members (tenant_id, user_id);"
    "CREATE TABLE org_domains ("
    "  tenant_id TEXT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  org_id TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, domain),"
    "  FOREIGN KEY (tenant_id, org_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE);"
    "CREATE TABLE org_invitations ("
    "  tenant_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  org_id TEXT NOT NULL,"
    "  email TEXT NOT NULL,"
    "  roles TEXT NOT NULL DEFAULT '[]',"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  invited_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  accepted_at INTEGER,"
    "  accepted_by TEXT,"
    "  PRIMARY KEY (tenant_id, id),"
    "  FOREIGN KEY (tenant_id, org_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE);"
    "ALTER TABLE auth_codes ADD COLUMN org_id TEXT;"
    "ALTER TABLE refresh_tokens ADD COLUMN org_id TEXT;",
    /* 28: a tenant's own risk policy (docs/tenants.md "Risk policy"): the
     * policy file's text, NULL when the server's policy applies */
    "ALTER TABLE tenants ADD COLUMN risk_policy TEXT;",
    /* 29: auth_codes.network: the keyed hash of the network of the
     * /authorize request a code was issued to (docs/risk.md "Token
     * requests"), written with the code, so the code grant's new_network
     * needs no read of its own; codes from before it have none. */
    "ALTER TABLE auth_codes ADD COLUMN network TEXT;",
    /* 30: the upstream tenant of a linked identity (docs/federation.md
     * "Microsoft"): the tid of the ID token of a multi-tenant provider,
     * NULL for every other */
    "ALTER TABLE fed_identities ADD COLUMN upstream_tid TEXT;",
    /* 31: a tenant's own email templates (docs/tenants.md "Email
     * templates"): the subject and text body that replace a built-in
     * template (name, of gh_mail_templates.c) for one language (locale "":
     * every language without its own row) */
    "CREATE TABLE tenant_mail_templates ("
    "  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    "  name TEXT NOT NULL,"
    "  locale TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  body_text TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, name, locale));",
    /* 32: the risk signals read the last hour's events of a few types
     * (gh_store_risk_failures, gh_store_risk_events); by (tenant, time)
     * alone that read grew with every other event of the hour, the
     * sign-ins' own risk.decided among them (docs/risk.md "Cost"). */
    "CREATE INDEX audit_tenant_type_time ON audit_events (tenant_id, type, time);",
    /* 33: events are chained after their commit by the sealer, not in the
     * request (docs/audit.md "Appending"). A new event is inserted with
     * its pii_digest and seal_mac, the MAC that tells the sealer it was
     * written by the server; the sealer then sets its chain columns, the
     * one update allowed while hash is NULL. The erasure of a deleted
     * customer may now reach an event not sealed yet (pii_digest already
     * covers it). audit_legacy keeps the last seq written before the chain
     * had MACs: only events up to it may be chained without one. */
    "ALTER TABLE audit_events ADD COLUMN seal_mac TEXT;"
    "CREATE INDEX audit_unsealed ON audit_events (seq) WHERE hash IS NULL;"
    "CREATE INDEX audit_chain_pos ON audit_events (tenant_id, chain_n);"
    "CREATE TABLE audit_legacy (id INTEGER PRIMARY KEY CHECK (id = 1), max_seq INTEGER NOT NULL);"
    "INSERT INTO audit_legacy SELECT 1, COALESCE(MAX(seq), 0) FROM audit_events WHERE hash IS NULL;"
    "DROP TRIGGER audit_no_update;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events"
    "  WHEN NEW.seq IS NOT OLD.seq OR NEW.tenant_id IS NOT OLD.tenant_id"
    "    OR NEW.id IS NOT OLD.id OR NEW.time IS NOT OLD.time OR NEW.type IS NOT OLD.type"
    "    OR NEW.outcome IS NOT OLD.outcome OR NEW.reason IS NOT OLD.reason"
    "    OR NEW.seal_mac IS NOT OLD.seal_mac"
    "    OR (OLD.hash IS NOT NULL AND (NEW.chain_n IS NOT OLD.chain_n"
    "      OR NEW.prev_hash IS NOT OLD.prev_hash OR NEW.hash IS NOT OLD.hash))"
    "    OR (OLD.pii_digest IS NOT NULL AND NEW.pii_digest IS NOT OLD.pii_digest)"
    "    OR ((NEW.subject IS NOT OLD.subject OR NEW.actor IS NOT OLD.actor"
    "        OR NEW.ip IS NOT OLD.ip OR NEW.user_agent IS NOT OLD.user_agent"
    "        OR NEW.details IS NOT OLD.details)"
    "      AND (OLD.pii_digest IS NULL OR NEW.ip IS NOT NULL OR NEW.user_agent IS NOT NULL"
    "        OR (NEW.subject IS NOT OLD.subject AND COALESCE(substr(NEW.subject, 1, 6), '') <> "
    "'pseud:')"
    "        OR (NEW.actor IS NOT OLD.actor AND COALESCE(substr(NEW.actor, 1, 6), '') <> "
    "'pseud:')))"
    "  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;",
};
_Static_assert(sizeof(gh_sqlite_migrations) / sizeof(gh_sqlite_migrations[0]) == GH_MIGRATIONS,
               "GH_MIGRATIONS counts the migrations");
