// Valid configurations: defaults, normalization, the shipped examples and directory merging.
import { describe, expect, it } from 'vitest';
import { ConfigError, formatProblems, loadConfig, parseConfigText } from '../../../src/config/index.js';
import { FIXTURES, fixture, problemsOf, REPO } from './helpers.js';

const REFERENCE_ENV = {
  TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000001',
  TWILIO_AUTH_TOKEN: 'twilio-token',
  ACME_API_KEY: 'acme-key-0123456789abcdef0123456789abcdef',
  ACME_EVENTS_SECRET: 'events-secret',
};

const MINIMAL = `
server:
  publicUrl: https://gw.example.com
workspaces:
  acme:
    apiKeys: [key-1-0123456789abcdef0123456789abcdef]
bots:
  bank:
    workspace: acme
    flows:
      main:
        - say: Hello
        - ask: { prompt: "Your PIN?", save: pin }
        - request: { url: "https://api.acme.example/v1" }
        - end:
`;

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ConfigError) return formatProblems(err.problems);
    throw err;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('parseConfigText', () => {
  it('applies every default to a minimal configuration', () => {
    const text = MINIMAL.replace(
      'apiKeys: [key-1-0123456789abcdef0123456789abcdef]',
      'apiKeys: [key-1-0123456789abcdef0123456789abcdef]\n    allowHosts: [api.acme.example]',
    );
    const config = parseConfigText([{ file: 'minimal.yaml', text }], {});
    expect(config.server).toEqual({ publicUrl: 'https://gw.example.com', port: 3000 });
    expect(config.twilio).toBeUndefined();
    expect(config.workspaces.acme).toEqual({
      apiKeys: ['key-1-0123456789abcdef0123456789abcdef'],
      allowHosts: ['api.acme.example'],
      linkCodes: { maxFailures: 100, window: 900, lockout: 900 },
      identityMoves: 'allow',
    });
    const bot = config.bots.bank!;
    expect(bot.numbers).toEqual({ sms: [], whatsapp: [], voice: [] });
    expect(bot.voice).toEqual({
      language: 'en-US',
      voice: 'Polly.Joanna',
      replyWaitMs: 2500,
      gatherTimeout: 5,
      trustCallerId: false,
      restartKey: '*',
      holdMessage: 'One moment please.',
    });
    expect(bot.locale).toBe('en');
    expect(bot.sessionTimeout).toBe(1800);
    expect(bot.help).toBe('Reply MENU to start over, STOP to opt out.');
    expect(bot.whatsappTemplate).toBeUndefined();
    expect(bot.rateLimit).toEqual({
      messagesPerMinute: 30,
      reply: 'You are sending messages too quickly. Please wait a minute.',
    });
    expect(bot.auth).toEqual({});
    expect(bot.flows.main).toEqual([
      { say: 'Hello' },
      {
        ask: {
          prompt: 'Your PIN?',
          save: 'pin',
          keypad: false,
          secret: false,
          retries: 2,
        },
      },
      { request: { method: 'GET', url: 'https://api.acme.example/v1', timeout: 10, retry: 0 } },
      { end: null },
    ]);
  });

  it('reads the reference example with its values and the defaults it leaves out', () => {
    const config = parseConfigText([fixture('valid/spec-example.yaml')], REFERENCE_ENV);
    expect(config.server.publicUrl).toBe('https://gateway.example.com');
    expect(config.twilio).toEqual({
      accountSid: 'AC00000000000000000000000000000001',
      authToken: 'twilio-token',
      apiBaseUrl: 'https://api.twilio.com',
      redactSecretMessages: false,
    });
    expect(config.workspaces.acme!.events).toEqual({
      url: 'https://hooks.acme.example/switchboard',
      secret: 'events-secret',
      types: ['user.verified', 'auth.failed', 'user.locked', 'user.opted_out', 'message.failed'],
    });
    const bot = config.bots['acme-bank']!;
    // The unquoted voice number stays text with its "+", like the quoted ones.
    expect(bot.numbers).toEqual({
      sms: ['+15005550006'],
      whatsapp: ['+14155238886'],
      voice: ['+15005550006'],
    });
    expect(bot.auth['bank-login']).toEqual({
      type: 'login',
      method: 'POST',
      url: 'https://auth.acme.example/token',
      fields: [
        { name: 'username', prompt: 'What is your username?', secret: false, keypad: false },
        { name: 'password', prompt: 'What is your password?', secret: true, keypad: false },
      ],
      body: { user: '{{username}}', pass: '{{password}}' },
      token: { path: 'access_token' },
      expiresInPath: 'expires_in',
      ttl: 3600,
      userIdPath: 'user.id',
      maxAttempts: 3,
      lockout: 900,
      timeout: 10,
    });
    expect(bot.auth['member-pin']).toEqual({
      type: 'verify',
      url: 'https://acme.example/switchboard/verify',
      fields: [
        {
          name: 'auth_id',
          prompt: 'Enter your member number, then press pound.',
          secret: false,
          keypad: true,
        },
        { name: 'auth_code', prompt: 'Enter your four digit PIN.', secret: true, keypad: true, digits: 4 },
      ],
      ttl: 86400,
      maxAttempts: 3,
      lockout: 900,
      timeout: 10,
    });
    expect(bot.flows.main![2]).toEqual({
      switch: { value: '{{choice}}', cases: { '1': 'balance', '2': 'last-payment' } },
    });
    expect(bot.flows['last-payment']![1]).toEqual({
      request: {
        method: 'POST',
        url: 'https://api.acme.example/v1/payments/last',
        body: { member: '{{auth_id}}', token: '{{authtoken}}' },
        auth: 'member-pin',
        save: { amount: 'amount', payee: 'payee' },
        timeout: 10,
        retry: 0,
      },
    });
    expect(bot.flows['last-payment']![3]).toEqual({ end: 'Goodbye.' });
  });

  it('accepts lower-case methods, numbers as text, an empty end and a login token without path', () => {
    const text = `
server: { publicUrl: "http://localhost:3000/", port: 0, host: 127.0.0.1 }
workspaces:
  w: { apiKeys: [k-0123456789abcdef0123456789abcdef], allowHosts: [localhost], rateLimit: {} }
bots:
  b:
    workspace: w
    voice: { restartKey: "", trustCallerId: true }
    auth:
      l: { type: login, method: get, url: "http://localhost/t", fields: [{ name: code, prompt: Code?, keypad: true, digits: 6 }] }
    flows:
      main:
        - say: 42
        - set: { attempts: 0, vip: true }
        - request: { method: put, url: "http://localhost/x/{{from}}", retry: 2, headers: { X-Version: 2 } }
        - profile: { name: true, email: "What is your email?" }
        - end: ""
`;
    const config = parseConfigText([{ file: 'x.yaml', text }], {});
    expect(config.server).toEqual({ publicUrl: 'http://localhost:3000', port: 0, host: '127.0.0.1' });
    expect(config.workspaces.w!.rateLimit).toEqual({ requestsPerMinute: 600 });
    const bot = config.bots.b!;
    expect(bot.voice.restartKey).toBe('');
    expect(bot.voice.trustCallerId).toBe(true);
    expect(bot.auth.l).toMatchObject({
      method: 'GET',
      token: {},
      fields: [{ name: 'code', keypad: true, digits: 6 }],
    });
    expect(bot.flows.main).toEqual([
      { say: '42' },
      { set: { attempts: '0', vip: 'true' } },
      {
        request: {
          method: 'PUT',
          url: 'http://localhost/x/{{from}}',
          retry: 2,
          headers: { 'X-Version': '2' },
          timeout: 10,
        },
      },
      { profile: { name: true, email: 'What is your email?' } },
      { end: '' },
    ]);
  });

  it('reports a file that is not a mapping, and reads an empty one as nothing', () => {
    const files = [
      { file: 'empty.yaml', text: '# nothing yet\n' },
      { file: 'list.yaml', text: '- a\n- b\n' },
    ];
    expect(problemsOf(files)).toBe(
      [
        'empty.yaml: server: missing; expected a mapping (key: value).',
        'list.yaml:1: the file must be a mapping with the keys server, twilio, workspaces and bots.',
      ].join('\n'),
    );
  });
});

describe('the shipped configurations load', () => {
  it('config/examples/demo-bank.yaml', async () => {
    const config = await loadConfig({
      path: `${REPO}config/examples/demo-bank.yaml`,
      env: {
        PUBLIC_URL: 'http://127.0.0.1:3000/',
        DEMO_API_KEY: 'demo-key-0123456789abcdef0123456789abcdef',
        DEMO_BANK_PORT: '4010',
        DEMO_IDP_ISSUER: 'http://127.0.0.1:4011',
        DEMO_IDP_CLIENT_ID: 'switchboard-demo',
        DEMO_IDP_CLIENT_SECRET: 'demo-client-secret-for-the-tests',
      },
    });
    expect(config.server.publicUrl).toBe('http://127.0.0.1:3000');
    expect(config.twilio).toBeUndefined();
    expect(config.workspaces.demo).toEqual({
      apiKeys: ['demo-key-0123456789abcdef0123456789abcdef'],
      allowHosts: ['127.0.0.1', 'localhost'],
      linkCodes: { maxFailures: 100, window: 900, lockout: 900 },
      identityMoves: 'allow',
    });
    const bot = config.bots['demo-bank']!;
    expect(bot.numbers).toEqual({
      sms: ['+15005550006'],
      whatsapp: ['+14155238886'],
      voice: ['+15005550006'],
    });
    expect(bot.auth['bank-login']).toMatchObject({
      type: 'login',
      url: 'http://127.0.0.1:4010/auth/token',
      token: { path: 'access_token' },
      expiresInPath: 'expires_in',
      userIdPath: 'user.id',
    });
    expect(bot.auth['member-pin']).toMatchObject({
      type: 'verify',
      url: 'http://127.0.0.1:4010/auth/verify',
    });
    expect(bot.auth['bank-link']).toMatchObject({
      type: 'oauth',
      issuer: 'http://127.0.0.1:4011',
      clientId: 'switchboard-demo',
      clientSecret: 'demo-client-secret-for-the-tests',
      userNamespace: false,
      voice: { holdLimit: 120, fallbackFlow: 'pin-instead' },
    });
    expect(Object.keys(bot.flows)).toEqual([
      'main',
      'balance',
      'balance-by-pin',
      'link-balance',
      'pin-instead',
      'last-payment',
      'unavailable',
    ]);
    expect(bot.flows.main![1]).toMatchObject({ choose: { save: 'choice', retries: 2 } });
    expect(bot.flows.balance![2]).toMatchObject({ request: { url: 'http://127.0.0.1:4010/api/balance' } });
    expect(bot.flows['balance-by-pin']![1]).toMatchObject({
      request: { url: 'http://127.0.0.1:4010/api/balance/member' },
    });
    expect(bot.flows['last-payment']![1]).toMatchObject({
      request: { url: 'http://127.0.0.1:4010/api/payments/last' },
    });
  });

  it('config/examples/voice-menu.yaml', async () => {
    const config = await loadConfig({
      path: `${REPO}config/examples/voice-menu.yaml`,
      env: {
        PUBLIC_URL: 'https://gw.example.com',
        PHARMACY_API_KEY: 'p-key-0123456789abcdef0123456789abcdef',
        PHARMACY_API_TOKEN: 'p-token',
      },
    });
    const bot = config.bots['refill-line']!;
    expect(bot.workspace).toBe('northside-pharmacy');
    expect(bot.voice).toMatchObject({
      language: 'en-GB',
      voice: 'Polly.Amy',
      gatherTimeout: 7,
      restartKey: '*',
    });
    expect(bot.flows.refill![2]).toMatchObject({
      request: {
        method: 'POST',
        headers: { Authorization: 'Bearer p-token' },
        timeout: 8,
        onError: 'refill-failed',
      },
    });
    expect(config.workspaces['northside-pharmacy']!.rateLimit).toEqual({ requestsPerMinute: 120 });
  });

  it('config/switchboard.yaml', async () => {
    const config = await loadConfig({
      path: `${REPO}config/switchboard.yaml`,
      env: {
        PUBLIC_URL: 'https://gateway.example.com',
        TWILIO_ACCOUNT_SID: 'AC1',
        TWILIO_AUTH_TOKEN: 'tok',
        ACME_API_KEY: 'k-0123456789abcdef0123456789abcdef',
        ACME_EVENTS_SECRET: 's',
        ACME_WHATSAPP_TEMPLATE_SID: 'HX1',
      },
    });
    expect(config.twilio).toEqual({ accountSid: 'AC1', authToken: 'tok', redactSecretMessages: true });
    expect(config.bots['acme-bank']!.whatsappTemplate).toEqual({ contentSid: 'HX1' });
  });
});

describe('loadConfig on a directory', () => {
  it('merges every *.yaml and *.yml file in name order', async () => {
    const config = await loadConfig({
      path: `${FIXTURES}dir-merge`,
      env: {
        TWILIO_ACCOUNT_SID: 'AC1',
        TWILIO_AUTH_TOKEN: 'tok',
        ACME_API_KEY: 'acme-key-0123456789abcdef0123456789abcdef',
      },
    });
    expect(config.server).toEqual({ publicUrl: 'https://gw.example.com', port: 8080 });
    expect(config.twilio).toEqual({ accountSid: 'AC1', authToken: 'tok', redactSecretMessages: false });
    expect(Object.keys(config.workspaces)).toEqual(['acme', 'globex']);
    expect(Object.keys(config.bots)).toEqual(['acme-bank', 'globex-support']);
    expect(config.bots['globex-support']!.flows.main![0]).toEqual({
      request: {
        method: 'GET',
        url: 'https://api.globex.example/v1/tickets?from={{from}}',
        save: { count: 'data.count' },
        timeout: 10,
        retry: 0,
      },
    });
  });

  it('names both files when the same entry is defined twice', async () => {
    const dir = `${FIXTURES}dir-duplicate`;
    expect(await rejection(loadConfig({ path: dir, env: {} }))).toBe(
      [
        `${dir}/b-bots.yaml:1: server: "server" is also defined in ${dir}/a-server.yaml:1. Hint: define it in one file only.`,
        `${dir}/b-bots.yaml:4: bots.acme-bank: bot "acme-bank" is also defined in ${dir}/a-server.yaml:7. Hint: define it in one file only.`,
      ].join('\n'),
    );
  });

  it('locates problems in the file that defines the entry', async () => {
    const dir = `${FIXTURES}dir-merge`;
    expect(
      await rejection(loadConfig({ path: dir, env: { TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't' } })),
    ).toBe(
      `${dir}/10-acme.yaml:3: workspaces.acme.apiKeys[0]: environment variable ACME_API_KEY is not set. Hint: set ACME_API_KEY in the environment, or write $\${ACME_API_KEY} for a literal "\${ACME_API_KEY}".`,
    );
  });

  it('refuses a directory without configuration files and a path that does not exist', async () => {
    expect(await rejection(loadConfig({ path: `${FIXTURES}dir-empty`, env: {} }))).toBe(
      `${FIXTURES}dir-empty: the directory has no *.yaml files. Hint: add a file such as switchboard.yaml.`,
    );
    expect(await rejection(loadConfig({ path: `${FIXTURES}no-such.yaml`, env: {} }))).toBe(
      `${FIXTURES}no-such.yaml: cannot read the configuration: no such file or directory.`,
    );
  });
});
