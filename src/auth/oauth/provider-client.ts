// The oauth method's side of openid-client: the provider's metadata (discovered once per component), a
// Configuration per call over the workspace's outbound client, and the library's errors as outcomes.
import * as client from 'openid-client';
import { RemoteApiError } from '../../core/errors.js';
import { OutboundError } from '../../net/errors.js';
import type { AuthDeps, HttpCall } from '../method.js';

/** What the provider client needs of an oauth component (its schema's output has all of it). */
export interface ProviderSettings {
  issuer?: string | undefined;
  authorizationEndpoint?: string | undefined;
  tokenEndpoint?: string | undefined;
  userinfoEndpoint?: string | undefined;
  revocationEndpoint?: string | undefined;
  jwksUri?: string | undefined;
  clientId: string;
  clientSecret?: string | undefined;
  clientAuthentication: 'basic' | 'post';
  timeout: number;
}

/** Discovery failed or answered what openid-client will not use: the provider cannot be reached as configured. */
export class OAuthDiscoveryError extends RemoteApiError {
  override readonly name = 'OAuthDiscoveryError';
  readonly retryable = true;
  constructor(host: string, reason: string, options?: { cause?: unknown }) {
    super(host, reason, `OpenID discovery at ${host} failed: ${reason}`, options);
  }
}

/**
 * The provider's metadata, per component object: the configuration is parsed once, so a component is
 * discovered once per process and every later turn reuses the answer. A failed discovery is forgotten,
 * so the next turn tries again.
 */
const discovered = new WeakMap<ProviderSettings, Promise<client.ServerMetadata>>();

/**
 * openid-client refuses plain http unless told; it is allowed only for a provider configured with an
 * http:// URL, which is the loopback provider of the tests and the demo. Production providers are https.
 */
function plainHttp(settings: ProviderSettings): boolean {
  return [settings.issuer, settings.tokenEndpoint, settings.userinfoEndpoint, settings.revocationEndpoint]
    .filter((url): url is string => url !== undefined)
    .some((url) => url.startsWith('http:'));
}

/**
 * A fetch for openid-client over the workspace's outbound client, so that every provider call is held to
 * allowHosts and the address checks like any other call of the workspace. The call's own timeout
 * applies (the outbound client ends the exchange); openid-client's abort signal is left unused.
 */
export function fetchThrough(http: HttpCall, timeoutMs: number): client.CustomFetch {
  return async (url, options) => {
    const answer = await http({
      method: options.method,
      url,
      headers: { ...options.headers },
      body: requestBody(options.body),
      timeoutMs,
    });
    const bodyless = answer.status === 204 || answer.status === 205 || answer.status === 304;
    return new Response(bodyless ? null : answer.text, { status: answer.status, headers: answer.headers });
  };
}

function requestBody(body: client.CustomFetchOptions['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  // openid-client sends forms and JSON text only; a stream or a Blob would be a change of the library's.
  throw new TypeError('openid-client sent a request body of an unexpected kind');
}

function clientAuth(settings: ProviderSettings): client.ClientAuth {
  if (settings.clientSecret === undefined) return client.None();
  return settings.clientAuthentication === 'post'
    ? client.ClientSecretPost(settings.clientSecret)
    : client.ClientSecretBasic(settings.clientSecret);
}

function clientMetadata(settings: ProviderSettings): Partial<client.ClientMetadata> {
  if (settings.clientSecret === undefined) return { token_endpoint_auth_method: 'none' };
  return {
    client_secret: settings.clientSecret,
    token_endpoint_auth_method:
      settings.clientAuthentication === 'post' ? 'client_secret_post' : 'client_secret_basic',
  };
}

/** The metadata a component with explicit endpoints states; the issuer only names the ID tokens' `iss`. */
function statedMetadata(settings: ProviderSettings): client.ServerMetadata {
  const authorization = settings.authorizationEndpoint!;
  return {
    // Without an ID token nothing checks the issuer; the schema asks for one when `openid` is a scope.
    issuer: settings.issuer ?? new URL(authorization).origin,
    authorization_endpoint: authorization,
    token_endpoint: settings.tokenEndpoint!,
    code_challenge_methods_supported: ['S256'],
    ...(settings.userinfoEndpoint !== undefined ? { userinfo_endpoint: settings.userinfoEndpoint } : {}),
    ...(settings.revocationEndpoint !== undefined
      ? { revocation_endpoint: settings.revocationEndpoint }
      : {}),
    ...(settings.jwksUri !== undefined ? { jwks_uri: settings.jwksUri } : {}),
  };
}

function serverMetadata(settings: ProviderSettings, deps: AuthDeps): Promise<client.ServerMetadata> {
  if (settings.authorizationEndpoint !== undefined) return Promise.resolve(statedMetadata(settings));
  const known = discovered.get(settings);
  if (known) return known;
  const issuer = new URL(settings.issuer!);
  const discovery = client
    .discovery(issuer, settings.clientId, clientMetadata(settings), clientAuth(settings), {
      [client.customFetch]: fetchThrough(deps.http, settings.timeout * 1000),
      execute: plainHttp(settings) ? [client.allowInsecureRequests] : [],
      timeout: settings.timeout,
    })
    .then(
      (configuration) => ({ ...configuration.serverMetadata() }),
      (error: unknown) => {
        discovered.delete(settings);
        const outbound = outboundCause(error);
        if (outbound) throw outbound;
        throw new OAuthDiscoveryError(issuer.host, libraryReason(error), { cause: error });
      },
    );
  discovered.set(settings, discovery);
  return discovery;
}

/**
 * The Configuration of one call. The metadata is the component's (discovered once); the Configuration
 * around it is built per call because its fetch is the calling workspace's outbound client, and it is
 * cheap (no request). Throws an OutboundError or OAuthDiscoveryError when discovery fails.
 */
export async function providerConfiguration(
  settings: ProviderSettings,
  deps: AuthDeps,
): Promise<client.Configuration> {
  const metadata = await serverMetadata(settings, deps);
  const configuration = new client.Configuration(
    metadata,
    settings.clientId,
    clientMetadata(settings),
    clientAuth(settings),
  );
  configuration[client.customFetch] = fetchThrough(deps.http, settings.timeout * 1000);
  configuration.timeout = settings.timeout;
  if (plainHttp(settings)) client.allowInsecureRequests(configuration);
  return configuration;
}

/** The outbound failure (refused host, timeout, network) somewhere in an error's causes. */
export function outboundCause(error: unknown): OutboundError | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth += 1) {
    if (e instanceof OutboundError) return e;
  }
  return undefined;
}

/** openid-client's own words for a failure: they name parameters and claims, never their values. */
function libraryReason(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown failure';
  if (!(error instanceof client.ClientError) || error.code === undefined) return error.message;
  // openid-client rewords oauth4webapi's failure in general terms; the cause says which check failed.
  const cause: unknown = error.cause;
  const said =
    cause instanceof Error && 'code' in cause && cause.code === error.code ? cause.message : error.message;
  return `${said} (${error.code})`;
}

export type ProviderFailure = { result: 'refused' | 'unavailable'; reason: string };

/** Errors of the server's own making: a retry or another day may go better, the user can do nothing. */
const SERVER_SIDE = new Set(['server_error', 'temporarily_unavailable']);
/** The client is not accepted: a configuration problem, not the user's. */
const CLIENT_REFUSED = new Set(['invalid_client', 'unauthorized_client']);
/** The answer or the callback does not match what this sign-in expects (state, nonce, issuer, claims). */
const MISMATCH = new Set([
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
]);

/**
 * A failed grant as an outcome: `refused` when the user, the grant or the callback is no good (the user
 * must sign in again), `unavailable` when the provider could not be reached or answered with an error
 * of its own. Reasons carry error codes and host names only, never a token, code or description.
 */
export function providerFailure(error: unknown, what: string): ProviderFailure {
  const outbound = outboundCause(error);
  if (outbound) return { result: 'unavailable', reason: outbound.message };
  if (error instanceof OAuthDiscoveryError) return { result: 'unavailable', reason: error.message };
  if (error instanceof client.AuthorizationResponseError) {
    const said = `the provider answered the sign-in with ${error.error}`;
    return { result: SERVER_SIDE.has(error.error) ? 'unavailable' : 'refused', reason: said };
  }
  if (error instanceof client.ResponseBodyError) {
    const said = `the ${what} answered ${error.status} ${error.error}`;
    const unavailable =
      error.status >= 500 || SERVER_SIDE.has(error.error) || CLIENT_REFUSED.has(error.error);
    return { result: unavailable ? 'unavailable' : 'refused', reason: said };
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    return { result: 'unavailable', reason: `the ${what} answered ${error.status} with a challenge` };
  }
  if (error instanceof client.ClientError && error.code !== undefined && MISMATCH.has(error.code)) {
    return { result: 'refused', reason: `the answer does not match this sign-in: ${libraryReason(error)}` };
  }
  return { result: 'unavailable', reason: `the ${what}: ${libraryReason(error)}` };
}
