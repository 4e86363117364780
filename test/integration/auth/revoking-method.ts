// A test-only auth method with revocation at the provider, registered from outside src/: a login whose
// tokens the fake refresh auth service (test/fakes/refresh-auth-service.ts) revokes at POST /auth/revoke.
import { z } from 'zod';
import { registerAuthMethod, type AuthMethod } from '../../../src/auth/index.js';
import { ComponentKeys } from '../../../src/auth/method.js';
import { CredentialFieldSchema, NonEmpty } from '../../../src/core/primitives.js';

const RevokingComponentSchema = z.strictObject({
  type: z.literal('revoking-login'),
  url: NonEmpty,
  revokeUrl: NonEmpty,
  fields: z.array(CredentialFieldSchema).length(2),
  ...ComponentKeys,
});
type RevokingComponent = z.output<typeof RevokingComponentSchema>;

export const revokingLogin: AuthMethod<RevokingComponent> = {
  type: 'revoking-login',
  schema: RevokingComponentSchema,
  async authenticate(_name, component, values, deps) {
    const response = await deps.http({
      method: 'POST',
      url: component.url,
      body: { username: values.username, password: values.password },
      timeoutMs: component.timeout * 1000,
    });
    if (response.status !== 200) return { result: 'wrong_credentials' };
    const answer = response.json as { access_token: string; refresh_token: string; user: { id: string } };
    return {
      result: 'success',
      token: answer.access_token,
      ttlSeconds: component.ttl,
      refreshToken: answer.refresh_token,
      refreshTtlSeconds: 86_400,
      userId: answer.user.id,
    };
  },
  // Throws when the provider fails: the gateway bounds the wait and logs it, whatever the method does.
  async revoke(_name, component, tokens, deps) {
    await deps.http({
      method: 'POST',
      url: component.revokeUrl,
      body: { access_token: tokens.accessToken, refresh_token: tokens.refreshToken },
      // Longer than the component's timeout: the gateway stops waiting first.
      timeoutMs: 30_000,
    });
  },
};

registerAuthMethod(revokingLogin);
