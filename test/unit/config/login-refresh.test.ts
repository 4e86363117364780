// check-config on a login component's refresh: the keys that need each other, the host, the templates.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/index.js';
import { problemsOf } from './helpers.js';

/** A configuration whose bank-login has `refresh` lines (indented under the component). */
function config(refreshLines: string): { file: string; text: string } {
  return {
    file: 'refresh.yaml',
    text: `server:
  publicUrl: https://gw.example.com
workspaces:
  acme:
    apiKeys: [key-1-0123456789abcdef0123456789abcdef]
    allowHosts: [api.acme.example, auth.acme.example]
bots:
  bank:
    workspace: acme
    auth:
      bank-login:
        type: login
        url: https://auth.acme.example/token
        fields:
          - { name: username, prompt: "Username?" }
          - { name: password, prompt: "Password?", secret: true }
        token: { path: access_token }
${refreshLines}
    flows:
      main:
        - auth: bank-login
        - end: "Signed in."
`,
  };
}

describe('login refresh in check-config', () => {
  it('accepts refresh with refreshTokenPath, and fills in its defaults', () => {
    const parsed = parseConfigText(
      [
        config(`        refreshTokenPath: refresh_token
        refreshExpiresInPath: refresh_expires_in
        refresh:
          url: https://auth.acme.example/refresh
          body: { refresh_token: "{{refresh_token}}" }`),
      ],
      {},
    );
    expect(parsed.bots.bank!.auth['bank-login']).toMatchObject({
      refreshTokenPath: 'refresh_token',
      refresh: { method: 'POST', url: 'https://auth.acme.example/refresh', ttl: 2_592_000 },
    });
  });

  it('refuses refresh without refreshTokenPath, and refreshTokenPath without refresh', () => {
    expect(problemsOf([config(`        refresh: { url: https://auth.acme.example/refresh }`)])).toBe(
      'refresh.yaml:18: bots.bank.auth.bank-login.refresh: refresh needs refreshTokenPath: where the login answer carries the refresh token. Hint: set both refresh (the request that trades the refresh token) and refreshTokenPath, or neither.',
    );
    expect(problemsOf([config(`        refreshTokenPath: refresh_token`)])).toBe(
      'refresh.yaml:18: bots.bank.auth.bank-login.refreshTokenPath: refreshTokenPath needs refresh: a refresh token nobody can use is not kept. Hint: set both refresh (the request that trades the refresh token) and refreshTokenPath, or neither.',
    );
  });

  it('checks the refresh URL against allowHosts and its templates', () => {
    const problems = problemsOf([
      config(`        refreshTokenPath: refresh_token
        refresh:
          url: https://evil.example.net/refresh
          body: { refresh_token: "{{refresh_token" }`),
    ]);
    expect(problems).toBe(
      [
        'refresh.yaml:20: bots.bank.auth.bank-login.refresh.url: host "evil.example.net" is not in the allowHosts of workspace "acme". Hint: add it to workspaces.acme.allowHosts if the bot may call it. Allowed: api.acme.example, auth.acme.example.',
        'refresh.yaml:21: bots.bank.auth.bank-login.refresh.body.refresh_token: not a valid Liquid template: output "{{refresh_token" not closed, line:1, col:1. Hint: variables are written {{ name }} and tags {% if ... %}...{% endif %}.',
      ].join('\n'),
    );
  });

  it('refuses a GET refresh: a refresh token is never put in a query string', () => {
    expect(
      problemsOf([
        config(`        refreshTokenPath: refresh_token
        refresh: { method: GET, url: https://auth.acme.example/refresh }`),
      ]),
    ).toBe('refresh.yaml:19: bots.bank.auth.bank-login.refresh.method: must be one of POST, got "GET".');
  });
});
