// The tracing tests' bank: a customer of the fake auth service and protected API, a bank bot that sends
// operator events to a receiver, and the WhatsApp login that ends with a balance.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { startFakeProtectedApi, type FakeProtectedApi } from '../../fakes/protected-api.js';
import { startEventReceiver, type FakeEventReceiver } from '../../fakes/event-receiver.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { bankBot, startBankHarness, TEXT } from '../auth/helpers.js';

export const EVENTS_SECRET = 'events-secret-0123456789';

export interface TracedBank {
  readonly h: DialogHarness;
  readonly bank: FakeProtectedApi;
  readonly events: FakeEventReceiver;
  readonly username: string;
  /** The customer's password: a canary for every exported span. */
  readonly password: string;
  /**
   * Logs in over WhatsApp (hi, username, password) with these MessageSids, the last answer being the
   * balance; returns the conversation id.
   */
  login(sids: [string, string, string]): Promise<string>;
  close(): Promise<void>;
}

export async function startTracedBank(label: string): Promise<TracedBank> {
  const hex = () => randomBytes(6).toString('hex');
  const username = `${label}-${hex()}`;
  const password = `${label}-${hex()}-p@ss w/rd+`;
  const bank = await startFakeProtectedApi();
  bank.addAccount(username, { password, userId: `u-${username}` });
  const events = await startEventReceiver(EVENTS_SECRET);
  const h = await startBankHarness({
    bots: bankBot({ bank: bank.url }),
    label,
    adjust: (config) => {
      config.workspaces.test!.events = {
        url: events.url,
        secret: EVENTS_SECRET,
        types: ['conversation.started', 'user.verified'],
      };
    },
  });
  return {
    h,
    bank,
    events,
    username,
    password,
    async login(sids) {
      const chat = h.whatsapp();
      expect(await chat.send('hi', { MessageSid: sids[0] })).toEqual([TEXT.username]);
      expect(await chat.send(username, { MessageSid: sids[1] })).toEqual([TEXT.password]);
      expect(await chat.send(password, { MessageSid: sids[2] })).toEqual(['Your balance is 120.50 EUR.']);
      return h.cid('bank', chat.identity);
    },
    async close() {
      await h.close();
      await events.close();
      await bank.close();
    },
  };
}
