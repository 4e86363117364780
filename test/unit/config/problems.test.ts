// Broken configurations: each is rejected with the exact line check-config prints.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../../src/config/index.js';
import { fixture, problemsOf } from './helpers.js';

const cases: [fixture: string, expected: string, env?: Record<string, string>][] = [
  [
    'broken/unknown-step.yaml',
    'broken/unknown-step.yaml:13: bots.bank.flows.main[1].sya: unknown step "sya". Hint: did you mean "say"? Steps: say, ask, choose, auth, request, switch, set, profile, link, goto, end, handoff.',
  ],
  [
    'broken/unknown-key.yaml',
    'broken/unknown-key.yaml:13: bots.bank.flows.main[0].ask.promt: unknown key "promt". Hint: did you mean "prompt"? Valid keys: prompt, save, keypad, digits, pattern, secret, retries, retry, invalid, timeout.',
  ],
  [
    'broken/unknown-top-level.yaml',
    'broken/unknown-top-level.yaml:1: servr: unknown key "servr". Hint: did you mean "server"? Valid keys: server, twilio, pacing, workspaces, bots.',
  ],
  [
    'broken/bad-regex.yaml',
    'broken/bad-regex.yaml:11: bots.bank.flows.main[0].ask.pattern: not a valid regular expression: Invalid regular expression: /^[12$/: Unterminated character class. Hint: write a JavaScript regular expression without surrounding slashes, e.g. "^[0-9]{4}$".',
  ],
  [
    'broken/goto-missing-flow.yaml',
    'broken/goto-missing-flow.yaml:12: bots.bank.flows.main[1].goto: flow "balanse" does not exist. Hint: did you mean "balance"? Flows: main, balance.',
  ],
  [
    'broken/switch-missing-flow.yaml',
    [
      'broken/switch-missing-flow.yaml:16: bots.bank.flows.main[1].switch.cases.2: flow "last-paymnet" does not exist. Hint: did you mean "last-payment"? Flows: main, balance, last-payment.',
      'broken/switch-missing-flow.yaml:17: bots.bank.flows.main[1].switch.default: flow "help" does not exist. Hint: Flows: main, balance, last-payment.',
    ].join('\n'),
  ],
  [
    'broken/onerror-missing-flow.yaml',
    'broken/onerror-missing-flow.yaml:14: bots.bank.flows.main[0].request.onError: flow "sorry" does not exist. Hint: Flows: main, apology.',
  ],
  [
    'broken/missing-main.yaml',
    'broken/missing-main.yaml:9: bots.bank.flows: there is no "main" flow; every conversation starts there. Hint: did you mean "mian"? Flows: mian.',
  ],
  [
    'broken/auth-missing-component.yaml',
    'broken/auth-missing-component.yaml:18: bots.bank.flows.main[0].auth: auth component "bank-logon" does not exist. Hint: did you mean "bank-login"? Auth components: bank-login.',
  ],
  [
    'broken/template-in-host.yaml',
    'broken/template-in-host.yaml:13: bots.bank.flows.main[0].request.url: the scheme and host of a URL must be literal. Hint: put variables in the path or query.',
  ],
  [
    'broken/template-in-scheme.yaml',
    'broken/template-in-scheme.yaml:12: bots.bank.flows.main[0].request.url: the scheme and host of a URL must be literal. Hint: put variables in the path or query.',
  ],
  [
    'broken/host-not-allowed.yaml',
    'broken/host-not-allowed.yaml:13: bots.bank.flows.main[0].request.url: host "evil.example.net" is not in the allowHosts of workspace "acme". Hint: add it to workspaces.acme.allowHosts if the bot may call it. Allowed: api.acme.example, *.auth.acme.example.',
  ],
  [
    'broken/missing-env.yaml',
    'broken/missing-env.yaml:5: workspaces.acme.apiKeys[0]: environment variable ACME_API_KEY is not set. Hint: set ACME_API_KEY in the environment, or write $${ACME_API_KEY} for a literal "${ACME_API_KEY}".',
  ],
  [
    'broken/duplicate-numbers.yaml',
    'broken/duplicate-numbers.yaml:18: bots.shop.numbers.sms[1]: +15005550006 is on sms for both bot "bank" and bot "shop". Hint: a number reaches one bot per channel; remove it from one of them.',
  ],
  [
    'broken/missing-workspace.yaml',
    'broken/missing-workspace.yaml:8: bots.bank.workspace: workspace "acmee" does not exist. Hint: did you mean "acme"? Workspaces: acme.',
  ],
  [
    'broken/bad-public-url.yaml',
    'broken/bad-public-url.yaml:2: server.publicUrl: "gateway.example.com" is not an absolute URL. Hint: write a full URL such as "https://gateway.example.com".',
  ],
  [
    'broken/digits-without-keypad.yaml',
    'broken/digits-without-keypad.yaml:14: bots.bank.flows.main[0].ask.digits: "digits" only applies to keypad input. Hint: add "keypad: true", or use "pattern" to check the length of a typed answer.',
  ],
  [
    'broken/retry-on-post.yaml',
    'broken/retry-on-post.yaml:15: bots.bank.flows.main[0].request.retry: a POST request is not retried: it may not be safe to repeat. Hint: remove "retry", or use onError to offer another path.',
  ],
  [
    'broken/reserved-save-name.yaml',
    'broken/reserved-save-name.yaml:11: bots.bank.flows.main[0].ask.save: "input" is a reserved variable name. Hint: pick another name; reserved: input, authtoken, user, channel, from, bot.',
  ],
  [
    'broken/invalid-variable-name.yaml',
    'broken/invalid-variable-name.yaml:15: bots.bank.flows.main[0].request.save.2fa-code: "2fa-code" is not a valid variable name. Hint: use letters, digits and "_", starting with a letter or "_".',
  ],
  [
    'broken/invalid-liquid.yaml',
    'broken/invalid-liquid.yaml:11: bots.bank.flows.main[0].say: not a valid Liquid template: output "{{ name" not closed, line:1, col:7. Hint: variables are written {{ name }} and tags {% if ... %}...{% endif %}.',
  ],
  [
    'broken/verify-one-field.yaml',
    'broken/verify-one-field.yaml:14: bots.bank.auth.member-pin.fields: a verify component needs 2 fields, found 1. Hint: list the member number (sent as auth_id) then the code (sent as auth_code).',
  ],
  [
    'broken/wrong-type.yaml',
    [
      'broken/wrong-type.yaml:3: server.port: expected a number, got "8080". Hint: remove the quotes around the number.',
      'broken/wrong-type.yaml:10: bots.bank.sessionTimeout: expected a number, got "half an hour".',
    ].join('\n'),
  ],
  [
    'broken/user-namespace-with-user-id-path.yaml',
    'broken/user-namespace-with-user-id-path.yaml:17: bots.bank.auth.bank-login.userNamespace: userNamespace does not apply with userIdPath: the service names the user, and that id is used as is. Hint: remove userNamespace, or remove userIdPath to name users by what they type.',
  ],
  [
    'broken/bad-user-namespace.yaml',
    'broken/bad-user-namespace.yaml:17: bots.bank.auth.member-pin.userNamespace: not a valid user namespace. Hint: use letters, digits, "-", "_" and ".", starting with a letter or digit, or false for the workspace\'s own user ids.',
  ],
  [
    'broken/user-namespace-of-user-id-path.yaml',
    'broken/user-namespace-of-user-id-path.yaml:23: bots.bank.auth.member-pin.userNamespace: auth component "bank-login" names its users itself (userIdPath or userId), so no user is in namespace "bank-login". Hint: to share its users, write "userNamespace: false" if what users type here is the id "bank-login" answers; else pick another namespace.',
  ],
  [
    'broken/component-name-two-services.yaml',
    'broken/component-name-two-services.yaml:23: bots.shop.auth.member-pin: auth component "member-pin" is also defined by bots.bank in the same workspace, for another service (type, url, method, userIdPath, userId, or an oauth issuer, tokenEndpoint or clientId differ); users and cached tokens belong to the workspace and the component name, so the two would share them. Hint: give one of them another name, or define both the same way if they are the same service.',
  ],
  [
    'broken/account-field-secret.yaml',
    'broken/account-field-secret.yaml:17: bots.bank.auth.bank-login.account.field: field "password" is secret and cannot name the account. Hint: name the field the user types their account id in: "username".',
  ],
  [
    'broken/negative-ttl.yaml',
    'broken/negative-ttl.yaml:16: bots.bank.auth.bank-login.ttl: must be greater than 0, got -60.',
  ],
  [
    'broken/bad-phone-number.yaml',
    'broken/bad-phone-number.yaml:10: bots.bank.numbers.whatsapp[0]: "whatsapp:+14155238886" is not an E.164 phone number. Hint: write the number without the channel prefix, e.g. "+15551234567".',
  ],
  [
    'broken/unknown-auth-type.yaml',
    'broken/unknown-auth-type.yaml:12: bots.bank.auth.bank-login.type: unknown type "logn". Hint: did you mean "login"? Types: login, verify, oauth.',
  ],
  [
    'broken/allow-host-with-scheme.yaml',
    'broken/allow-host-with-scheme.yaml:6: workspaces.acme.allowHosts[0]: "https://api.acme.example" is not a host name. Hint: write a hostname only (no scheme, port or path), e.g. "api.example.com" or "*.example.com".',
  ],
  [
    'broken/multi-key-step.yaml',
    'broken/multi-key-step.yaml:11: bots.bank.flows.main[0]: a step has exactly one key, this one has ask, prompt, save. Hint: indent the other keys under "ask:", or make them separate steps.',
  ],
  [
    'broken/empty-profile.yaml',
    [
      'broken/empty-profile.yaml:11: bots.bank.flows.main[0].profile: a profile step asks for at least one of name and email. Hint: add "name: true" or "email: true".',
      'broken/empty-profile.yaml:12: bots.bank.flows.main[1].set.user: "user" is a reserved variable name. Hint: pick another name; reserved: input, authtoken, user, channel, from, bot.',
    ].join('\n'),
  ],
  [
    'broken/bad-method.yaml',
    [
      'broken/bad-method.yaml:10: bots.bank.voice.restartKey: must be one key of the keypad. Hint: use one of 0-9, * or #, or "" to turn restarting off.',
      'broken/bad-method.yaml:13: bots.bank.flows.main[0].request.method: must be one of GET, POST, PUT, PATCH, DELETE, got "FETCH".',
      'broken/bad-method.yaml:14: bots.bank.flows.main[1].ask.retries: expected a whole number, got the number 1.5. Hint: use a whole number.',
    ].join('\n'),
  ],
  [
    'broken/short-api-key.yaml',
    [
      'broken/short-api-key.yaml:5: workspaces.acme.apiKeys[0]: an operator API key needs at least 32 characters, this one has 5. Hint: make one with "openssl rand -hex 32".',
      'broken/short-api-key.yaml:7: workspaces.globex.apiKeys[0]: an operator API key needs at least 32 characters, this one has 14. Hint: make one with "openssl rand -hex 32".',
    ].join('\n'),
    { GLOBEX_API_KEY: 'short-from-env' },
  ],
  [
    'broken/shared-api-key.yaml',
    [
      'broken/shared-api-key.yaml:7: workspaces.globex.apiKeys[0]: the same key as workspaces.acme.apiKeys[0]: one key would open two workspaces. Hint: give each workspace its own key, e.g. from "openssl rand -hex 32".',
      'broken/shared-api-key.yaml:9: workspaces.initech.apiKeys[0]: the same key as workspaces.acme.apiKeys[1]: one key would open two workspaces. Hint: give each workspace its own key, e.g. from "openssl rand -hex 32".',
    ].join('\n'),
    { INITECH_API_KEY: 'acme-key-0123456789abcdef0123456789abcd' },
  ],
  [
    'broken/bad-private-range.yaml',
    [
      'broken/bad-private-range.yaml:6: workspaces.acme.allowPrivateAddresses[1]: "10.0.0.1/8" has bits set after the /8 prefix; its network is 10.0.0.0/8. Hint: write an address or a range in CIDR notation, e.g. "10.20.0.0/16" or "fd00:1::/64".',
      'broken/bad-private-range.yaml:6: workspaces.acme.allowPrivateAddresses[2]: "intranet" is not an IP address or range. Hint: write an address or a range in CIDR notation, e.g. "10.20.0.0/16" or "fd00:1::/64".',
    ].join('\n'),
  ],
  [
    'broken/env-secret-redacted.yaml',
    'broken/env-secret-redacted.yaml:3: server.port: expected a number, got text.',
    { PORT: 'hunter2' },
  ],
];

describe('a broken configuration is rejected with file, line, path and a hint', () => {
  it.each(cases)('%s', (name, expected, env) => {
    expect(problemsOf([fixture(name)], env)).toBe(expected);
  });

  // Inline rather than a fixture file: prettier would refuse to format a file that is not YAML.
  it('reports a YAML syntax error with its line, and nothing else', () => {
    const text =
      'server:\n  publicUrl: https://gw.example.com\n  port: 1\n  port: 2\nbots:\n  b:\n    flows:\n      main:\n        - say: "Hello\n';
    expect(problemsOf([{ file: 'syntax.yaml', text }])).toBe(
      [
        'syntax.yaml:4: server.port: the key "port" is written twice in the same mapping (first at line 3). Hint: keep one of them: YAML allows each key once per mapping.',
        'syntax.yaml:9: YAML syntax error: Missing closing "quote.',
      ].join('\n'),
    );
  });

  it('reports every problem of a file, not just the first, in line order', () => {
    expect(problemsOf([fixture('broken/many-problems.yaml')]).split('\n')).toEqual([
      'broken/many-problems.yaml:2: server.publicUrl: the scheme must be http or https, not "ftp". Hint: write a full URL such as "https://gateway.example.com".',
      'broken/many-problems.yaml:5: workspaces.acme.apiKeys: must have at least 1 item.',
      'broken/many-problems.yaml:12: bots.bank.voice.gatherTimeout: must be greater than 0, got 0.',
      'broken/many-problems.yaml:16: bots.bank.auth.login.url: host "auth.other.example" is not in the allowHosts of workspace "acme". Hint: add it to workspaces.acme.allowHosts if the bot may call it. Allowed: api.acme.example.',
      'broken/many-problems.yaml:17: bots.bank.auth.login.fields: must have at least 1 item.',
      'broken/many-problems.yaml:20: bots.bank.flows.main[0].say: not a valid Liquid template: output "{{ user.name " not closed, line:1, col:9. Hint: variables are written {{ name }} and tags {% if ... %}...{% endif %}.',
      'broken/many-problems.yaml:21: bots.bank.flows.main[1].ask.digits: "digits" only applies to keypad input. Hint: add "keypad: true", or use "pattern" to check the length of a typed answer.',
      'broken/many-problems.yaml:24: bots.bank.flows.main[2].request.url: the scheme and host of a URL must be literal. Hint: put variables in the path or query.',
      'broken/many-problems.yaml:25: bots.bank.flows.main[2].request.retry: a PATCH request is not retried: it may not be safe to repeat. Hint: remove "retry", or use onError to offer another path.',
      'broken/many-problems.yaml:26: bots.bank.flows.main[2].request.auth: auth component "logn" does not exist. Hint: did you mean "login"? Auth components: login.',
      'broken/many-problems.yaml:27: bots.bank.flows.main[3].goto: flow "nowhere" does not exist. Hint: Flows: main.',
    ]);
  });

  it('carries the problems as data on ConfigError', () => {
    let caught: unknown;
    try {
      parseConfigText([fixture('broken/goto-missing-flow.yaml')], {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.problems).toEqual([
      {
        file: 'broken/goto-missing-flow.yaml',
        line: 12,
        path: 'bots.bank.flows.main[1].goto',
        message: 'flow "balanse" does not exist.',
        hint: 'did you mean "balance"? Flows: main, balance.',
      },
    ]);
    expect(error.message).toBe(
      'invalid configuration (1 problem):\nbroken/goto-missing-flow.yaml:12: bots.bank.flows.main[1].goto: flow "balanse" does not exist. Hint: did you mean "balance"? Flows: main, balance.',
    );
  });
});
