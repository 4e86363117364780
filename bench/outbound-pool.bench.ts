// The second call to an operator host, with and without a pooled connection, against a TLS server on loopback.
// Run with `npm run build && node dist/bench/outbound-pool.bench.js` from the repository root. BENCH_PAIRS
// (default 400) sets the number of measured pairs per variant. Each pair is a first call (opening or reusing
// the connection) and a timed second call; the variants alternate pair by pair so drift in the machine's load
// hits both alike. "Without pooling" closes the client's pools between the two calls, so the second opens a
// fresh TCP connection and does a full TLS handshake, as every call did before pooling. Client and server
// share one process.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { createOutboundClient } from '../src/net/outbound.js';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 400);
const WARM_UP = 50;
const fixture = (name: string) => readFileSync(resolvePath('test/fixtures/tls', name));
const cert = fixture('loopback.cert.pem');
const key = fixture('loopback.key.pem');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const f = (ms: number) => ms.toFixed(2);
  return `p50 ${f(percentile(sorted, 50))} ms, p90 ${f(percentile(sorted, 90))} ms, p99 ${f(percentile(sorted, 99))} ms`;
}

async function main(): Promise<void> {
  let handshakes = 0;
  const server = createServer({ cert, key }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ balance: 42.5, currency: 'EUR' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.on('secureConnection', () => (handshakes += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `https://127.0.0.1:${address.port}/v1/balance`;

  const client = createOutboundClient({ ca: cert });
  const call = () => client.send({ method: 'GET', url, timeoutMs: 5000, allowHosts: ['127.0.0.1'] });
  const load = loadavg()[0]!.toFixed(1);

  const pooled: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < WARM_UP + PAIRS; i++) {
    for (const variant of i % 2 === 0 ? ['pooled', 'fresh'] : ['fresh', 'pooled']) {
      await call();
      if (variant === 'fresh') client.close();
      const start = performance.now();
      await call();
      const ms = performance.now() - start;
      if (i >= WARM_UP) (variant === 'pooled' ? pooled : fresh).push(ms);
      client.close();
    }
  }
  const pooledMedian = percentile(
    [...pooled].sort((a, b) => a - b),
    50,
  );
  const freshMedian = percentile(
    [...fresh].sort((a, b) => a - b),
    50,
  );
  console.log(`second call to the same host over TLS on loopback, ${PAIRS} pairs each, alternated`);
  console.log(`  without pooling (new TCP + TLS handshake): ${summary(fresh)}`);
  console.log(`  with pooling (reused connection):          ${summary(pooled)}`);
  console.log(`  median ratio: ${(freshMedian / pooledMedian).toFixed(1)}x faster pooled`);
  console.log(`  TLS handshakes: ${handshakes} for ${(WARM_UP + PAIRS) * 4} calls`);
  console.log(
    `  machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`,
  );
  console.log(`  load average before / after: ${load} / ${loadavg()[0]!.toFixed(1)}`);
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
