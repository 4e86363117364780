// A collector that refuses or is away: the spans are lost, the gateway is not — a warn line, and a stop that ends.
import { createServer as createTcpServer } from 'node:net';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../../../src/env.js';
import { inSpan, startTracing } from '../../../src/tracing.js';
import { captureLogs } from '../../support/logs.js';
import { listenOnLoopback } from '../../fakes/loopback.js';

/** A loopback port nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('tracing with a collector that is no good', () => {
  it('a collector that refuses the spans: one warn line with the reason', async () => {
    const refusing = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(400, { 'content-type': 'text/plain' }).end('no'));
    });
    const port = await listenOnLoopback(refusing);
    const { logger, logs } = captureLogs('info', 'tracing');
    const tracing = await startTracing(
      readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '10' }),
      logger,
    );
    const problem = logs.waitForMessage('tracing problem');
    expect(await inSpan('turn', {}, async () => 'done')).toBe('done');
    expect(await problem).toEqual(
      expect.objectContaining({ level: 'warn', reason: expect.stringContaining('400') }),
    );
    await tracing.shutdown();
    refusing.closeAllConnections();
    await new Promise<void>((resolve) => refusing.close(() => resolve()));
  });

  it('a collector that is away: the stop gives up on the spans after its bound', async () => {
    const port = await closedPort();
    const { logger, logs } = captureLogs('info', 'tracing');
    const tracing = await startTracing(
      readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '600000' }),
      logger,
    );
    expect(await inSpan('turn', {}, async () => 'done')).toBe('done');
    const started = Date.now();
    await tracing.shutdown(200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(logs.find('tracing stopped with spans unsent')).toEqual([
      expect.objectContaining({ level: 'warn', reason: 'the collector did not take them within 200 ms' }),
    ]);
  });
});
