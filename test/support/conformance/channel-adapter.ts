// One suite every ChannelAdapter passes, the built-in channels and one added from outside alike.
import { describe, expect, it } from 'vitest';
import type { ChannelAdapter } from '../../../channels/index.js';
import type { DeliveryContext } from '../../../channels/channel.js';
import type { BotConfig } from '../../../src/config/index.js';
import type { OutboxItem } from '../../../src/store/conversation-store.js';

export interface ChannelAdapterSubject {
  adapter: ChannelAdapter;
  /** A channel that delivers its replies: where they go, and what the far side got for an address. */
  delivery?: {
    context: DeliveryContext;
    /** Our address and a fresh address of a user, as the channel writes them. */
    addresses(): { from: string; to: string };
    received(to: string): Promise<string[]>;
  };
  /** A channel that answers the waiting webhook: the bot whose turn it renders. */
  render?: { bot: BotConfig; publicUrl: string };
}

const LONG = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');

function item(from: string, to: string, body: string, n: number): OutboxItem {
  return {
    id: `out-${to}-${n}`,
    botId: 'conformance-bot',
    channel: 'sms',
    accountSid: 'AC00000000000000000000000000000001',
    from,
    to,
    body,
    windowStart: Date.now(),
    cid: `conv-${to}`,
  };
}

export function channelAdapterConformance(name: string, make: () => Promise<ChannelAdapterSubject>): void {
  describe(`channel adapter: ${name}`, () => {
    it('answers its replies one way: texts it delivers, or the answer of the webhook that waits', async () => {
      const { adapter, delivery, render } = await make();
      expect(adapter.name).toBe(name);
      if (adapter.renderTurn) {
        expect(adapter.apology).toBeTypeOf('function');
        expect(adapter.deliver).toBeUndefined();
        expect(render).toBeDefined();
      } else {
        expect(adapter.deliver).toBeTypeOf('function');
        expect(adapter.toTexts?.('Hello.')).toEqual(['Hello.']);
        expect(delivery).toBeDefined();
      }
    });

    it('mounts at least one webhook route, each with a body reader and a handler', async () => {
      const { adapter } = await make();
      expect(adapter.routes.length).toBeGreaterThan(0);
      for (const route of adapter.routes) {
        expect(route.path).toMatch(/^\//);
        expect(route.body).toBeTypeOf('function');
        expect(route.handle).toBeTypeOf('function');
      }
      const paths = adapter.routes.map((r) => r.path);
      expect(new Set(paths).size).toBe(paths.length);
    });

    it('splits a long reply into texts that give the reply back, word for word', async () => {
      const { adapter } = await make();
      if (!adapter.toTexts) {
        expect(adapter.renderTurn).toBeTypeOf('function');
        return;
      }
      const texts = adapter.toTexts(LONG);
      expect(texts.length).toBeGreaterThan(0);
      expect(texts.join(' ')).toBe(LONG);
      expect(texts.every((t) => t.length > 0 && t === t.trim())).toBe(true);
    });

    it('delivers each reply once, in order, and answers each with an id of its own', async () => {
      const { adapter, delivery, render } = await make();
      if (!adapter.deliver || !delivery) {
        expect(render).toBeDefined();
        return;
      }
      const { from, to } = delivery.addresses();
      const first = await adapter.deliver(item(from, to, 'one', 1), delivery.context);
      const second = await adapter.deliver(item(from, to, 'two', 2), delivery.context);
      expect(first.id).toBeTypeOf('string');
      expect(second.id).not.toBe(first.id);
      expect(await delivery.received(to)).toEqual(['one', 'two']);
    });

    it("renders a turn's replies, and an apology, as the answer of the waiting webhook", async () => {
      const { adapter, render } = await make();
      if (!adapter.renderTurn || !render) {
        expect(adapter.deliver).toBeTypeOf('function');
        return;
      }
      const answer = adapter.renderTurn(
        { replies: [{ text: 'Hello there.' }, { text: 'Goodbye.' }], hangup: true },
        { publicUrl: render.publicUrl, turn: 1, bot: render.bot },
      );
      expect(answer).toContain('Hello there.');
      expect(answer.indexOf('Hello there.')).toBeLessThan(answer.indexOf('Goodbye.'));
      expect(adapter.apology!(render.bot)).toBeTypeOf('string');
      expect(adapter.apology!(render.bot).length).toBeGreaterThan(0);
    });
  });
}
