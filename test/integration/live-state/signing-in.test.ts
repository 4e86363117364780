// A conversation waiting for its sign-in link is listed as signing in, for as long as the link lives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../support/clock.js';
import { freePort } from '../../support/harness.js';
import { startTestProvider, type TestProvider } from '../../support/oidc-provider.js';
import { startDialogHarness, type DialogHarness } from '../dialog/helpers.js';
import { linkBot, linkIn, startBankApi, type BankApi } from '../sign-in/helpers.js';
import { api } from './helpers.js';

const clock = manualClock();
let idp: TestProvider;
let bankApi: BankApi;
let h: DialogHarness;

beforeAll(async () => {
  const port = await freePort();
  idp = await startTestProvider({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback`] });
  bankApi = await startBankApi(idp);
  h = await startDialogHarness({
    label: 'live-sign-in',
    allowHosts: ['127.0.0.1'],
    loopbackPublicUrl: port,
    clock,
    bots: linkBot({ idp, api: bankApi.url, sessionTimeout: 120 }),
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await bankApi?.close();
  await idp?.close();
});

const iso = (ms: number) => new Date(ms).toISOString();

describe('a conversation signing in', () => {
  it('is listed with state "signing-in", waiting "signin", for as long as its link lives', async () => {
    const c = h.sms('+12025550401');
    const [reply] = await c.send('balance');
    linkIn(reply!);
    const cid = h.cid('bank', c.identity);
    const state = (await h.store.state(cid))!;
    // The link's lifetime is the conversation's: it waits that long, whatever its 120 s session.
    const until = Math.max(state.expiresAt, Number(state.pending!.keepUntil));
    expect(until - clock.now()).toBeGreaterThan(120_000);
    const item = {
      id: cid,
      bot: 'bank',
      channel: 'sms',
      identity: { channel: 'sms', address: '+12025550401' },
      state: 'signing-in',
      flow: 'main',
      step: 0,
      waiting: 'signin',
      updatedAt: iso(clock.now()),
      expiresAt: iso(until),
    };
    const listed = await api(h, 'GET', '/v1/conversations?state=signing-in');
    expect(listed.json).toEqual({ conversations: [item], nextCursor: null });
    expect((await api(h, 'GET', '/v1/conversations?state=waiting')).json).toEqual({
      conversations: [],
      nextCursor: null,
    });
    clock.advance(until - clock.now() - 1);
    expect((await api(h, 'GET', '/v1/conversations')).json).toEqual({
      conversations: [item],
      nextCursor: null,
    });
    clock.advance(1);
    expect((await api(h, 'GET', '/v1/conversations')).json).toEqual({ conversations: [], nextCursor: null });
  });
});
