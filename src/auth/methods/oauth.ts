// An `oauth` component: sign-in at an OAuth 2.0 / OpenID Connect provider by a link (code flow, PKCE S256).
import * as client from 'openid-client';
import { z } from 'zod';
import { CredentialFieldSchema, NonEmpty, PositiveSeconds, withHint } from '../../core/primitives.js';
import { namespacedUserId } from '../accounts.js';
import { ComponentKeys, type AuthMethod, type IssuedTokens } from '../method.js';
import { providerConfiguration, providerFailure } from '../oauth/provider-client.js';

/** Checked by check-config (`check`): a URL the gateway calls must also be in allowHosts. */
const ProviderUrl = NonEmpty;

function isHttpUrl(value: string): boolean {
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

const OAuthComponentSchema = z
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
    linkText: NonEmpty.default('Tap to sign in securely: {{link}}'),
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

/** The token endpoint's answer as the token cache keeps it. */
function issued(component: OAuthComponent, tokens: client.TokenEndpointResponse): IssuedTokens {
  const result: IssuedTokens = {
    accessToken: tokens.access_token,
    ttlSeconds:
      typeof tokens.expires_in === 'number' && tokens.expires_in > 0 ? tokens.expires_in : component.ttl,
  };
  if (tokens.refresh_token !== undefined) {
    result.refreshToken = tokens.refresh_token;
    // Keycloak says how long its refresh tokens live; 0 there means an offline token without an end.
    const lifetime = tokens.refresh_expires_in;
    result.refreshTtlSeconds = typeof lifetime === 'number' && lifetime > 0 ? lifetime : component.refreshTtl;
  }
  return result;
}

function claimOf(claims: Record<string, unknown> | undefined, claim: string): string | undefined {
  const value = claims?.[claim];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * The user is named by the provider's claim, in the component's namespace like a typed id
 * (`<namespace>:<sub>`, the namespace being the component's name unless `userNamespace` says otherwise):
 * a provider's `sub` is its own id, not the workspace's. `userNamespace: false` takes the claim as the
 * workspace's own user id, for providers whose ids are the operator's.
 */
export const oauth: AuthMethod<OAuthComponent> = {
  type: 'oauth',
  schema: OAuthComponentSchema,
  signIn: 'link',

  async begin(_name, component, { redirectUri }, deps) {
    const configuration = await providerConfiguration(component, deps);
    const codeVerifier = client.randomPKCECodeVerifier();
    const secrets = { state: client.randomState(), nonce: client.randomNonce(), codeVerifier };
    const parameters: Record<string, string> = {
      ...component.authorizationParams,
      redirect_uri: redirectUri,
      scope: component.scopes.join(' '),
      state: secrets.state,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    };
    // The nonce is OpenID Connect's: it binds the ID token to this sign-in.
    if (component.scopes.includes('openid')) parameters.nonce = secrets.nonce;
    const url = client.buildAuthorizationUrl(configuration, parameters);
    return { url: url.href, secrets };
  },

  async complete(name, component, { callbackUrl, secrets }, deps) {
    const openid = component.scopes.includes('openid');
    let configuration: client.Configuration;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      configuration = await providerConfiguration(component, deps);
      tokens = await client.authorizationCodeGrant(configuration, new URL(callbackUrl), {
        expectedState: secrets.state,
        pkceCodeVerifier: secrets.codeVerifier,
        ...(openid ? { expectedNonce: secrets.nonce, idTokenExpected: true } : {}),
      });
    } catch (error) {
      return providerFailure(error, 'token endpoint');
    }
    const idClaims = tokens.claims() as Record<string, unknown> | undefined;
    let claims = idClaims;
    if (component.userId.from === 'userinfo') {
      try {
        const subject = claimOf(idClaims, 'sub');
        claims = (await client.fetchUserInfo(
          configuration,
          tokens.access_token,
          subject ?? client.skipSubjectCheck,
        )) as Record<string, unknown>;
      } catch (error) {
        const failure = providerFailure(error, 'userinfo endpoint');
        return { result: 'unavailable', reason: failure.reason };
      }
    }
    const providerId = claimOf(claims, component.userId.claim);
    if (providerId === undefined) {
      return {
        result: 'unavailable',
        reason: `the provider's ${component.userId.from === 'userinfo' ? 'userinfo' : 'ID token'} has no "${component.userId.claim}" claim`,
      };
    }
    return {
      result: 'success',
      userId: namespacedUserId(name, component, providerId, 'typed'),
      ...issued(component, tokens),
    };
  },

  /**
   * The new tokens. `refreshToken` is there only when the provider rotated it: without one, the refresh
   * token the caller holds stays the one to use (with its expiry).
   */
  async refresh(_name, component, refreshToken, deps) {
    try {
      const configuration = await providerConfiguration(component, deps);
      const tokens = await client.refreshTokenGrant(configuration, refreshToken);
      return { result: 'success', ...issued(component, tokens) };
    } catch (error) {
      return providerFailure(error, 'token endpoint');
    }
  },

  async revoke(_name, component, tokens, deps) {
    let configuration: client.Configuration;
    try {
      configuration = await providerConfiguration(component, deps);
    } catch {
      return; // Revoking is a courtesy to the provider: the cached tokens are forgotten either way.
    }
    if (configuration.serverMetadata().revocation_endpoint === undefined) return;
    // The refresh token first: most providers end the whole grant with it, access tokens included.
    const revocable: [string | undefined, string][] = [
      [tokens.refreshToken, 'refresh_token'],
      [tokens.accessToken, 'access_token'],
    ];
    for (const [token, hint] of revocable) {
      if (token === undefined) continue;
      try {
        await client.tokenRevocation(configuration, token, { token_type_hint: hint });
      } catch {
        // Never throws (the contract): a provider that is away keeps a token that expires on its own.
      }
    }
  },

  linkSettings: (component) => ({
    linkText: component.linkText,
    linkTtlSeconds: component.linkTtl,
    binding: component.binding,
    voiceHoldSeconds: component.voice.holdLimit,
    voiceFallbackFlow: component.voice.fallbackFlow,
    refreshTtlSeconds: component.refreshTtl,
  }),

  check(component, path, checks) {
    const explicit = component.authorizationEndpoint !== undefined || component.tokenEndpoint !== undefined;
    // The gateway calls these; the authorization endpoint is the browser's, so it needs no allowHosts entry.
    if (!explicit) checks.url(component.issuer, [...path, 'issuer']);
    // The browser's page, and the issuer the ID tokens name: URLs, but no host the gateway calls.
    const named = explicit ? ['authorizationEndpoint', 'issuer'] : [];
    for (const key of named) {
      const value = component[key];
      if (typeof value !== 'string' || isHttpUrl(value)) continue;
      checks.problem(
        [...path, key],
        'not an http(s) URL',
        'write the full URL, e.g. "https://login.example.com/authorize".',
      );
    }
    for (const key of ['tokenEndpoint', 'userinfoEndpoint', 'revocationEndpoint', 'jwksUri'])
      checks.url(component[key], [...path, key]);
    checks.text(component.linkText, [...path, 'linkText']);
    if (typeof component.linkText === 'string' && !/\{\{-?\s*link\b/.test(component.linkText)) {
      checks.problem(
        [...path, 'linkText'],
        'the link text does not show the link',
        'write {{link}} where the link goes, e.g. "Sign in here: {{link}}".',
      );
    }
    const voice = component.voice;
    if (voice !== null && typeof voice === 'object' && 'fallbackFlow' in voice)
      checks.flow(voice.fallbackFlow, [...path, 'voice', 'fallbackFlow']);
  },

  namesUsersByAnswer: () => false,
  // No typed account: failures are not counted against one (the provider has its own lockout).
  accountField: () => '',
  authenticate: () =>
    Promise.resolve({ result: 'unavailable', reason: 'an oauth component signs in by link, not by fields' }),
};
