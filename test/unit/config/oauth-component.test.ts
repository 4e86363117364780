// An oauth component in the configuration: its keys and defaults, and what check-config says of one written wrong.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/index.js';
import { problemsOf } from './helpers.js';

/** A whole configuration whose bot has one auth component, written under `bank-sso:` (line 10 on). */
function configWith(component: string, flows = ''): { file: string; text: string }[] {
  const text = `server: { publicUrl: "https://gw.example.com" }
workspaces:
  acme: { apiKeys: [key-1-0123456789abcdef0123456789abcdef], allowHosts: [login.example.com] }
bots:
  club:
    workspace: acme
    auth:
      bank-sso:
        type: oauth
${component.replace(/^/gm, '        ')}
    flows:
      main:
        - auth: bank-sso
${flows}`;
  return [{ file: 'club.yaml', text }];
}

const DISCOVERY = `issuer: https://login.example.com
clientId: switchboard
clientSecret: \${SSO_SECRET}`;

describe('an oauth component', () => {
  it('parses with its defaults: the openid scope, the sub of the ID token, a 10-minute link, binding on', () => {
    const config = parseConfigText(configWith(DISCOVERY), { SSO_SECRET: 'from-the-environment' });
    expect(config.bots.club!.auth['bank-sso']).toEqual({
      type: 'oauth',
      issuer: 'https://login.example.com',
      clientId: 'switchboard',
      clientSecret: 'from-the-environment',
      clientAuthentication: 'basic',
      scopes: ['openid'],
      authorizationParams: {},
      userId: { claim: 'sub', from: 'id_token' },
      linkTtl: 600,
      binding: true,
      refreshTtl: 30 * 24 * 3600,
      voice: { holdLimit: 180 },
      fields: [],
      ttl: 3600,
      maxAttempts: 3,
      lockout: 900,
      timeout: 10,
    });
  });

  it('takes explicit endpoints instead of discovery, the issuer naming the ID tokens', () => {
    const explicit = `issuer: https://login.example.com
authorizationEndpoint: https://login.example.com/oauth2/authorize
tokenEndpoint: https://login.example.com/oauth2/token
revocationEndpoint: https://login.example.com/oauth2/revoke
clientId: switchboard`;
    const component = parseConfigText(configWith(explicit), {}).bots.club!.auth['bank-sso'];
    expect(component).toMatchObject({
      authorizationEndpoint: 'https://login.example.com/oauth2/authorize',
      tokenEndpoint: 'https://login.example.com/oauth2/token',
    });
  });

  it('needs its provider: an issuer, or both endpoints', () => {
    expect(problemsOf(configWith('clientId: switchboard'))).toBe(
      'club.yaml:8: bots.club.auth.bank-sso.issuer: an oauth component needs its provider. Hint: write issuer (the provider is discovered), or authorizationEndpoint and tokenEndpoint.',
    );
  });

  it('the issuer and a token endpoint without its authorization endpoint: one way or the other, not half of both', () => {
    expect(
      problemsOf(configWith(`${DISCOVERY}\ntokenEndpoint: https://login.example.com/token`), {
        SSO_SECRET: 's',
      }),
    ).toBe(
      'club.yaml:8: bots.club.auth.bank-sso.authorizationEndpoint: authorizationEndpoint is missing: explicit endpoints need both authorizationEndpoint and tokenEndpoint. Hint: write authorizationEndpoint too, or remove tokenEndpoint to discover the provider from issuer (one way, not both).',
    );
  });

  it('an endpoint that discovery finds is not written beside the issuer alone', () => {
    expect(
      problemsOf(configWith(`${DISCOVERY}\nrevocationEndpoint: https://login.example.com/revoke`), {
        SSO_SECRET: 's',
      }),
    ).toBe(
      'club.yaml:13: bots.club.auth.bank-sso.revocationEndpoint: revocationEndpoint is discovered from issuer. Hint: remove revocationEndpoint, or write authorizationEndpoint and tokenEndpoint to give every endpoint explicitly (one way, not both).',
    );
  });

  it('explicit endpoints with the openid scope need the issuer the ID tokens name', () => {
    const endpoints = `authorizationEndpoint: https://login.example.com/authorize
tokenEndpoint: https://login.example.com/token
clientId: switchboard`;
    expect(problemsOf(configWith(endpoints))).toBe(
      'club.yaml:8: bots.club.auth.bank-sso.issuer: the ID token is checked against the issuer, and none is given. Hint: write issuer (the "iss" of the provider\'s ID tokens), or remove "openid" from scopes.',
    );
  });

  it("the authorization endpoint is the browser's: a URL, though not one in allowHosts", () => {
    const endpoints = `issuer: https://login.example.com
authorizationEndpoint: sso.elsewhere.example/authorize
tokenEndpoint: https://login.example.com/token
clientId: switchboard`;
    expect(problemsOf(configWith(endpoints))).toBe(
      'club.yaml:11: bots.club.auth.bank-sso.authorizationEndpoint: not an http(s) URL. Hint: write the full URL, e.g. "https://login.example.com/authorize".',
    );
    const elsewhere = endpoints.replace('sso.elsewhere.example', 'https://sso.elsewhere.example');
    expect(parseConfigText(configWith(elsewhere), {}).bots.club!.auth['bank-sso']).toMatchObject({
      authorizationEndpoint: 'https://sso.elsewhere.example/authorize',
    });
  });

  it('a user id from the ID token needs the openid scope', () => {
    expect(problemsOf(configWith(`${DISCOVERY}\nscopes: [profile]`), { SSO_SECRET: 's' })).toBe(
      'club.yaml:8: bots.club.auth.bank-sso.userId.from: the user id comes from the ID token, and without the "openid" scope there is none. Hint: add "openid" to scopes, or write "from: userinfo".',
    );
  });

  it('authorizationParams may not set what Switchboard sets on every sign-in', () => {
    expect(
      problemsOf(configWith(`${DISCOVERY}\nauthorizationParams: { prompt: consent, state: fixed }`), {
        SSO_SECRET: 's',
      }),
    ).toBe(
      'club.yaml:13: bots.club.auth.bank-sso.authorizationParams.state: "state" is set by Switchboard on every sign-in. Hint: remove "state".',
    );
  });

  it('asks for no fields', () => {
    const fields = `${DISCOVERY}\nfields:\n  - { name: username, prompt: "Your username?" }`;
    expect(problemsOf(configWith(fields), { SSO_SECRET: 's' })).toBe(
      'club.yaml:13: bots.club.auth.bank-sso.fields: an oauth component asks for no fields. Hint: remove fields: the user signs in at the provider.',
    );
  });

  it('a voice fallback flow that does not exist is a check-config problem', () => {
    const voice = `${DISCOVERY}\nvoice: { holdLimit: 120, fallbackFlow: pin-login }`;
    expect(problemsOf(configWith(voice, '      pin:\n        - say: "PIN"\n'), { SSO_SECRET: 's' })).toBe(
      'club.yaml:13: bots.club.auth.bank-sso.voice.fallbackFlow: flow "pin-login" does not exist. Hint: Flows: main, pin.',
    );
  });

  it('check-config holds the URLs the gateway calls to allowHosts, and the link text to a template that shows the link', () => {
    const other = `issuer: https://sso.elsewhere.example
clientId: switchboard
linkText: "Sign in at the bank"`;
    expect(problemsOf(configWith(other))).toBe(
      [
        'club.yaml:10: bots.club.auth.bank-sso.issuer: host "sso.elsewhere.example" is not in the allowHosts of workspace "acme". Hint: add it to workspaces.acme.allowHosts if the bot may call it. Allowed: login.example.com.',
        'club.yaml:12: bots.club.auth.bank-sso.linkText: the link text does not show the link. Hint: write {{link}} where the link goes, e.g. "Sign in here: {{link}}".',
      ].join('\n'),
    );
  });

  it('one component name in two bots of a workspace for two providers is refused: their users and tokens would be shared', () => {
    const bot = (name: string, issuer: string) => `  ${name}:
    workspace: acme
    auth:
      bank-sso: { type: oauth, issuer: "${issuer}", clientId: switchboard }
    flows:
      main:
        - auth: bank-sso
`;
    const text = `server: { publicUrl: "https://gw.example.com" }
workspaces:
  acme: { apiKeys: [key-1-0123456789abcdef0123456789abcdef], allowHosts: [login.example.com, sso.other.example] }
bots:
${bot('bank', 'https://login.example.com')}${bot('shop', 'https://sso.other.example')}`;
    expect(problemsOf([{ file: 'two.yaml', text }])).toBe(
      'two.yaml:15: bots.shop.auth.bank-sso: auth component "bank-sso" is also defined by bots.bank in the same workspace, for another service (type, url, method, userIdPath, userId, or an oauth issuer, tokenEndpoint or clientId differ); users and cached tokens belong to the workspace and the component name, so the two would share them. Hint: give one of them another name, or define both the same way if they are the same service.',
    );
  });
});
