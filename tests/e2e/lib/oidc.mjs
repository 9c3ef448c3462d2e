// Helpers for relying parties built with openid-client.

import * as client from 'openid-client';

/** The client authentication a registered client must use: only its
 * registered method is accepted (docs/clients.md), while openid-client
 * would send the secret in the form by default. */
export function clientAuth(reg) {
  switch (reg.token_endpoint_auth_method) {
    case 'none': return client.None();
    case 'client_secret_post': return client.ClientSecretPost(reg.client_secret);
    default: return client.ClientSecretBasic(reg.client_secret);
  }
}
