#include "gh_mkey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gh_crypto.h"
#include "gh_fs.h"
#include "gh_log.h"

enum { HEX_LEN = 2 * GH_MASTER_KEY_BYTES };

static int read_key_file(const char *path, uint8_t key[GH_MASTER_KEY_BYTES], char *err,
                         size_t errlen)
{
    char buf[HEX_LEN + 8];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "master key file %.200s: %s", path, strerror(errno));
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    int rc = gh_unhex(buf, (size_t)n, key, GH_MASTER_KEY_BYTES);
    sodium_memzero(buf, sizeof(buf));
    if (rc != 0) {
        snprintf(err, errlen, "master key file %.200s: must hold 64 hex characters", path);
        return -1;
    }
    return 0;
}

static int generate_key_file(const char *path, uint8_t key[GH_MASTER_KEY_BYTES], char *err,
                             size_t errlen)
{
    char hex[HEX_LEN + 2];
    gh_random(key, GH_MASTER_KEY_BYTES);
    gh_hex(key, GH_MASTER_KEY_BYTES, hex);
    hex[HEX_LEN] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create master key file %.200s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t w = write(fd, hex, HEX_LEN + 1);
    int sync_rc = fsync(fd);
    close(fd);
    sodium_memzero(hex, sizeof(hex));
    if (w != HEX_LEN + 1 || sync_rc != 0) {
        unlink(path);
        snprintf(err, errlen, "cannot write master key file %.200s", path);
        return -1;
    }
    gh_log(GH_LOG_WARN, "master key generated",
           "no GATEHOUSE_MASTER_KEY was given; a new key was written to %s (mode 0600). "
           "Back it up: secrets encrypted under it are lost without it",
           path);
    return 0;
}

int gh_mkey_load(gh_config *cfg, char *err, size_t errlen)
{
    if (cfg->master_key_set)
        return 0;
    bool explicit_file = cfg->master_key_file[0] != '\0';
    char path[GH_PATH_MAX];
    if (explicit_file)
        snprintf(path, sizeof(path), "%s", cfg->master_key_file);
    else if (snprintf(path, sizeof(path), "%s/master.key", cfg->data_dir) >= (int)sizeof(path)) {
        snprintf(err, errlen, "GATEHOUSE_DATA_DIR: path is too long");
        return -1;
    }
    int rc = read_key_file(path, cfg->master_key, err, errlen);
    if (rc == 1 && explicit_file) {
        snprintf(err, errlen, "GATEHOUSE_MASTER_KEY_FILE: %.200s does not exist", path);
        return -1;
    }
    if (rc == 1) {
        if (gh_fs_mkdirs(cfg->data_dir) != 0) {
            snprintf(err, errlen, "GATEHOUSE_DATA_DIR: cannot create %.200s: %s", cfg->data_dir,
                     strerror(errno));
            return -1;
        }
        rc = generate_key_file(path, cfg->master_key, err, errlen);
    }
    if (rc != 0)
        return -1;
    cfg->master_key_set = true;
    return 0;
}

char *gh_mkey_seal(gh_arena *a, const uint8_t key[GH_MASTER_KEY_BYTES], const char *ad,
                   const uint8_t *plain, size_t n)
{
    size_t total = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
                   crypto_aead_xchacha20poly1305_ietf_ABYTES;
    uint8_t *buf = gh_arena_alloc(a, total);
    if (!buf)
        return NULL;
    uint8_t *nonce = buf, *ct = buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, plain, n, (const uint8_t *)ad, strlen(ad),
                                               NULL, nonce, key);
    return gh_b64url(a, buf, total);
}

/* Purposes whose key is crypto_kdf's (BLAKE2b keyed with the master key,
 * subkey id 1, the purpose zero-padded to the 8-byte context): gh_mkey_mac
 * was built on it. Every other purpose gets HMAC-SHA-256 of the purpose
 * under the master key, as the CSRF tokens and the authorize and consent
 * markers always did. Neither construction may change for a purpose in use
 * (gh_mkey.h). */
static const char *const kdf_purposes[] = {"gh-code"};

static bool is_kdf_purpose(const char *purpose)
{
    for (size_t i = 0; i < sizeof(kdf_purposes) / sizeof(kdf_purposes[0]); i++)
        if (strcmp(purpose, kdf_purposes[i]) == 0)
            return true;
    return false;
}

int gh_mkey_derive(const uint8_t key[GH_MASTER_KEY_BYTES], const char *purpose, uint8_t *out,
                   size_t len)
{
    if (!out)
        return -1;
    sodium_memzero(out, len);
    if (len != GH_MKEY_DERIVED_BYTES || !purpose || !*purpose)
        return -1;
    if (is_kdf_purpose(purpose)) {
        char ctx[crypto_kdf_CONTEXTBYTES] = {0};
        memcpy(ctx, purpose, strnlen(purpose, sizeof(ctx)));
        return crypto_kdf_derive_from_key(out, len, 1, ctx, key) == 0 ? 0 : -1;
    }
    _Static_assert(crypto_auth_hmacsha256_BYTES == GH_MKEY_DERIVED_BYTES, "HMAC output size");
    _Static_assert(crypto_auth_hmacsha256_KEYBYTES == GH_MASTER_KEY_BYTES, "HMAC key size");
    crypto_auth_hmacsha256(out, (const uint8_t *)purpose, strlen(purpose), key);
    return 0;
}

void gh_mkey_mac(const uint8_t key[GH_MASTER_KEY_BYTES], const char *purpose, const char *msg,
                 char out[2 * 32 + 1])
{
    uint8_t subkey[GH_MKEY_DERIVED_BYTES];
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    /* cannot fail but for a missing purpose: no hash beats a guessable one */
    if (gh_mkey_derive(key, purpose, subkey, sizeof(subkey)) != 0)
        abort();
    crypto_auth_hmacsha256(mac, (const uint8_t *)msg, strlen(msg), subkey);
    sodium_bin2hex(out, 2 * 32 + 1, mac, sizeof(mac));
    sodium_memzero(subkey, sizeof(subkey));
}

uint8_t *gh_mkey_open(gh_arena *a, const uint8_t key[GH_MASTER_KEY_BYTES], const char *ad,
                      const char *sealed, size_t *n)
{
    size_t slen = strlen(sealed), blen = 0;
    if (!gh_b64url_valid(sealed, slen))
        return NULL;
    uint8_t *buf = gh_arena_alloc(a, slen);
    if (!buf || sodium_base642bin(buf, slen, sealed, slen, NULL, &blen, NULL,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    size_t overhead =
        crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (blen < overhead)
        return NULL;
    uint8_t *plain = gh_arena_alloc(a, blen - overhead + 1);
    unsigned long long plen = 0;
    const uint8_t *nonce = buf, *ct = buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (!plain || crypto_aead_xchacha20poly1305_ietf_decrypt(
                      plain, &plen, NULL, ct, blen - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                      (const uint8_t *)ad, strlen(ad), nonce, key) != 0)
        return NULL;
    *n = (size_t)plen;
    return plain;
}
