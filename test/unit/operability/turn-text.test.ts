// The debug lines of a turn's text: what came in and what went out, secret answers and sign-in links as
// [secret]; nothing at all below debug.
import { describe, expect, it } from 'vitest';
import type { TurnResult } from '../../../src/core/dialog.js';
import type { InboundEvent } from '../../../src/core/events.js';
import { logTurnText } from '../../../src/queue/conversation-worker.js';
import { captureLogs } from '../../support/logs.js';

const event: InboundEvent = {
  id: 'SM1',
  kind: 'message',
  botId: 'bank',
  channel: 'sms',
  identity: 'sms:+12025550100',
  from: '+12025550100',
  to: '+15005550006',
  provider: { accountSid: 'AC1' },
  text: 'hunter2',
  turn: 0,
  receivedAt: 0,
};

const result = (carriedSecret: boolean): TurnResult => ({
  state: null,
  output: {
    replies: [
      { text: 'Sign in here: https://gw.example/s/abc123', secret: true },
      { text: 'Then come back.' },
    ],
    hangup: false,
    texts: [{ text: 'https://gw.example/s/abc123' }],
  },
  carriedSecret,
});

describe('logTurnText', () => {
  it('at debug: the inbound text, or [secret] for a secret answer; sign-in links as [secret]', () => {
    const { logger, logs } = captureLogs('debug');
    logTurnText(logger, 'c1', event, result(true));
    logTurnText(logger, 'c1', { ...event, id: 'SM2', text: 'balance' }, result(false));
    const where = { conversation: 'c1', bot: 'bank', channel: 'sms' };
    expect(logs.lines.map(({ timestamp: _t, service: _s, ...l }) => l)).toEqual([
      { level: 'debug', message: 'message in', ...where, event: 'SM1', text: '[secret]' },
      {
        level: 'debug',
        message: 'replies out',
        ...where,
        event: 'SM1',
        text: ['[secret]', 'Then come back.', '[secret]'],
      },
      { level: 'debug', message: 'message in', ...where, event: 'SM2', text: 'balance' },
      {
        level: 'debug',
        message: 'replies out',
        ...where,
        event: 'SM2',
        text: ['[secret]', 'Then come back.', '[secret]'],
      },
    ]);
    expect(JSON.stringify(logs.lines)).not.toMatch(/hunter2|abc123/);
  });

  it('below debug: no line at all', () => {
    const { logger, logs } = captureLogs('info');
    logTurnText(logger, 'c1', event, result(false));
    expect(logs.lines).toEqual([]);
  });
});
