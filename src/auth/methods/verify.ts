// A `verify` component: an endpoint that takes a member number and a code and says yes or no.
import { z } from 'zod';
import { readAnswerPath } from '../../core/answer-path.js';
import { CredentialFieldSchema, NonEmpty, withHint } from '../../core/primitives.js';
import { namespacedUserId } from '../accounts.js';
import { ComponentKeys, type AuthMethod } from '../method.js';
import { callService, unavailable } from '../service-call.js';

const VerifyComponentSchema = z.strictObject({
  type: z.literal('verify'),
  url: NonEmpty,
  fields: z.array(CredentialFieldSchema).superRefine((fields, ctx) => {
    if (fields.length < 2) {
      ctx.addIssue({
        code: 'custom',
        message: withHint(
          `a verify component needs 2 fields, found ${fields.length}`,
          'list the member number (sent as auth_id) then the code (sent as auth_code).',
        ),
      });
    }
  }),
  ...ComponentKeys,
});
export type VerifyComponent = z.output<typeof VerifyComponentSchema>;

/** The member number is the first field (sent as `auth_id`), the code the second (`auth_code`). */
export const verify: AuthMethod<VerifyComponent> = {
  type: 'verify',
  schema: VerifyComponentSchema,
  check(component, path, checks) {
    checks.url(component.url, [...path, 'url']);
  },
  async authenticate(name, component, values, deps) {
    const [idField, codeField] = component.fields;
    const authId = values[idField!.name] ?? '';
    const authCode = values[codeField!.name] ?? '';
    const response = await callService(deps.http, {
      method: 'POST',
      url: component.url,
      body: { auth_id: authId, auth_code: authCode },
      timeoutMs: component.timeout * 1000,
    });
    if (!('status' in response)) return response;
    if (response.status === 400) return { result: 'wrong_credentials' };
    if (response.status !== 200) return unavailable(`verification endpoint answered ${response.status}`);
    const status = readAnswerPath(response.json, 'status');
    if (status !== true) return { result: 'wrong_credentials' };
    return {
      result: 'success',
      token: authCode,
      ttlSeconds: component.ttl,
      userId: namespacedUserId(name, component, authId, 'typed'),
      extra: { auth_id: authId, auth_code: authCode },
    };
  },
};
