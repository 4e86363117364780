// The operator API through a real express server on loopback: users, tokens, link codes, history, erasure, workspace walls.
import { matchesPattern } from '../../support/key-patterns.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, identityWorld, KEY_A2, KEY_B, startApi, type ApiServer, type IdentityWorld } from './setup.js';

let w: IdentityWorld;
let api: ApiServer;
beforeEach(async () => {
  w = await identityWorld();
  api = await startApi(w);
});
afterEach(async () => {
  await api.close();
  await w.close();
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function registerZhang(extra: Record<string, unknown> = {}) {
  return call(api, 'POST', '/v1/users', {
    body: {
      userId: 'member-42',
      name: 'Zhang San',
      email: 'zs@example.com',
      customData: { plan: 'gold', since: 2019 },
      identities: [
        { channel: 'whatsapp', address: '+447700900123' },
        { channel: 'sms', address: '+15551234567' },
      ],
      tokens: { 'bank-login': { token: 'CANARY-TOKEN-ab12', ttl: 3600 } },
      ...extra,
    },
  });
}

describe('users and tokens', () => {
  it('registers a verified user; GET shows tier, identities and token expiry, never the value', async () => {
    const before = Date.now();
    const created = await registerZhang();
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ userId: 'member-42', tier: 'verified' });

    const got = await call(api, 'GET', '/v1/users/member-42');
    expect(got.status).toBe(200);
    expect(got.text).not.toContain('CANARY-TOKEN-ab12');
    const user = got.json as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- reading a JSON answer
    expect(user).toMatchObject({
      userId: 'member-42',
      externalId: null,
      tier: 'verified',
      profile: {
        name: 'Zhang San',
        email: 'zs@example.com',
        customData: { plan: 'gold', since: 2019 },
        verified: true,
      },
      identities: [
        { channel: 'sms', address: '+15551234567', verified: true, via: 'operator' },
        { channel: 'whatsapp', address: '+447700900123', verified: true, via: 'operator' },
      ],
    });
    expect(user.tokens).toHaveLength(1);
    expect(user.tokens[0].component).toBe('bank-login');
    expect(Object.keys(user.tokens[0]).sort()).toEqual(['component', 'expiresAt', 'refreshExpiresAt']);
    expect(user.tokens[0].refreshExpiresAt).toBeNull(); // a token given by the operator has no refresh token
    const expiresAt = Date.parse(user.tokens[0].expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(user.createdAt).toMatch(ISO);

    // The identities resolve to the user for the dialog engine.
    expect(await w.identity.resolveUser({ workspace: 'acme', identity: 'sms:+15551234567' })).toMatchObject({
      userId: 'member-42',
      tier: 'verified',
      name: 'Zhang San',
    });
    // No log line carries the token.
    expect(w.logLines.join('\n')).not.toContain('CANARY-TOKEN-ab12');
  });

  it('renews a token with PUT and revokes with DELETE', async () => {
    await registerZhang();
    const renewed = await call(api, 'PUT', '/v1/users/member-42/tokens/member-pin', {
      body: { token: 'renewed-value', ttl: 7200 },
    });
    expect(renewed.status).toBe(204);
    expect(renewed.text).toBe('');
    const scope = { workspace: 'acme', userId: 'member-42' };
    expect((await w.tokens.get(scope, 'member-pin'))?.token).toBe('renewed-value');
    const again = await call(api, 'PUT', '/v1/users/member-42/tokens/bank-login', {
      body: { token: 'second', ttl: 60 },
    });
    expect(again.status).toBe(204);
    expect((await w.tokens.get(scope, 'bank-login'))?.token).toBe('second');

    expect((await call(api, 'DELETE', '/v1/users/member-42/tokens/bank-login')).status).toBe(204);
    expect(await w.tokens.get(scope, 'bank-login')).toBeUndefined();
    expect((await w.tokens.get(scope, 'member-pin'))?.token).toBe('renewed-value');

    expect((await call(api, 'DELETE', '/v1/users/member-42/tokens')).status).toBe(204);
    expect(await w.tokens.list(scope)).toEqual([]);
    const got = await call(api, 'GET', '/v1/users/member-42');
    expect((got.json as { tokens: unknown[] }).tokens).toEqual([]);
  });

  it('answers 404 for a component no bot of the workspace has, and for an unknown user', async () => {
    await registerZhang();
    const unknownComponent = await call(api, 'PUT', '/v1/users/member-42/tokens/globex-login', {
      body: { token: 'x', ttl: 60 },
    });
    expect(unknownComponent.status).toBe(404);
    expect(unknownComponent.json).toEqual({
      error: {
        code: 'component_not_found',
        message: 'No bot of this workspace has an auth component "globex-login".',
      },
    });
    const unknownUser = await call(api, 'PUT', '/v1/users/nobody/tokens/bank-login', {
      body: { token: 'x', ttl: 60 },
    });
    expect(unknownUser.status).toBe(404);
    expect(unknownUser.json).toEqual({
      error: { code: 'user_not_found', message: 'No such user in this workspace.' },
    });
  });

  it('scopes users by externalId', async () => {
    await registerZhang({ externalId: 'org-1', identities: [{ channel: 'sms', address: '+15550000001' }] });
    expect((await call(api, 'GET', '/v1/users/member-42')).status).toBe(404);
    const scoped = await call(api, 'GET', '/v1/users/member-42?externalId=org-1');
    expect(scoped.status).toBe(200);
    expect((scoped.json as { externalId: string }).externalId).toBe('org-1');
    const second = await call(api, 'POST', '/v1/users', {
      body: {
        userId: 'member-42',
        externalId: 'org-2',
        identities: [{ channel: 'sms', address: '+15550000002' }],
      },
    });
    expect(second.json).toEqual({ userId: 'member-42', externalId: 'org-2', tier: 'verified' });
    expect((await call(api, 'DELETE', '/v1/users/member-42?externalId=org-2')).status).toBe(204);
    expect((await call(api, 'GET', '/v1/users/member-42?externalId=org-1')).status).toBe(200);
  });

  it('updates a user, releases identities no longer listed, and refuses another user’s identity with 409', async () => {
    await registerZhang();
    const updated = await call(api, 'POST', '/v1/users', {
      body: { userId: 'member-42', identities: [{ channel: 'sms', address: '+15551234567' }] },
    });
    expect(updated.status).toBe(201);
    const got = (await call(api, 'GET', '/v1/users/member-42')).json as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answer
    expect(got.profile.name).toBe('Zhang San');
    expect(got.identities.map((i: { address: string }) => i.address)).toEqual(['+15551234567']);
    expect(
      (await w.identity.resolveUser({ workspace: 'acme', identity: 'whatsapp:+447700900123' })).tier,
    ).toBe('anonymous');

    const conflict = await call(api, 'POST', '/v1/users', {
      body: { userId: 'member-43', identities: [{ channel: 'sms', address: '+15551234567' }] },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.json).toEqual({
      error: {
        code: 'identity_in_use',
        message: 'sms:+15551234567 already belongs to another user; remove it from that user first',
      },
    });
  });

  it('accepts any of a workspace’s keys', async () => {
    await registerZhang();
    expect((await call(api, 'GET', '/v1/users/member-42', { key: KEY_A2 })).status).toBe(200);
  });
});

describe('link codes and unverified users', () => {
  it('creates a link code that the dialog engine redeems', async () => {
    const created = await call(api, 'POST', '/v1/link-codes', {
      body: { userId: 'web-9', name: 'Li Si', customData: { tier: 'basic' }, ttl: 120 },
    });
    expect(created.status).toBe(201);
    const { code, expiresAt } = created.json as { code: string; expiresAt: string };
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
    expect(expiresAt).toMatch(ISO);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(115_000);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(120_000);

    const redeemed = await w.linkCodes.redeem({ workspace: 'acme', identity: 'sms:+15557770000', code });
    expect(redeemed.ok).toBe(true);
    const got = await call(api, 'GET', '/v1/users/web-9');
    expect(got.json).toMatchObject({
      userId: 'web-9',
      tier: 'verified',
      profile: { name: 'Li Si', customData: { tier: 'basic' }, verified: true },
      identities: [{ channel: 'sms', address: '+15557770000', verified: true, via: 'link' }],
    });
  });

  it('shows an unverified profile as unverified, and it never grants the verified user’s history', async () => {
    await registerZhang();
    const owner = await w.identity.resolveUser({ workspace: 'acme', identity: 'sms:+15551234567' });
    await w.identity.appendHistory(owner, {
      direction: 'in',
      channel: 'sms',
      text: 'my balance please',
      at: 1_700_000_000_000,
    });
    await w.identity.appendHistory(owner, {
      direction: 'in',
      channel: 'sms',
      text: 'CANARY-PIN-9911',
      at: 1_700_000_001_000,
      secret: true,
    });

    const stranger = 'sms:+15556660000';
    await w.identity.saveProfile({
      workspace: 'acme',
      identity: stranger,
      name: 'Zhang San',
      email: 'zs@example.com',
    });
    const user = await w.identity.resolveUser({ workspace: 'acme', identity: stranger });
    await w.identity.appendHistory(user, {
      direction: 'in',
      channel: 'sms',
      text: 'hi',
      at: 1_700_000_002_000,
    });
    expect(user.tier).toBe('unverified');

    const got = await call(api, 'GET', `/v1/users/${encodeURIComponent(user.userId)}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({
      userId: user.userId,
      externalId: null,
      tier: 'unverified',
      profile: { name: 'Zhang San', email: 'zs@example.com', customData: null, verified: false },
      identities: [{ channel: 'sms', address: '+15556660000', verified: false, via: null, verifiedAt: null }],
      tokens: [],
    });
    const strangerHistory = await call(api, 'GET', `/v1/users/${encodeURIComponent(user.userId)}/history`);
    expect(strangerHistory.json).toEqual({
      userId: user.userId,
      entries: [
        {
          at: '2023-11-14T22:13:22.000Z',
          direction: 'in',
          channel: 'sms',
          address: '+15556660000',
          text: 'hi',
          secret: false,
        },
      ],
      nextCursor: null,
    });

    const ownerHistory = await call(api, 'GET', '/v1/users/member-42/history?limit=10');
    expect(ownerHistory.json).toEqual({
      userId: 'member-42',
      entries: [
        {
          at: '2023-11-14T22:13:20.000Z',
          direction: 'in',
          channel: 'sms',
          address: '+15551234567',
          text: 'my balance please',
          secret: false,
        },
        {
          at: '2023-11-14T22:13:21.000Z',
          direction: 'in',
          channel: 'sms',
          address: '+15551234567',
          text: '[redacted]',
          secret: true,
        },
      ],
      nextCursor: null,
    });
    expect(ownerHistory.text).not.toContain('CANARY-PIN-9911');
    const latest = await call(api, 'GET', '/v1/users/member-42/history?limit=1');
    expect((latest.json as { entries: { text: string }[] }).entries.map((e) => e.text)).toEqual([
      '[redacted]',
    ]);
  });
});

describe('erasure', () => {
  it('removes every Redis key about the user; the identities are anonymous afterwards', async () => {
    // Something else in the workspace that must survive.
    await call(api, 'POST', '/v1/users', {
      body: { userId: 'bystander', identities: [{ channel: 'sms', address: '+15550009999' }] },
    });
    const baseline = (await w.scan()).filter((k) => !matchesPattern(w.keys.everyApiRateLimit())(k));

    await registerZhang();
    await call(api, 'PUT', '/v1/users/member-42/tokens/member-pin', { body: { token: 'pin', ttl: 60 } });
    const user = await w.identity.resolveUser({ workspace: 'acme', identity: 'whatsapp:+447700900123' });
    await w.identity.appendHistory(user, { direction: 'in', channel: 'whatsapp', text: 'hello', at: 1 });
    await w.identity.saveProfile({ workspace: 'acme', identity: 'whatsapp:+447700900123', name: 'Zhang' });
    await call(api, 'POST', '/v1/link-codes', { body: { userId: 'member-42' } });
    // What one identity did while it was still anonymous goes too.
    await w.identity.appendHistory(
      {
        ...(await w.identity.resolveUser({ workspace: 'acme', identity: 'sms:+15551234567' })),
        tier: 'anonymous',
        userId: 'anon:x',
      },
      { direction: 'in', channel: 'sms', text: 'earlier', at: 0 },
    );
    const during = (await w.scan()).filter((k) => !matchesPattern(w.keys.everyApiRateLimit())(k));
    expect(during.length).toBeGreaterThan(baseline.length + 5);

    const erased = await call(api, 'DELETE', '/v1/users/member-42');
    expect(erased.status).toBe(204);
    const after = (await w.scan()).filter((k) => !matchesPattern(w.keys.everyApiRateLimit())(k));
    expect(after).toEqual(baseline);

    expect((await call(api, 'GET', '/v1/users/member-42')).status).toBe(404);
    expect((await call(api, 'DELETE', '/v1/users/member-42')).status).toBe(404);
    for (const identity of ['whatsapp:+447700900123', 'sms:+15551234567']) {
      const now = await w.identity.resolveUser({ workspace: 'acme', identity });
      expect(now.tier).toBe('anonymous');
      expect(await w.identity.readHistory({ workspace: 'acme', userId: now.userId })).toEqual([]);
    }
    expect((await call(api, 'GET', '/v1/users/bystander')).status).toBe(200);
  });

  it('erases an anonymous user by their derived id', async () => {
    const baseline = await w.scan();
    await w.identity.saveProfile({ workspace: 'acme', identity: 'sms:+15554440000', name: 'Someone' });
    const user = await w.identity.resolveUser({ workspace: 'acme', identity: 'sms:+15554440000' });
    await w.identity.appendHistory(user, { direction: 'in', channel: 'sms', text: 'hi', at: 1 });
    expect((await call(api, 'DELETE', `/v1/users/${encodeURIComponent(user.userId)}`)).status).toBe(204);
    expect((await w.scan()).filter((k) => !matchesPattern(w.keys.everyApiRateLimit())(k))).toEqual(baseline);
    expect((await w.identity.resolveUser({ workspace: 'acme', identity: 'sms:+15554440000' })).tier).toBe(
      'anonymous',
    );
  });
});

describe('workspace walls', () => {
  it('B’s key cannot read, change, renew, revoke or erase A’s users', async () => {
    await registerZhang();
    const anonymous = await w.identity.resolveUser({ workspace: 'acme', identity: 'sms:+15553330000' });
    await w.identity.appendHistory(anonymous, { direction: 'in', channel: 'sms', text: 'hi', at: 1 });
    const attempts: [string, string, unknown?][] = [
      ['GET', '/v1/users/member-42'],
      ['GET', '/v1/users/member-42/history'],
      ['PUT', '/v1/users/member-42/tokens/globex-login', { token: 'stolen', ttl: 60 }],
      ['DELETE', '/v1/users/member-42/tokens'],
      ['DELETE', '/v1/users/member-42/tokens/globex-login'],
      ['DELETE', '/v1/users/member-42'],
      ['GET', `/v1/users/${encodeURIComponent(anonymous.userId)}`],
      ['DELETE', `/v1/users/${encodeURIComponent(anonymous.userId)}`],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await call(api, method, path, { key: KEY_B, ...(body ? { body } : {}) });
      expect({
        method,
        path,
        status: answer.status,
        code: (answer.json as { error: { code: string } }).error.code,
      }).toEqual({
        method,
        path,
        status: 404,
        code: 'user_not_found',
      });
    }
    // B registering a user with A's user id creates B's own user; A's is untouched.
    const own = await call(api, 'POST', '/v1/users', {
      key: KEY_B,
      body: {
        userId: 'member-42',
        name: 'Not Zhang',
        identities: [{ channel: 'sms', address: '+15551234567' }],
      },
    });
    expect(own.status).toBe(201);
    const a = await call(api, 'GET', '/v1/users/member-42');
    expect(a.json).toMatchObject({ profile: { name: 'Zhang San' }, tokens: [{ component: 'bank-login' }] });
    expect((await w.tokens.get({ workspace: 'acme', userId: 'member-42' }, 'bank-login'))?.token).toBe(
      'CANARY-TOKEN-ab12',
    );
    const b = await call(api, 'GET', '/v1/users/member-42', { key: KEY_B });
    expect(b.json).toMatchObject({ profile: { name: 'Not Zhang' }, tokens: [] });
    expect((await w.identity.resolveUser({ workspace: 'acme', identity: 'sms:+15551234567' })).name).toBe(
      'Zhang San',
    );
    expect((await w.identity.resolveUser({ workspace: 'globex', identity: 'sms:+15551234567' })).name).toBe(
      'Not Zhang',
    );
  });
});
