// LOG_FORMAT: pretty lines for people (the default on a terminal), JSON for collectors (the default elsewhere),
// both through winston's formats and the same scrubbing; a wrong value is one clear sentence.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EnvError, readEnv } from '../../../src/env.js';
import { createLogger, defaultLogFormat, type LogFormat } from '../../../src/log.js';

/** A logger writing into a string, on a stream that is (or is not) a terminal. */
function capture(
  format?: LogFormat,
  tty = false,
): { logger: ReturnType<typeof createLogger>; out: () => string } {
  let out = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out += chunk.toString('utf8');
        done();
      },
    }),
    tty ? { isTTY: true } : {},
  );
  return { logger: createLogger({ level: 'info', stream, ...(format ? { format } : {}) }), out: () => out };
}

describe('LOG_FORMAT', () => {
  it('pretty: time, level, message, then key=value (quoted when not one word), secrets still scrubbed', () => {
    const { logger, out } = capture('pretty');
    logger.warn('protected API failed', {
      bot: 'ops',
      step: 1,
      host: 'api.example:8443',
      reason: 'no answer',
      password: 'hunter2',
    });
    expect(out()).toMatch(
      /^\d{2}:\d{2}:\d{2}\.\d{3} warn {2}protected API failed bot=ops step=1 host=api\.example:8443 reason="no answer" password=\[redacted\]\n$/,
    );
  });

  it('pretty on a terminal colours the level with winston colorize', () => {
    const { logger, out } = capture('pretty', true);
    logger.info('switchboard started', { mode: 'sandbox' });
    const ESC = String.fromCharCode(27);
    expect(out().slice(0, 13)).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} $/);
    expect(out().slice(13)).toBe(`${ESC}[32minfo${ESC}[39m  switchboard started mode=sandbox\n`);
  });

  it('json: one object a line, with its timestamp and service', () => {
    const { logger, out } = capture('json', true);
    logger.warn('user opted out', { bot: 'ops', channel: 'sms' });
    const line = JSON.parse(out()) as Record<string, unknown>;
    expect(Object.keys(line).sort()).toEqual(['bot', 'channel', 'level', 'message', 'service', 'timestamp']);
    expect(line).toMatchObject({ level: 'warn', message: 'user opted out', service: 'switchboard' });
  });

  it('defaults to pretty on a terminal and JSON anywhere else', () => {
    expect(defaultLogFormat({ isTTY: true })).toBe('pretty');
    expect(defaultLogFormat({})).toBe('json');
    const { logger, out } = capture();
    logger.info('hello');
    expect(JSON.parse(out())).toMatchObject({ message: 'hello' });
  });

  it('is checked with the environment: a wrong value names the variable and the valid ones', () => {
    expect(readEnv({ LOG_FORMAT: 'pretty' }).LOG_FORMAT).toBe('pretty');
    expect(readEnv({}).LOG_FORMAT).toBeUndefined();
    expect(() => readEnv({ LOG_FORMAT: 'yaml' })).toThrow(
      new EnvError(
        'Invalid environment:\n  LOG_FORMAT: must be pretty (readable lines, for a terminal) or json (one JSON object a line, for collectors) (got "yaml")',
      ),
    );
  });
});

describe('METRICS_TOKEN, METRICS_PORT and METRICS_HOST', () => {
  it('read from the environment, the metrics port on loopback unless asked', () => {
    const env = readEnv({ METRICS_TOKEN: 'a'.repeat(16), METRICS_PORT: '9464' });
    expect([env.METRICS_TOKEN, env.METRICS_PORT, env.METRICS_HOST]).toEqual([
      'a'.repeat(16),
      9464,
      '127.0.0.1',
    ]);
    expect(() => readEnv({ METRICS_TOKEN: 'short' })).toThrow(
      'METRICS_TOKEN: must be at least 16 characters (got 5 characters)',
    );
    expect(() => readEnv({ METRICS_PORT: 'ninety' })).toThrow(
      'METRICS_PORT: must be a whole number (got "ninety")',
    );
  });
});
