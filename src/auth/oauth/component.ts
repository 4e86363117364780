// The oauth component's keys and the rules between them (one way to the provider, the openid scope for ID-token ids).
import { z } from 'zod';
import { CredentialFieldSchema, NonEmpty, PositiveSeconds, withHint } from '../../core/primitives.js';
import { ComponentKeys } from '../method.js';

/** Checked by check-config (`check`): a URL the gateway calls must also be in allowHosts. */
const ProviderUrl = NonEmpty;

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Parameters the method sets itself: an operator's value would weaken or break the sign-in. */
const OWN_PARAMETERS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
];

const THIRTY_DAYS = 30 * 24 * 3600;

export const OAuthComponentSchema = z
  .strictObject({
    type: z.literal('oauth'),
    /** Discovery (`<issuer>/.well-known/openid-configuration`); with explicit endpoints, the ID tokens' `iss`. */
    issuer: ProviderUrl.optional(),
    authorizationEndpoint: ProviderUrl.optional(),
    tokenEndpoint: ProviderUrl.optional(),
    userinfoEndpoint: ProviderUrl.optional(),
    revocationEndpoint: ProviderUrl.optional(),
    jwksUri: ProviderUrl.optional(),
    clientId: NonEmpty,
    /** Absent: a public client (PKCE only, `token_endpoint_auth_method: none`). */
    clientSecret: NonEmpty.optional(),
    /** How the secret is sent to the token endpoint: HTTP Basic (every provider must take it) or in the form. */
    clientAuthentication: z.enum(['basic', 'post']).default('basic'),
    scopes: z.array(NonEmpty).min(1).default(['openid']),
    authorizationParams: z.record(z.string(), z.string()).default({}),
    userId: z
      .strictObject({
        claim: NonEmpty.default('sub'),
        from: z.enum(['id_token', 'userinfo']).default('id_token'),
      })
      .default({ claim: 'sub', from: 'id_token' }),
    /** Who the user signs in to, as the link's page says it ("Sign in to Demo Bank"); default the bot's id. */
    displayName: NonEmpty.optional(),
    /** Default: the bot's text `signInLink`. */
    linkText: NonEmpty.optional(),
    linkTtl: PositiveSeconds.default(600),
    binding: z.boolean().default(true),
    refreshTtl: PositiveSeconds.default(THIRTY_DAYS),
    voice: z
      .strictObject({ holdLimit: PositiveSeconds.default(180), fallbackFlow: NonEmpty.optional() })
      .default({ holdLimit: 180 }),
    /** The user types nothing: the key exists so that every component has its (empty) list of fields. */
    fields: z
      .array(CredentialFieldSchema)
      .superRefine((fields, ctx) => {
        if (fields.length === 0) return;
        ctx.addIssue({
          code: 'custom',
          message: withHint(
            'an oauth component asks for no fields',
            'remove fields: the user signs in at the provider.',
          ),
        });
      })
      .default([]),
    ...ComponentKeys,
  })
  .superRefine((component, ctx) => {
    const issue = (path: string, message: string, hint: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message: withHint(message, hint) });
    const explicit = component.authorizationEndpoint !== undefined || component.tokenEndpoint !== undefined;
    if (!explicit && component.issuer === undefined) {
      issue(
        'issuer',
        'an oauth component needs its provider',
        'write issuer (the provider is discovered), or authorizationEndpoint and tokenEndpoint.',
      );
    }
    if (
      explicit &&
      (component.authorizationEndpoint === undefined || component.tokenEndpoint === undefined)
    ) {
      const missing =
        component.authorizationEndpoint === undefined ? 'authorizationEndpoint' : 'tokenEndpoint';
      issue(
        missing,
        `${missing} is missing: explicit endpoints need both authorizationEndpoint and tokenEndpoint`,
        component.issuer !== undefined
          ? `write ${missing} too, or remove ${missing === 'tokenEndpoint' ? 'authorizationEndpoint' : 'tokenEndpoint'} to discover the provider from issuer (one way, not both).`
          : `write ${missing} too.`,
      );
    }
    if (!explicit) {
      for (const key of ['userinfoEndpoint', 'revocationEndpoint', 'jwksUri'] as const) {
        if (component[key] === undefined) continue;
        issue(
          key,
          `${key} is discovered from issuer`,
          `remove ${key}, or write authorizationEndpoint and tokenEndpoint to give every endpoint explicitly (one way, not both).`,
        );
      }
    }
    const openid = component.scopes.includes('openid');
    if (explicit && openid && component.issuer === undefined) {
      issue(
        'issuer',
        'the ID token is checked against the issuer, and none is given',
        'write issuer (the "iss" of the provider\'s ID tokens), or remove "openid" from scopes.',
      );
    }
    if (component.userId.from === 'id_token' && !openid) {
      ctx.addIssue({
        code: 'custom',
        path: ['userId', 'from'],
        message: withHint(
          'the user id comes from the ID token, and without the "openid" scope there is none',
          'add "openid" to scopes, or write "from: userinfo".',
        ),
      });
    }
    if (component.userId.from === 'userinfo' && explicit && component.userinfoEndpoint === undefined) {
      issue(
        'userinfoEndpoint',
        'the user id comes from userinfo, and no userinfoEndpoint is given',
        'write userinfoEndpoint, or take the user id from the ID token ("from: id_token").',
      );
    }
    for (const name of Object.keys(component.authorizationParams)) {
      if (!OWN_PARAMETERS.includes(name)) continue;
      ctx.addIssue({
        code: 'custom',
        path: ['authorizationParams', name],
        message: withHint(
          `"${name}" is set by Switchboard on every sign-in`,
          name === 'scope' ? 'list the scopes under scopes.' : `remove "${name}".`,
        ),
      });
    }
  });
export type OAuthComponent = z.output<typeof OAuthComponentSchema>;
