// Switchboard against the pipeline one would write by hand, side by side in one run: the baseline
// (bench/baseline-pipeline.ts) and `switchboard start` (web and workers in one process) in turn, A B A B,
// so drift in the machine's load hits both alike. Each run gets a private redis-server; both pipelines
// send their replies to the same lean fake Twilio API on loopback (bench/fast-twilio-api.ts), which
// records when each reply arrives. Prints end-to-end replies/s, reply latency at a steady rate, the
// voice first turn's latency, Redis memory per conversation and Redis commands per SMS turn, each with
// the ratio Switchboard / baseline.
//
// `npm run bench` (builds first); BENCH_QUICK=1 for a run of under a minute that only proves the harness.
// BENCH_WORKERS=N runs Switchboard as one `serve` and N `worker` processes; BENCH_PROFILE=<dir> profiles it.
// `npm run bench -- --webhook` (or `-- --commands`) runs the older webhook-only bench (bench/webhook.bench.ts).
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
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
import { REPO_ROOT, spawnSwitchboard } from '../test/support/processes.js';
import { newSid, TwilioWebhookClient } from '../test/support/webhooks.js';
import { startFastTwilioApi, type FastTwilioApi } from './fast-twilio-api.js';
import { benchSwitchboardEnv } from './switchboard-env.js';

const QUICK = process.env.BENCH_QUICK === '1';
/** A knob: its environment variable, else the full run's value, else (BENCH_QUICK=1) the quick one's. */
const knob = (name: string, full: number, quick: number) =>
  Number(process.env[name] ?? (QUICK ? quick : full));
const ROUNDS = knob('BENCH_ROUNDS', 2, 1);
const CONVERSATIONS = knob('BENCH_CONVERSATIONS', 4000, 1000);
const CONNECTIONS = knob('BENCH_CONNECTIONS', 50, 50);
const WARM_UP = knob('BENCH_WARM_UP', 300, 100);
const LATENCY_RATE = knob('BENCH_LATENCY_RATE', 300, 300);
const LATENCY_SECONDS = knob('BENCH_LATENCY_SECONDS', 10, 3);
const VOICE_SECONDS = knob('BENCH_VOICE_SECONDS', 10, 3);
const COMMAND_TURNS = knob('BENCH_COMMAND_TURNS', 200, 50);
const VOICE_RATES = [100, 20] as const;
const WORKERS = Number(process.env.BENCH_WORKERS ?? 0);

type Kind = 'baseline' | 'switchboard';

/** An SMS echo bot (one reply per message) and a keypad line whose first turn is a Gather. */
const BOTS = [
  botYaml(
    'echo',
    `    rateLimit: { messagesPerMinute: 100000 }
    flows:
      main:
        - ask: { prompt: "got {{input}}", save: last }
        - goto: main`,
    { sms: NUMBERS.sms },
  ),
  botYaml(
    'phone',
    `    voice: { replyWaitMs: 5000, gatherTimeout: 5 }
    flows:
      main:
        - ask: { prompt: "Enter your four digit code.", save: code, keypad: true, digits: 4 }
        - ask: { prompt: "You entered {{code}}. Press 1 to finish.", save: choice, keypad: true, digits: 1 }`,
    { voice: NUMBERS.voice },
  ),
].join('\n');

/** CPU time (user + system, ms) a process has used, from /proc (100 ticks a second); NaN elsewhere. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** CPU of all of a pipeline's processes (ms). */
const processCpu = (target: Target) => target.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);

/** Write syscalls (write, writev: sockets, pipes, the log) a process has made, from /proc; NaN elsewhere. */
function writeSyscalls(pid: number): number {
  try {
    return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
  } catch {
    return NaN;
  }
}

/** Write syscalls of all of a pipeline's processes. */
const processWrites = (target: Target) => target.pids.reduce((sum, pid) => sum + writeSyscalls(pid), 0);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One pipeline under test, its Redis and what the driver needs to reach it. */
interface Target {
  kind: Kind;
  url: URL;
  /** The pipeline's processes (one, unless BENCH_WORKERS splits Switchboard into serve and workers). */
  pids: number[];
  redisPid: number;
  admin: Redis;
  redisUrl: string;
  /** Error and warning lines the pipeline logged (Switchboard only): why a webhook failed, if one did. */
  problems(): string[];
  stop(): Promise<void>;
}

async function startTarget(kind: Kind, fake: FastTwilioApi): Promise<Target> {
  const redis = await startRedisServer();
  const admin = new Redis(redis.url);
  const port = await freePort();
  let pids: number[];
  let problems = (): string[] => [];
  let stopProcess: () => Promise<unknown>;
  if (kind === 'baseline') {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/baseline-pipeline.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: redis.url,
        TWILIO_API_URL: fake.url,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        PUBLIC_URL,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs = new LogCollector('baseline');
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => logs.write(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(chunk));
    await logs.waitForMessage('listening', () => true, 20_000);
    pids = [child.pid!];
    stopProcess = () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(undefined);
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
  } else {
    // One long code answers every conversation here: paced at Twilio's 1/s it would be the bottleneck, so the
    // benchmark's number is given the pacer's highest rate (a deployment this busy uses short codes or many numbers).
    const pacing = `pacing:\n  numbers: { "${NUMBERS.sms}": 1000 }\n`;
    const file = await writeConfigFile(pacing + testConfigYaml({ bots: BOTS, twilioApiUrl: fake.url }));
    const env = benchSwitchboardEnv(redis.url, file.path, port);
    // BENCH_PROFILE=<dir>: a V8 CPU profile of each Switchboard process, written when it stops.
    const nodeArgs = process.env.BENCH_PROFILE
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
      : [];
    // BENCH_WORKERS=N: one `serve` and N `worker` processes instead of one `start` (how it scales out).
    const roles: ('start' | 'serve' | 'worker')[] =
      WORKERS > 0 ? ['serve', ...Array.from({ length: WORKERS }, () => 'worker' as const)] : ['start'];
    const started = await Promise.all(
      roles.map((role, i) => spawnSwitchboard(role, env, `switchboard-${role}-${i}`, [], nodeArgs)),
    );
    pids = started.map((p) => p.pid);
    problems = () =>
      started.flatMap((p) =>
        p.logs.lines.filter((l) => l.level === 'error' || l.level === 'warn').map((l) => JSON.stringify(l)),
      );
    stopProcess = async () => {
      await Promise.all(started.map((p) => p.stop('SIGTERM')));
      await file.remove();
    };
  }
  return {
    kind,
    url: new URL(`http://127.0.0.1:${port}`),
    pids,
    redisPid: redis.process.pid!,
    admin,
    redisUrl: redis.url,
    problems: () => problems(),
    async stop() {
      await stopProcess();
      admin.disconnect();
      await redis.stop();
    },
  };
}

interface Signed {
  path: string;
  body: string;
  signature: string;
}

/** Twilio's form for a request, signed over the public URL as Twilio signs it. */
function signed(signer: TwilioWebhookClient, path: string, params: Record<string, string>): Signed {
  return { path, body: new URLSearchParams(params).toString(), signature: signer.sign(path, params) };
}

/** Posts one webhook; resolves with the status and the whole answer. */
function post(target: Target, agent: Agent, req: Signed): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: target.url.hostname,
        port: target.url.port,
        path: req.path,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(req.body),
          'x-twilio-signature': req.signature,
          'user-agent': 'TwilioProxy/1.1',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/** Sends `send(i)` for i = 0 … total-1 at `rate` a second, whatever the answers' speed (open loop). */
async function openLoop<T>(rate: number, total: number, send: (i: number) => Promise<T>): Promise<T[]> {
  const pending: Promise<T>[] = [];
  const began = performance.now();
  while (pending.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - began) * rate) / 1000) + 1);
    while (pending.length < due) pending.push(send(pending.length));
    await sleep(1);
  }
  return Promise.all(pending);
}

/** A fresh sender for every message of a run: each one a new conversation. */
class Senders {
  private n = 0;
  next(): string {
    return `+1555${String(this.n++).padStart(7, '0')}`;
  }
}

interface RunFigures {
  kind: Kind;
  round: number;
  repliesPerSecond: number;
  /** CPU of the pipeline's process and its redis-server per reply, under the end-to-end load. */
  cpuPerReply: number;
  /** The part of cpuPerReply spent by the pipeline's redis-server. */
  redisCpuPerReply: number;
  /** Write syscalls of the pipeline's processes per reply, under the end-to-end load. */
  writesPerReply: number;
  /** Redis commands per reply under the end-to-end load (`INFO commandstats`; scripts' inner commands included). */
  loadCommandsPerReply: number;
  /** Of those, script calls (each one client call). */
  loadScriptsPerReply: number;
  latencies: number[];
  voice: Map<number, number[]>;
  /** Webhooks not answered 200 (or a voice answer without a Gather): must be 0 for the figures to stand. */
  failures: number;
  /** Replies beyond one per message in the end-to-end run: must be 0 (a doubled reply). */
  extraReplies: number;
  memory?: { bytes: number; keys: number; conversations: number; byShape: Map<string, KeyShare> };
}

async function smsTurn(target: Target, agent: Agent, fake: FastTwilioApi, req: Signed, from: string) {
  const sent = performance.now();
  const answer = await post(target, agent, req);
  if (answer.status !== 200)
    throw new Error(`${target.kind}: SMS webhook answered ${answer.status}: ${answer.body}`);
  return (await fake.replyTo(from, 60_000)) - sent;
}

/** `count` new conversations over CONNECTIONS connections, each request sent when the last one's answer came. */
async function closedLoop(target: Target, fake: FastTwilioApi, senders: Senders, count: number) {
  const signer = new TwilioWebhookClient(target.url.href);
  const requests = Array.from({ length: count }, () =>
    signed(signer, '/webhooks/sms', signer.smsParams(senders.next(), 'hi')),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  fake.reset();
  let next = 0;
  let failures = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < requests.length) {
        const answer = await post(target, agent, requests[next++]!);
        if (answer.status !== 200 && ++failures <= 3)
          process.stderr.write(`${target.kind}: SMS webhook answered ${answer.status}: ${answer.body}\n`);
      }
    }),
  );
  await fake.waitForCount(count - failures);
  agent.destroy();
  return { seconds: (fake.lastAt - began) / 1000, failures };
}

async function measureRun(kind: Kind, round: number, fake: FastTwilioApi): Promise<RunFigures> {
  const target = await startTarget(kind, fake);
  const senders = new Senders();
  const figures: RunFigures = {
    kind,
    round,
    repliesPerSecond: 0,
    cpuPerReply: 0,
    redisCpuPerReply: 0,
    writesPerReply: 0,
    loadCommandsPerReply: 0,
    loadScriptsPerReply: 0,
    latencies: [],
    voice: new Map(),
    failures: 0,
    extraReplies: 0,
  };
  try {
    const memoryBefore = await redisMemory(target.admin);
    // (1) end to end: a warm-up, then CONVERSATIONS new conversations saying "hi".
    figures.failures += (await closedLoop(target, fake, senders, WARM_UP)).failures;
    await sleep(500);
    await target.admin.config('RESETSTAT');
    const redisCpuBefore = cpuMs(target.redisPid);
    const cpuBefore = processCpu(target) + redisCpuBefore;
    const writesBefore = processWrites(target);
    const e2e = await closedLoop(target, fake, senders, CONVERSATIONS);
    const underLoad = await commandStats(target.admin);
    figures.loadCommandsPerReply = sumOf(underLoad) / CONVERSATIONS;
    figures.loadScriptsPerReply = scriptCalls(underLoad) / CONVERSATIONS;
    figures.failures += e2e.failures;
    figures.repliesPerSecond = (CONVERSATIONS - e2e.failures) / e2e.seconds;
    figures.cpuPerReply = (processCpu(target) + cpuMs(target.redisPid) - cpuBefore) / CONVERSATIONS;
    figures.redisCpuPerReply = (cpuMs(target.redisPid) - redisCpuBefore) / CONVERSATIONS;
    figures.writesPerReply = (processWrites(target) - writesBefore) / CONVERSATIONS;
    await sleep(1000); // what a turn leaves for later (outbox, events) lands
    figures.extraReplies = fake.count - (CONVERSATIONS - e2e.failures);
    if (round === 1) {
      const after = await redisMemory(target.admin);
      figures.memory = {
        bytes: after.bytes - memoryBefore.bytes,
        keys: after.keys - memoryBefore.keys,
        conversations: WARM_UP + CONVERSATIONS,
        byShape: await memoryByShape(target.admin),
      };
    }

    // (2) reply latency at a steady rate: POST to the reply's arrival at the fake Twilio API.
    const signer = new TwilioWebhookClient(target.url.href);
    const openAgent = new Agent({ keepAlive: true });
    fake.reset();
    figures.latencies = await openLoop(LATENCY_RATE, LATENCY_RATE * LATENCY_SECONDS, () => {
      const from = senders.next();
      return smsTurn(
        target,
        openAgent,
        fake,
        signed(signer, '/webhooks/sms', signer.smsParams(from, 'hi')),
        from,
      );
    });
    await sleep(500);

    // (3) voice first turn: signed webhook to the whole Gather TwiML, at each rate (a short warm-up first).
    const call = async () => {
      const params = { ...signer.callParams(newSid('CA'), senders.next()), CallerCountry: 'US' };
      const req = signed(signer, '/webhooks/voice', params);
      const sent = performance.now();
      const answer = await post(target, openAgent, req);
      const elapsed = performance.now() - sent;
      if (answer.status !== 200 || !answer.body.includes('<Gather')) {
        figures.failures++;
        if (figures.failures <= 3)
          process.stderr.write(
            `${kind}: voice answered ${answer.status} after ${elapsed.toFixed(0)} ms: ${answer.body}\n`,
          );
      }
      return elapsed;
    };
    await openLoop(50, 50, call);
    for (const rate of VOICE_RATES) {
      await sleep(500);
      figures.voice.set(rate, await openLoop(rate, rate * VOICE_SECONDS, call));
    }
    openAgent.destroy();
    const problems = target.problems();
    if (problems.length > 0)
      process.stderr.write(
        `${kind} logged ${problems.length} warnings or errors; the first:\n${problems.slice(0, 5).join('\n')}\n`,
      );
    return figures;
  } finally {
    await target.stop();
  }
}

async function redisMemory(admin: Redis): Promise<{ bytes: number; keys: number }> {
  const info = await admin.info('memory');
  return { bytes: Number(/used_memory:(\d+)/.exec(info)?.[1]), keys: await admin.dbsize() };
}

interface KeyShare {
  keys: number;
  bytes: number;
}

/**
 * What Redis holds, by the shape of its key names (hash tags and ids blanked: `sb:c:{…}:state`), with
 * `MEMORY USAGE` of each key: which kinds of key a conversation's bytes go to.
 */
async function memoryByShape(admin: Redis): Promise<Map<string, KeyShare>> {
  const shapes = new Map<string, KeyShare>();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const pipeline = admin.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    const usages = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const shape = key
        .replace(/\{[^}]*\}/g, '{…}')
        .split(':')
        .map((part) => (/^[\w.-]{12,}$|^\d+$/.test(part) ? '*' : part))
        .join(':');
      const share = shapes.get(shape) ?? { keys: 0, bytes: 0 };
      share.keys += 1;
      share.bytes += Number(usages[i]?.[1] ?? 0);
      shapes.set(shape, share);
    });
  } while (cursor !== '0');
  return shapes;
}

/** Calls per command since the last RESETSTAT (scripts' inner commands included, as Redis counts them). */
async function commandStats(admin: Redis): Promise<Map<string, number>> {
  const stats = new Map<string, number>();
  for (const line of (await admin.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    // Our own counting is not the pipeline's work.
    if (match && !['info', 'config|resetstat', 'monitor'].includes(match[1]!))
      stats.set(match[1]!, Number(match[2]));
  }
  return stats;
}

const sumOf = (stats: Map<string, number>) => [...stats.values()].reduce((a, b) => a + b, 0);
const scriptCalls = (stats: Map<string, number>) =>
  ['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'].reduce(
    (n, name) => n + (stats.get(name) ?? 0),
    0,
  );

interface CommandFigures {
  /** Per SMS turn: every command Redis ran, those run inside scripts, and script calls. */
  commands: number;
  inScripts: number;
  scripts: number;
  /** Commands in an idle window as long as the counted one, per turn: polling to subtract by eye. */
  idle: number;
  /** Bytes clients wrote to Redis, and Redis wrote back, per turn (INFO stats; MONITOR's own stream included in out). */
  bytesIn: number;
  bytesOut: number;
}

async function netBytes(admin: Redis): Promise<{ in: number; out: number }> {
  const info = await admin.info('stats');
  return {
    in: Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1]),
    out: Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1]),
  };
}

/** A MONITOR connection of its own, calling `onLine` listeners with each line Redis sends. */
async function rawMonitor(
  url: string,
): Promise<{ onLine(listener: (line: string) => void): void; disconnect(): void }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const listeners: ((line: string) => void)[] = [];
  let partial = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\r\n');
    partial = lines.pop()!;
    for (const line of lines) for (const listener of listeners) listener(line);
  });
  socket.on('error', () => undefined);
  socket.write('MONITOR\r\n');
  return { onLine: (listener) => void listeners.push(listener), disconnect: () => socket.destroy() };
}

/** COMMAND_TURNS new conversations one after another (each a whole drain, as at light load). */
async function countCommands(kind: Kind, fake: FastTwilioApi): Promise<CommandFigures> {
  const target = await startTarget(kind, fake);
  // MONITOR on a plain socket: ioredis can lose track of a MONITOR connection's replies and throw
  // ("Command queue state error") from its data handler, which no listener catches. A line per command,
  // `+<time> [<db> lua] "…"` for those a script ran.
  const monitor = await rawMonitor(target.redisUrl);
  try {
    fake.reset(); // senders are numbered afresh in every run
    const senders = new Senders();
    const signer = new TwilioWebhookClient(target.url.href);
    const agent = new Agent({ keepAlive: true });
    const turn = () => {
      const from = senders.next();
      return smsTurn(
        target,
        agent,
        fake,
        signed(signer, '/webhooks/sms', signer.smsParams(from, 'hi')),
        from,
      );
    };
    // Warm-up, not counted: each connection's first use of a script (EVALSHA refused, then EVAL).
    for (let i = 0; i < 5; i++) await turn();
    await sleep(1000);
    let inScripts = 0;
    let watching = false;
    monitor.onLine((line) => {
      if (watching && line.includes(' lua] ')) inScripts++;
    });
    const bytesBefore = await netBytes(target.admin);
    await target.admin.config('RESETSTAT');
    watching = true;
    const began = performance.now();
    for (let i = 0; i < COMMAND_TURNS; i++) await turn();
    await sleep(1000); // the last pops and job completions land
    const total = await commandStats(target.admin);
    const bytesAfter = await netBytes(target.admin);
    watching = false;
    const elapsed = performance.now() - began;
    await target.admin.config('RESETSTAT');
    await sleep(elapsed);
    const idle = await commandStats(target.admin);
    agent.destroy();
    return {
      commands: sumOf(total) / COMMAND_TURNS,
      inScripts: inScripts / COMMAND_TURNS,
      scripts: scriptCalls(total) / COMMAND_TURNS,
      idle: sumOf(idle) / COMMAND_TURNS,
      bytesIn: (bytesAfter.in - bytesBefore.in) / COMMAND_TURNS,
      bytesOut: (bytesAfter.out - bytesBefore.out) / COMMAND_TURNS,
    };
  } finally {
    monitor.disconnect();
    await target.stop();
  }
}

const fixed = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
const ratio = (switchboard: number, baseline: number) => fixed(switchboard / baseline, 2);

function report(
  runs: RunFigures[],
  commands: Record<Kind, CommandFigures>,
  load: { before: number[]; after: number[] },
  seconds: number,
) {
  const of = (kind: Kind) => runs.filter((r) => r.kind === kind);
  const mean = (kind: Kind, pick: (r: RunFigures) => number) => {
    const mine = of(kind);
    return mine.reduce((sum, r) => sum + pick(r), 0) / mine.length;
  };
  /** Every run's samples of one kind pooled, sorted. */
  const pooled = (kind: Kind, pick: (r: RunFigures) => number[]) =>
    of(kind)
      .flatMap(pick)
      .sort((a, b) => a - b);
  const pair = (kind: Kind, pick: (r: RunFigures) => number[]) => {
    const samples = pooled(kind, pick);
    return [percentile(samples, 50), percentile(samples, 99)] as const;
  };
  const latencyRow = (title: string, pick: (r: RunFigures) => number[]) => {
    const [b50, b99] = pair('baseline', pick);
    const [s50, s99] = pair('switchboard', pick);
    return `| ${title} | ${fixed(b50, 1)} / ${fixed(b99, 1)} ms | ${fixed(s50, 1)} / ${fixed(s99, 1)} ms | ${ratio(s50, b50)} / ${ratio(s99, b99)} |`;
  };
  const bRps = mean('baseline', (r) => r.repliesPerSecond);
  const sRps = mean('switchboard', (r) => r.repliesPerSecond);
  const bCpu = mean('baseline', (r) => r.cpuPerReply);
  const sCpu = mean('switchboard', (r) => r.cpuPerReply);
  const bWrites = mean('baseline', (r) => r.writesPerReply);
  const sWrites = mean('switchboard', (r) => r.writesPerReply);
  const bRedisCpu = mean('baseline', (r) => r.redisCpuPerReply);
  const sRedisCpu = mean('switchboard', (r) => r.redisCpuPerReply);
  const memory = (kind: Kind) => of(kind).find((r) => r.memory)?.memory;
  const sMem = memory('switchboard');
  const bMem = memory('baseline');
  const memoryCell = (m: typeof sMem) =>
    m ? `${fixed(m.bytes / 2 ** 20, 1)} MiB, ${fixed(m.keys)} keys` : 'n/a';
  const perConversation = (m: typeof sMem) =>
    m
      ? `≈ ${fixed(m.bytes / m.conversations / 1024, 2)} KiB, ${fixed(m.keys / m.conversations, 1)} keys each`
      : 'n/a';
  const b = commands.baseline;
  const s = commands.switchboard;
  const lines = [
    '',
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; ` +
      `load average (1, 5, 15 min) before ${load.before.map((l) => l.toFixed(2)).join(', ')}, ` +
      `after ${load.after.map((l) => l.toFixed(2)).join(', ')}; ${ROUNDS} round(s) A B, ${fixed(seconds)} s in all` +
      `; Switchboard as ${WORKERS > 0 ? `one serve and ${WORKERS} worker process(es)` : 'one start process'}` +
      (QUICK ? ' (BENCH_QUICK: a harness check, not figures to quote)' : ''),
    '',
    '| figure | baseline | Switchboard | ratio |',
    '|---|---|---|---|',
    `| end-to-end replies/s, ${fixed(CONVERSATIONS)} new conversations saying "hi", ${CONNECTIONS} connections | ${fixed(bRps)} | ${fixed(sRps)} | ${ratio(sRps, bRps)} |`,
    latencyRow(
      `reply latency at a steady ${LATENCY_RATE} msg/s (POST to reply at the Twilio API), p50 / p99`,
      (r) => r.latencies,
    ),
    ...VOICE_RATES.map((rate) =>
      latencyRow(
        `voice first turn (signed webhook → Gather TwiML) at ${rate} calls/s, p50 / p99`,
        (r) => r.voice.get(rate) ?? [],
      ),
    ),
    `| Redis after ${fixed(sMem?.conversations ?? 0)} answered conversations (one message each, idle) | ${memoryCell(bMem)} | ${memoryCell(sMem)} | ${perConversation(sMem)} |`,
    `| Redis commands per SMS turn (\`INFO commandstats\` deltas, scripts' inner commands included) | ${fixed(b.commands)} (${fixed(b.scripts, 1)} script calls) | ${fixed(s.commands)} (${fixed(s.scripts, 1)} script calls) | ${ratio(s.commands, b.commands)} |`,
    `| Redis calls from clients per SMS turn (a round trip each at most) | ${fixed(b.commands - b.inScripts, 1)} | ${fixed(s.commands - s.inScripts, 1)} | ${ratio(s.commands - s.inScripts, b.commands - b.inScripts)} |`,
    `| bytes written to Redis per SMS turn (\`INFO stats\` total_net_input_bytes) | ${fixed(b.bytesIn)} | ${fixed(s.bytesIn)} | ${ratio(s.bytesIn, b.bytesIn)} |`,
    `| CPU ms per reply under the end-to-end load (pipeline process + its redis-server) | ${fixed(bCpu, 2)} | ${fixed(sCpu, 2)} | ${ratio(sCpu, bCpu)} |`,
    `| … of which redis-server | ${fixed(bRedisCpu, 2)} | ${fixed(sRedisCpu, 2)} | ${ratio(sRedisCpu, bRedisCpu)} |`,
    `| write syscalls per reply under the end-to-end load (pipeline processes: Redis, HTTP, the log) | ${fixed(bWrites, 1)} | ${fixed(sWrites, 1)} | ${ratio(sWrites, bWrites)} |`,
    '',
    `Commands counted over ${COMMAND_TURNS} conversations of one message, one after another, after 5 uncounted; ` +
      `an idle window as long ran ${fixed(b.idle, 1)} (baseline) and ${fixed(s.idle, 1)} (Switchboard) commands ` +
      "per turn-equivalent (polling, included above). Latencies pool every round's samples.",
    '',
    ...(sMem
      ? [
          `Switchboard's Redis after those conversations, by key shape (\`MEMORY USAGE\`; used_memory also counts Redis's own structures):`,
          '',
          '| key shape | keys | bytes per conversation |',
          '|---|---|---|',
          ...[...sMem.byShape]
            .sort(([, x], [, y]) => y.bytes - x.bytes)
            .filter(([, share]) => share.bytes / sMem.conversations >= 1)
            .map(
              ([shape, share]) =>
                `| \`${shape}\` | ${fixed(share.keys)} | ${fixed(share.bytes / sMem.conversations)} |`,
            ),
          '',
        ]
      : []),
    '| run | replies/s | CPU ms per reply (redis-server) | write syscalls per reply | Redis commands (script calls) per reply under that load | latency p50 / p99 ms | voice 100/s p50 / p99 ms | voice 20/s p50 / p99 ms | failed webhooks | extra replies |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map((r) => {
      const p = (samples: number[]) => {
        const sorted = [...samples].sort((x, y) => x - y);
        return `${fixed(percentile(sorted, 50), 1)} / ${fixed(percentile(sorted, 99), 1)}`;
      };
      return (
        `| ${r.round}${r.kind === 'baseline' ? 'A baseline' : 'B Switchboard'} | ${fixed(r.repliesPerSecond)} | ` +
        `${fixed(r.cpuPerReply, 2)} (${fixed(r.redisCpuPerReply, 2)}) | ${fixed(r.writesPerReply, 1)} | ${fixed(r.loadCommandsPerReply, 1)} (${fixed(r.loadScriptsPerReply, 1)}) | ${p(r.latencies)} | ${p(r.voice.get(100) ?? [])} | ${p(r.voice.get(20) ?? [])} | ${r.failures} | ${r.extraReplies} |`
      );
    }),
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

async function main(): Promise<void> {
  const began = performance.now();
  const before = loadavg();
  const fake = await startFastTwilioApi(ACCOUNT_SID, AUTH_TOKEN);
  try {
    const runs: RunFigures[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of ['baseline', 'switchboard'] as const) {
        process.stderr.write(`round ${round}: ${kind}…\n`);
        runs.push(await measureRun(kind, round, fake));
      }
    }
    process.stderr.write('counting Redis commands…\n');
    const commands = {
      baseline: await countCommands('baseline', fake),
      switchboard: await countCommands('switchboard', fake),
    };
    report(runs, commands, { before, after: loadavg() }, (performance.now() - began) / 1000);
  } finally {
    await fake.close();
  }
}

if (process.argv.includes('--webhook') || process.argv.includes('--commands')) {
  await import('./webhook.bench.js'); // it runs, prints and exits on its own
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
