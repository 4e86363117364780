// The logger removes the credentials of every URL it is given, in the message and in every field.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, withoutCredentials } from '../../src/log.js';

describe('withoutCredentials', () => {
  it('replaces user and password of every URL, and leaves the rest alone', () => {
    expect(withoutCredentials('redis://:s3cret@redis.internal:6379/2')).toBe(
      'redis://***@redis.internal:6379/2',
    );
    expect(withoutCredentials('from rediss://app:s3cret@a:6380 to https://u@b/x?mail=c@d.example')).toBe(
      'from rediss://***@a:6380 to https://***@b/x?mail=c@d.example',
    );
    expect(withoutCredentials('https://api.example/path@v2')).toBe('https://api.example/path@v2');
    expect(withoutCredentials('no url, a@b')).toBe('no url, a@b');
  });
});

describe('createLogger', () => {
  it('writes no URL credentials, whatever field or message carries them', () => {
    let out = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        out += chunk.toString('utf8');
        done();
      },
    });
    const logger = createLogger({ level: 'info', stream });
    logger.warn('cannot reach redis://:s3cret@redis.internal:6379', {
      redis: 'redis://app:s3cret@redis.internal:6379',
      nested: { urls: ['https://u:s3cret@hooks.example/in'] },
      reason: new Error('connect to https://u:s3cret@hooks.example failed'),
    });
    const line = JSON.parse(out) as Record<string, unknown>;
    expect(out).not.toContain('s3cret');
    expect(line).toMatchObject({
      message: 'cannot reach redis://***@redis.internal:6379',
      redis: 'redis://***@redis.internal:6379',
      nested: { urls: ['https://***@hooks.example/in'] },
      reason: { name: 'Error', message: 'connect to https://***@hooks.example failed' },
    });
  });
});
