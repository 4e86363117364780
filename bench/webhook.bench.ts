// Webhook speed: a bare express handler vs the signed SMS webhook path, and unloaded end-to-end latency.
// Run with `npm run bench` (builds first). Starts a private redis-server (BENCH_REDIS_URL to use another).
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import twilio from 'twilio';
import { ensureRedis, freePort, startRedisServer } from '../src/runtime/local-redis.js';
import { ECHO_BOT } from '../test/support/bots.js';
import { ACCOUNT_SID, AUTH_TOKEN, NUMBERS, PUBLIC_URL } from '../test/support/config.js';
import { startHarness } from '../test/support/harness.js';
import { LogCollector } from '../test/support/logs.js';
import { REPO_ROOT } from '../test/support/processes.js';
import { newSid, TwilioWebhookClient } from '../test/support/webhooks.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

/** A Twilio-shaped inbound SMS form for one request: a fresh MessageSid, users spread over 10,000 numbers. */
function smsForm(n: number): Record<string, string> {
  const sid = newSid();
  return {
    ToCountry: 'US',
    SmsMessageSid: sid,
    NumMedia: '0',
    SmsSid: sid,
    SmsStatus: 'received',
    Body: `benchmark message ${n}`,
    To: NUMBERS.sms,
    NumSegments: '1',
    MessageSid: sid,
    AccountSid: ACCOUNT_SID,
    From: `+1212${String(5_000_000 + (n % 10_000)).padStart(7, '0')}`,
    ApiVersion: '2010-04-01',
  };
}

async function load(name: string, url: string, signed: boolean): Promise<Figures> {
  let n = 0;
  const run = (duration: number) =>
    autocannon({
      url,
      connections: CONNECTIONS,
      duration,
      method: 'POST',
      requests: [
        {
          method: 'POST',
          path: '/webhooks/sms',
          setupRequest: (request) => {
            const form = smsForm(n++);
            const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
            if (signed) {
              headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(
                AUTH_TOKEN,
                `${PUBLIC_URL}/webhooks/sms`,
                form,
              );
            }
            return { ...request, headers, body: new URLSearchParams(form).toString() };
          },
        },
      ],
    });
  await run(2); // warm-up: JIT, connection pools, Redis scripts loaded
  const result = await run(DURATION);
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

async function bareServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/bare-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs = new LogCollector('bare');
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => logs.write(chunk));
  const line = await logs.waitForMessage('listening');
  return {
    url: `http://127.0.0.1:${String(line.port)}`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  // A private redis-server by default: a shared one would slow others' tests and be slowed by them.
  const redis = process.env.BENCH_REDIS_URL
    ? await ensureRedis(process.env.BENCH_REDIS_URL)
    : await startRedisServer();
  try {
    await measure(redis.url);
  } finally {
    await redis.stop(); // a private redis-server would outlive this process otherwise
  }
}

async function measure(redisUrl: string): Promise<void> {
  process.env.REDIS_URL = redisUrl;
  const load1 = loadavg()[0]!;
  const figures: Figures[] = [];

  // (a) the baseline and (b) the webhook path, `switchboard serve` alone (workers would share the two
  // cores; the queue only fills). Alternated over ROUNDS so a burst of other work hits both alike.
  const bare = await bareServer();
  const h = await startHarness({ bots: ECHO_BOT, label: 'bench', gateway: false });
  try {
    const port = await freePort();
    const serve = await h.spawn('serve', 'serve', { PORT: String(port) });
    for (let round = 1; round <= ROUNDS; round++) {
      figures.push(await load(`bare express handler (form parse + TwiML), round ${round}`, bare.url, false));
      figures.push(
        await load(
          `signed SMS webhook (signature, accept script, kick), round ${round}`,
          `http://127.0.0.1:${port}`,
          true,
        ),
      );
    }
    await serve.stop();
  } finally {
    await bare.stop();
    // Deletes the undrained backlog of (b) with the rest of the prefix.
    await h.close();
  }

  // (c) unloaded end-to-end latency: webhook posted -> reply received by the fake Twilio API
  const e2e = await startHarness({ bots: ECHO_BOT, label: 'bench-e2e', gateway: false });
  const samples: number[] = [];
  try {
    const port = await freePort();
    await e2e.spawn('serve', 'serve', { PORT: String(port) });
    await e2e.spawn('worker', 'worker');
    const client = new TwilioWebhookClient(`http://127.0.0.1:${port}`);
    for (let i = 0; i < LATENCY_SAMPLES + 20; i++) {
      const user = `+1313${String(5_000_000 + i).padStart(7, '0')}`;
      const started = performance.now();
      const answer = await client.sms(user, `ping ${i}`);
      if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}: ${answer.body}`);
      await e2e.twilio.waitForMessages(user, 1, 10_000);
      if (i >= 20) samples.push(performance.now() - started); // the first 20 warm up
    }
  } finally {
    await e2e.close();
  }
  samples.sort((a, b) => a - b);

  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;
  process.stdout.write(
    `\nMachine: ${machine}; ${CONNECTIONS} connections, ${DURATION} s per run after a 2 s warm-up\n\n`,
  );
  process.stdout.write(
    '| path | requests/s | p50 ms | p99 ms | non-2xx | errors |\n|---|---|---|---|---|---|\n',
  );
  for (const f of figures) {
    process.stdout.write(`| ${f.name} | ${f.rps} | ${f.p50} | ${f.p99} | ${f.non2xx} | ${f.errors} |\n`);
  }
  const mean = (kind: string) => {
    const runs = figures.filter((f) => f.name.startsWith(kind));
    return runs.reduce((sum, f) => sum + f.rps, 0) / runs.length;
  };
  const bareRps = mean('bare');
  const webhookRps = mean('signed');
  process.stdout.write(
    `\nmean over ${ROUNDS} rounds: bare ${bareRps.toFixed(0)}/s, webhook ${webhookRps.toFixed(0)}/s: ` +
      `webhook / bare = ${((webhookRps / bareRps) * 100).toFixed(0)}% (target: at least 50%)\n`,
  );
  process.stdout.write(
    `\nEnd to end, unloaded (${samples.length} sequential SMS, webhook -> reply at the fake Twilio API): ` +
      `p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms, ` +
      `max ${samples[samples.length - 1]!.toFixed(1)} ms\n`,
  );
  process.stdout.write(
    `\nLoad average (1 min) before: ${load1.toFixed(2)}, after: ${loadavg()[0]!.toFixed(2)}: ` +
      'other work on the machine skews the figures; compare runs made on an idle machine.\n',
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
