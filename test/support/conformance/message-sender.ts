// One suite every MessageSender passes: texts delivered in order, addresses kept, refusals told from busy.
import { describe, expect, it } from 'vitest';
import { SendRejectedError, SendRetryableError, type MessageSender } from '../../../channels/index.js';
import { ACCOUNT_SID } from '../config.js';

export interface MessageSenderSubject {
  sender: MessageSender;
  /** What the far side holds for an address, oldest first, as `{to, from, body}`. */
  received(to: string): Promise<{ to: string; from: string; body: string | undefined }[]>;
  /** Makes the far side refuse the next message with `status`, when it can. */
  refuseNext?(status: number): void;
}

export function messageSenderConformance(name: string, make: () => Promise<MessageSenderSubject>): void {
  describe(`message sender: ${name}`, () => {
    it('delivers texts in the order sent and answers each with a message sid', async () => {
      const subject = await make();
      const to = `+1202555${String(Math.floor(Math.random() * 9000) + 1000)}`;
      const first = await subject.sender.send({
        accountSid: ACCOUNT_SID,
        from: '+15005550006',
        to,
        body: 'one',
      });
      const second = await subject.sender.send({
        accountSid: ACCOUNT_SID,
        from: '+15005550006',
        to,
        body: 'two',
      });
      expect(first.sid).toMatch(/^SM[0-9a-f]{32}$/);
      expect(second.sid).not.toBe(first.sid);
      expect(await subject.received(to)).toEqual([
        { to, from: '+15005550006', body: 'one' },
        { to, from: '+15005550006', body: 'two' },
      ]);
    });

    it('keeps whatsapp: addresses as they are', async () => {
      const subject = await make();
      const to = 'whatsapp:+447700900123';
      await subject.sender.send({
        accountSid: ACCOUNT_SID,
        from: 'whatsapp:+14155238886',
        to,
        body: 'hello',
      });
      expect((await subject.received(to)).at(-1)).toEqual({
        to,
        from: 'whatsapp:+14155238886',
        body: 'hello',
      });
    });

    it('tells a refusal (do not retry) from a busy or failing provider (retry)', async () => {
      const subject = await make();
      if (!subject.refuseNext) {
        // The recorder never refuses: nothing to tell apart, and it must say so by succeeding.
        await expect(
          subject.sender.send({
            accountSid: ACCOUNT_SID,
            from: '+15005550006',
            to: '+12025550199',
            body: 'x',
          }),
        ).resolves.toMatchObject({ sid: expect.stringMatching(/^SM/) });
        return;
      }
      const message = { accountSid: ACCOUNT_SID, from: '+15005550006', to: '+12025550198', body: 'x' };
      subject.refuseNext(400);
      await expect(subject.sender.send(message)).rejects.toBeInstanceOf(SendRejectedError);
      subject.refuseNext(429);
      await expect(subject.sender.send(message)).rejects.toBeInstanceOf(SendRetryableError);
      subject.refuseNext(503);
      await expect(subject.sender.send(message)).rejects.toBeInstanceOf(SendRetryableError);
    });
  });
}
