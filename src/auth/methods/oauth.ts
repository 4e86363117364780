// An `oauth` component: sign-in at an OAuth 2.0 / OpenID Connect provider by a link (code flow, PKCE S256).
import * as client from 'openid-client';
import { namespacedUserId } from '../accounts.js';
import type { AuthMethod, IssuedTokens } from '../method.js';
import { isHttpUrl, OAuthComponentSchema, type OAuthComponent } from '../oauth/component.js';
import { providerConfiguration, providerFailure } from '../oauth/provider-client.js';

export type { OAuthComponent } from '../oauth/component.js';

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

  async complete(name, component, { callbackUrl, redirectUri, secrets }, deps) {
    const openid = component.scopes.includes('openid');
    // openid-client sends the callback's URL without its query as the token request's redirect_uri; it
    // must be the one the sign-in began with, whatever URL a proxy in front of the gateway handed on.
    let callback: URL;
    try {
      callback = new URL(redirectUri);
      callback.search = new URL(callbackUrl).search;
    } catch {
      return { result: 'refused', reason: 'the callback URL is not valid' };
    }
    let configuration: client.Configuration;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      configuration = await providerConfiguration(component, deps);
      tokens = await client.authorizationCodeGrant(configuration, callback, {
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
