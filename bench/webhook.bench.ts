// Webhook speed: a bare express handler vs the signed SMS webhook path, and unloaded end-to-end latency;
// with --commands, the Redis commands one SMS turn and one voice call cost instead.
// Run with `npm run bench` or `npm run bench -- --commands` (builds first). Starts a private redis-server
// (BENCH_REDIS_URL to use another; --commands always uses its own, since it counts every command Redis runs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import twilio from 'twilio';
import { ensureRedis, freePort, startRedisServer } from '../src/main/local-redis.js';
import { ECHO_BOT } from '../test/support/bots.js';
import { ACCOUNT_SID, AUTH_TOKEN, botYaml, NUMBERS, PUBLIC_URL } from '../test/support/config.js';
import { startHarness, type Harness } from '../test/support/harness.js';
import { LogCollector } from '../test/support/logs.js';
import { REPO_ROOT, spawnSwitchboard } from '../test/support/processes.js';
import { twimlAttribute } from '../test/support/twiml.js';
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
  /** CPU time the server process spent per 1,000 requests (Linux only): less swayed by other load than requests/s. */
  cpuPer1000: number | undefined;
}

/** CPU time (user + system, ms) a process has used, from /proc (100 ticks a second); undefined elsewhere. */
function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
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

async function load(name: string, url: string, signed: boolean, pid: number): Promise<Figures> {
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
  const cpuBefore = cpuMs(pid);
  const result = await run(DURATION);
  const cpuAfter = cpuMs(pid);
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
    cpuPer1000:
      cpuBefore === undefined || cpuAfter === undefined
        ? undefined
        : ((cpuAfter - cpuBefore) / result.requests.total) * 1000,
  };
}

async function bareServer(): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/bare-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs = new LogCollector('bare');
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => logs.write(chunk));
  const line = await logs.waitForMessage('listening');
  return {
    url: `http://127.0.0.1:${String(line.port)}`,
    pid: child.pid!,
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
  const counting = process.argv.includes('--commands');
  // A private redis-server by default: a shared one would slow others' tests and be slowed by them.
  const redis =
    process.env.BENCH_REDIS_URL && !counting
      ? await ensureRedis(process.env.BENCH_REDIS_URL)
      : await startRedisServer();
  try {
    if (counting) await countCommands(redis.url);
    else await measure(redis.url);
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
      figures.push(
        await load(`bare express handler (form parse + TwiML), round ${round}`, bare.url, false, bare.pid),
      );
      figures.push(
        await load(
          `signed SMS webhook (signature, accept script, kick), round ${round}`,
          `http://127.0.0.1:${port}`,
          true,
          serve.pid,
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
    '| path | requests/s | p50 ms | p99 ms | non-2xx | errors | server CPU ms per 1,000 requests |\n' +
      '|---|---|---|---|---|---|---|\n',
  );
  for (const f of figures) {
    process.stdout.write(
      `| ${f.name} | ${f.rps} | ${f.p50} | ${f.p99} | ${f.non2xx} | ${f.errors} | ` +
        `${f.cpuPer1000 === undefined ? 'n/a' : f.cpuPer1000.toFixed(0)} |\n`,
    );
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

const SMS_CONVERSATIONS = Number(process.env.BENCH_SMS ?? 200);
const CALLS = Number(process.env.BENCH_CALLS ?? 50);
const WARM_UP = 5;

/** A keypad line: a call's first turn asks for four digits, the gather's turn answers and asks again. */
const PHONE_BOT = botYaml(
  'phone',
  `    voice: { replyWaitMs: 5000, gatherTimeout: 5 }
    flows:
      main:
        - ask: { prompt: "Enter your four digit code.", save: code, keypad: true, digits: 4 }
        - ask: { prompt: "You entered {{code}}. Press 1 to finish.", save: choice, keypad: true, digits: 1 }`,
  { voice: NUMBERS.voice },
);

/** A key name with its prefix, ids, numbers and hashes replaced, so one kind of key reads as one line. */
function keyShape(key: string, prefix: string): string {
  return key
    .replaceAll(prefix, '{prefix}')
    .replace(/[0-9a-f]{16,}|[A-Za-z0-9_-]{22,}/g, '*')
    .replace(/\+?\d+/g, '*');
}

/** Commands Redis ran (calls per command, a script's inner commands included), from INFO commandstats. */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const stats = new Map<string, number>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    // Our own counting is not the gateway's work.
    if (match && !['info', 'config|resetstat', 'monitor'].includes(match[1]!)) {
      stats.set(match[1]!, Number(match[2]));
    }
  }
  return stats;
}

interface Counted {
  total: Map<string, number>;
  /** Of those, run by a Lua script (MONITOR's source "lua"), so no round trip of their own. */
  inScripts: Map<string, number>;
  /** The commands clients sent, by command and the shape of the first key (ids and hashes as `*`). */
  sent: Map<string, number>;
  /** The commands run inside each of those (a script's), by the same name. */
  inside: Map<string, number>;
  /** The same window's length with nothing sent: the workers' idle polling to subtract by eye. */
  idle: Map<string, number>;
}

/**
 * Counts what Redis runs while `once` runs `times` times against `switchboard start` (web and workers in
 * one process), from a reset of the server's statistics to a second after the last answer; then counts
 * an idle window as long, so what the gateway does when nothing arrives can be told apart.
 */
async function countWhile(
  redisUrl: string,
  bots: string,
  times: number,
  once: (client: TwilioWebhookClient, h: Harness, i: number) => Promise<void>,
): Promise<Counted> {
  const h = await startHarness({ bots, label: 'bench-commands', gateway: false, redisUrl });
  const admin = new Redis(redisUrl);
  const monitor = await admin.monitor(); // a connection of its own
  const inScripts = new Map<string, number>();
  const sent = new Map<string, number>();
  const inside = new Map<string, number>();
  const add = (m: Map<string, number>, name: string) => m.set(name, (m.get(name) ?? 0) + 1);
  let watching = false;
  let running = ''; // MONITOR shows a script's call first, then the commands it runs
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!watching) return;
    const name = args[0]!.toLowerCase();
    if (source === 'lua') {
      add(inScripts, name);
      add(inside, running);
      return;
    }
    if (['info', 'config'].includes(name)) return;
    // A script is known by its first key (BullMQ's and ours alike): EVALSHA sha numkeys key…
    const key = (name === 'evalsha' || name === 'eval' ? args[3] : args[1]) ?? '';
    running = `${name === 'eval' ? 'evalsha' : name} ${keyShape(key, h.prefix)}`;
    add(sent, running);
  });
  try {
    const port = await freePort();
    const start = await spawnSwitchboard('start', { ...h.processEnv, PORT: String(port) }, 'start');
    try {
      const client = new TwilioWebhookClient(`http://127.0.0.1:${port}`);
      // Warm-up, not counted: each connection's first use of a script (EVALSHA refused, then EVAL).
      for (let i = 0; i < WARM_UP; i++) await once(client, h, times + i);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the warm-up's last pops land
      await admin.config('RESETSTAT');
      watching = true;
      const began = performance.now();
      for (let i = 0; i < times; i++) await once(client, h, i);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the last pops and job finishes land
      const total = await commandStats(admin);
      watching = false;
      const elapsed = performance.now() - began;
      await admin.config('RESETSTAT');
      await new Promise((resolve) => setTimeout(resolve, elapsed));
      const idle = await commandStats(admin);
      return { total, inScripts, sent, inside, idle };
    } finally {
      await start.stop('SIGTERM');
    }
  } finally {
    monitor.disconnect();
    admin.disconnect();
    await h.close();
  }
}

function commandTable(title: string, counted: Counted, turns: number): string {
  const names = [...new Set([...counted.total.keys(), ...counted.idle.keys()])].sort();
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const per = (n: number) => (n / turns).toFixed(2);
  const rows = names.map(
    (name) =>
      `| ${name} | ${per(counted.total.get(name) ?? 0)} | ${per(counted.inScripts.get(name) ?? 0)} | ` +
      `${counted.idle.get(name) ?? 0} |`,
  );
  return [
    `\n${title}\n`,
    '| command | calls per turn | of which inside scripts | idle window, calls in all |',
    '|---|---|---|---|',
    ...rows,
    `| **all** | **${per(sum(counted.total))}** | ${per(sum(counted.inScripts))} | ${sum(counted.idle)} |`,
    `\nsent by clients (a round trip each at most, fewer when pipelined): ` +
      `${per(sum(counted.total) - sum(counted.inScripts))} per turn\n`,
    '| sent by clients: command and first key | per turn | commands it ran inside, per turn |',
    '|---|---|---|',
    ...[...counted.sent.entries()]
      .filter(([, n]) => n / turns >= 0.05) // rarer ones are start-up and polling noise
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([what, n]) => `| ${what} | ${per(n)} | ${per(counted.inside.get(what) ?? 0)} |`),
    '',
  ].join('\n');
}

async function countCommands(redisUrl: string): Promise<void> {
  // One message per conversation, one after another: each turn is a whole drain, as at light load.
  const sms = await countWhile(redisUrl, ECHO_BOT, SMS_CONVERSATIONS, async (client, h, i) => {
    const user = `+1414${String(5_000_000 + i).padStart(7, '0')}`;
    const answer = await client.sms(user, `count ${i}`);
    if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}: ${answer.body}`);
    await h.twilio.waitForMessages(user, 1, 10_000);
  });
  // A call's two turns: the incoming call (first prompt) and one gather (its digits answered).
  const voice = await countWhile(redisUrl, PHONE_BOT, CALLS, async (client, _h, i) => {
    const caller = `+1515${String(5_000_000 + i).padStart(7, '0')}`;
    const call = newSid('CA');
    const first = await client.call(call, caller);
    const action = twimlAttribute(first.body, 'Gather', 'action');
    if (first.status !== 200 || !action) throw new Error(`call answered ${first.status}: ${first.body}`);
    const second = await client.gather(action, call, caller, '1234');
    if (second.status !== 200 || !second.body.includes('You entered 1234.')) {
      throw new Error(`gather answered ${second.status}: ${second.body}`);
    }
  });
  process.stdout.write(
    `\nMachine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; ` +
      `a private redis-server; ${WARM_UP} uncounted warm-up runs each\n`,
  );
  process.stdout.write(
    commandTable(
      `SMS: ${SMS_CONVERSATIONS} conversations of one message (a turn = one message)`,
      sms,
      SMS_CONVERSATIONS,
    ),
  );
  process.stdout.write(
    commandTable(
      `Voice: ${CALLS} calls of start + one gather (a turn = one webhook answered)`,
      voice,
      2 * CALLS,
    ),
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
