// One suite every operator-events sink passes: what it answers with an id reaches the operator exactly,
// signed; what the workspace does not take, and any field that could carry a secret, never does.
import { describe, expect, it } from 'vitest';
import type { EventInput, EventSink, OperatorEvent } from '../../../src/operator-events/index.js';

export interface EventSinkSubject {
  sink: EventSink;
  /** When the sink says events happened (ms): its clock. */
  now: number;
  /**
   * The events the workspace `events`'s receiver accepted since the subject was made, once there are
   * `count` of them, each with its signature checked; a sink that sends nothing always has none.
   */
  received(count: number): Promise<{ event: OperatorEvent; signed: boolean }[]>;
}

/** Takes `auth.failed` and `user.verified` only. */
export const EVENTS_WORKSPACE = 'acme';
/** Takes no events at all. */
export const SILENT_WORKSPACE = 'globex';

const failed: EventInput = {
  type: 'auth.failed',
  workspace: EVENTS_WORKSPACE,
  userId: 'u-1001',
  externalId: 'ext-7',
  channel: 'sms',
  identity: 'sms:+12025550100',
  data: { component: 'bank-login', attempts: 2, locked: false, note: null },
};

export function eventSinkConformance(name: string, make: () => Promise<EventSinkSubject>): void {
  describe(`event sink: ${name}`, () => {
    it('sends what it answers with an id exactly as emitted, signed, and nothing else', async () => {
      const s = await make();
      const id = await s.sink.emit(failed);
      if (id === undefined) {
        expect(await s.received(0)).toEqual([]);
        return;
      }
      expect(id).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(await s.received(1)).toEqual([
        {
          signed: true,
          event: {
            id,
            type: 'auth.failed',
            at: new Date(s.now).toISOString(),
            workspace: EVENTS_WORKSPACE,
            externalId: 'ext-7',
            userId: 'u-1001',
            channel: 'sms',
            data: { component: 'bank-login', attempts: 2, locked: false, note: null },
          },
        },
      ]);
    });

    it('answers undefined, and sends nothing, for an event the workspace does not take', async () => {
      const s = await make();
      expect(await s.sink.emit({ ...failed, type: 'conversation.started' })).toBeUndefined();
      expect(await s.sink.emit({ ...failed, workspace: SILENT_WORKSPACE })).toBeUndefined();
      expect(await s.sink.emit({ ...failed, workspace: 'no-such-workspace' })).toBeUndefined();
      // A marker after them: once it has arrived, anything sent before it would have too.
      const marker = await s.sink.emit({ ...failed, type: 'user.verified', data: {} });
      const got = await s.received(marker === undefined ? 0 : 1);
      expect(got.map((r) => r.event.id)).toEqual(marker === undefined ? [] : [marker]);
    });

    it('never sends a field named like a credential, nor a nested value', async () => {
      const s = await make();
      const id = await s.sink.emit({
        ...failed,
        data: {
          component: 'bank-login',
          password: 'CANARY-1',
          auth_code: 'CANARY-2',
          accessToken: 'CANARY-3',
          nested: { a: 'CANARY-4' } as unknown as string,
        },
      });
      const got = await s.received(id === undefined ? 0 : 1);
      expect(got.map((r) => r.event.data)).toEqual(id === undefined ? [] : [{ component: 'bank-login' }]);
      expect(JSON.stringify(got)).not.toContain('CANARY');
    });

    it('gives the same key the same id, and two unkeyed events two ids', async () => {
      const s = await make();
      const first = await s.sink.emit({ ...failed, key: 'SM0001:auth.failed:0' });
      const again = await s.sink.emit({ ...failed, key: 'SM0001:auth.failed:0' });
      const other = await s.sink.emit({ ...failed, key: 'SM0002:auth.failed:0' });
      expect(again).toBe(first);
      if (first === undefined) {
        expect(other).toBeUndefined();
        return;
      }
      expect(other).not.toBe(first);
      const unkeyed = [await s.sink.emit(failed), await s.sink.emit(failed)];
      expect(unkeyed[0]).not.toBe(unkeyed[1]);
      // The repeated one is queued once: four events in all.
      expect((await s.received(4)).map((r) => r.event.id).sort()).toEqual([first, other, ...unkeyed].sort());
    });

    it('does not send a keyed event again once the first was delivered (a turn run again)', async () => {
      const s = await make();
      const first = await s.sink.emit({ ...failed, key: 'SM0003:auth.failed:0' });
      await s.received(first === undefined ? 0 : 1);
      expect(await s.sink.emit({ ...failed, key: 'SM0003:auth.failed:0' })).toBe(first);
      // Delivered in order after the copy: once it has arrived, a copy queued before it would have too.
      const marker = await s.sink.emit({ ...failed, type: 'user.verified', data: {} });
      const got = await s.received(first === undefined ? 0 : 2);
      expect(got.map((r) => r.event.id)).toEqual(first === undefined ? [] : [first, marker]);
    });
  });
}
