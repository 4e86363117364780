// The voice first turn alone (signed webhook → Gather TwiML), side by side: the hand-written baseline and
// `switchboard start`, in turn (A B A B), at 100 and at 20 calls/s, each run with its own redis-server.
// BENCH_OTHER_CLI=path/to/cli.js adds a third pipeline, another build of Switchboard (an A/B of a change).
// `npm run bench:voice` (builds first); BENCH_ROUNDS, BENCH_VOICE_SECONDS to taste.
import { benchSwitchboardEnv } from './switchboard-env.js';
import { request, Agent } from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedisServer } from '../src/main/local-redis.js';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  botYaml,
  NUMBERS,
  PUBLIC_URL,
  testConfigYaml,
  writeConfigFile,
} from '../test/support/config.js';
import { LogCollector } from '../test/support/logs.js';
import { REPO_ROOT } from '../test/support/processes.js';
import { newSid, TwilioWebhookClient } from '../test/support/webhooks.js';
import { startFastTwilioApi } from './fast-twilio-api.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SECONDS = Number(process.env.BENCH_VOICE_SECONDS ?? 10);
const RATES = [100, 20] as const;
const OTHER = process.env.BENCH_OTHER_CLI;

const BOT = botYaml(
  'phone',
  `    voice: { replyWaitMs: 5000, gatherTimeout: 5 }
    flows:
      main:
        - ask: { prompt: "Enter your four digit code.", save: code, keypad: true, digits: 4 }
        - ask: { prompt: "You entered {{code}}. Press 1 to finish.", save: choice, keypad: true, digits: 1 }`,
  { voice: NUMBERS.voice },
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function waitStarted(child: ChildProcess, name: string, message: string): Promise<void> {
  const logs = new LogCollector(name);
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => logs.write(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(chunk));
  await logs.waitForMessage(message, () => true, 20_000);
}

async function start(kind: string, cli: string | undefined, twilioApiUrl: string) {
  const redis = await startRedisServer();
  const port = await freePort();
  let child: ChildProcess;
  let file: { remove(): Promise<void> } | undefined;
  if (!cli) {
    child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/baseline-pipeline.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: redis.url,
        TWILIO_API_URL: twilioApiUrl,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        PUBLIC_URL,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitStarted(child, kind, 'listening');
  } else {
    const config = await writeConfigFile(testConfigYaml({ bots: BOT, twilioApiUrl }));
    file = config;
    child = spawn(
      process.execPath,
      [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), cli, 'start'],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          ...benchSwitchboardEnv(redis.url, config.path, port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    await waitStarted(child, kind, 'switchboard started');
  }
  return {
    port,
    async stop() {
      await new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(undefined);
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
      await file?.remove();
      await redis.stop();
    },
  };
}

function post(port: number, agent: Agent, path: string, body: string, signature: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-twilio-signature': signature,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function openLoop(rate: number, total: number, send: () => Promise<number>): Promise<number[]> {
  const pending: Promise<number>[] = [];
  const began = performance.now();
  while (pending.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - began) * rate) / 1000) + 1);
    while (pending.length < due) pending.push(send());
    await sleep(1);
  }
  return Promise.all(pending);
}

let caller = 0;
async function measure(kind: string, cli: string | undefined, apiUrl: string) {
  const target = await start(kind, cli, apiUrl);
  const signer = new TwilioWebhookClient(`http://127.0.0.1:${target.port}/`);
  const agent = new Agent({ keepAlive: true });
  let failures = 0;
  const call = async () => {
    const params = {
      ...signer.callParams(newSid('CA'), `+1555${String(caller++).padStart(7, '0')}`),
      CallerCountry: 'US',
    };
    const body = new URLSearchParams(params).toString();
    const signature = signer.sign('/webhooks/voice', params);
    const sent = performance.now();
    const answer = await post(target.port, agent, '/webhooks/voice', body, signature);
    const elapsed = performance.now() - sent;
    if (answer.status !== 200 || !answer.body.includes('<Gather')) failures++;
    return elapsed;
  };
  try {
    await openLoop(100, Number(process.env.BENCH_WARM_UP ?? 1000), call); // warm (JIT) as after other load
    const figures = new Map<number, number[]>();
    for (const rate of RATES) {
      await sleep(500);
      figures.set(
        rate,
        (await openLoop(rate, rate * SECONDS, call)).sort((a, b) => a - b),
      );
    }
    return { figures, failures };
  } finally {
    agent.destroy();
    await target.stop();
  }
}

const fake = await startFastTwilioApi(ACCOUNT_SID, AUTH_TOKEN);
const kinds: [string, string | undefined][] = [
  ['baseline', undefined],
  ...(OTHER ? [['other', OTHER] as [string, string]] : []),
  ['switchboard', join(REPO_ROOT, 'dist/src/main/cli.js')],
];
const all = new Map<string, Map<number, number[]>>();
const before = loadavg()[0]!;
for (let round = 1; round <= ROUNDS; round++) {
  for (const [kind, cli] of kinds) {
    const { figures, failures } = await measure(kind, cli, fake.url);
    const row = [...figures].map(
      ([rate, t]) => `${rate}/s ${percentile(t, 50).toFixed(2)} / ${percentile(t, 99).toFixed(2)}`,
    );
    process.stdout.write(`round ${round} ${kind}: ${row.join(', ')} ms (p50 / p99), failures ${failures}\n`);
    for (const [rate, t] of figures) {
      const byKind = all.get(kind) ?? new Map<number, number[]>();
      all.set(kind, byKind);
      byKind.set(rate, [...(byKind.get(rate) ?? []), ...t]);
    }
  }
}
process.stdout.write(`load average ${before.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}\n`);
for (const [kind, byKind] of all) {
  for (const [rate, t] of byKind) {
    t.sort((a, b) => a - b);
    process.stdout.write(
      `${kind} ${rate}/s: p50 ${percentile(t, 50).toFixed(2)} ms, p99 ${percentile(t, 99).toFixed(2)} ms\n`,
    );
  }
}
await fake.close();
process.exit(0);
