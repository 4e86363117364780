// The cost of one proactive message (POST /v1/messages): the Redis commands it costs, split into those the
// clients sent (a round trip each at most) and those scripts ran, and the time from the POST to the fake
// Twilio API receiving the message, unloaded. Run with `npm run build && node dist/bench/proactive.bench.js`;
// it starts a private redis-server (it counts every command Redis runs).
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { startRedisServer, freePort } from '../src/main/local-redis.js';
import { botYaml, configVariables } from '../test/support/config.js';
import { startHarness } from '../test/support/harness.js';
import { jsonRequest } from '../test/support/json-api.js';
import { spawnSwitchboard } from '../test/support/processes.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 50);
const WARM_UP = 5;
const BOT = botYaml(
  'notify',
  `    flows:
      main:
        - say: "Hello."`,
);

function keyShape(key: string, prefix: string): string {
  return key
    .replaceAll(prefix, '{prefix}')
    .replace(/[0-9a-f]{16,}|[A-Za-z0-9_-]{22,}/g, '*')
    .replace(/\+?\d+/g, '*');
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const h = await startHarness({ bots: BOT, label: 'bench-proactive', gateway: false, redisUrl: server.url });
  const admin = new Redis(server.url);
  const monitor = await admin.monitor();
  const sent = new Map<string, number>();
  let inScripts = 0;
  let watching = false;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!watching) return;
    if (source === 'lua') return void (inScripts += 1);
    const name = args[0]!.toLowerCase();
    if (['info', 'config'].includes(name)) return;
    const key = (name === 'evalsha' || name === 'eval' ? args[3] : args[1]) ?? '';
    const what = `${name === 'eval' ? 'evalsha' : name} ${keyShape(key, h.prefix)}`;
    sent.set(what, (sent.get(what) ?? 0) + 1);
  });
  const port = await freePort();
  const start = await spawnSwitchboard('start', { ...h.processEnv, PORT: String(port) }, 'start');
  const url = `http://127.0.0.1:${port}`;
  const key = configVariables().TEST_API_KEY!;
  const latencies: number[] = [];
  const once = async (i: number, timed: boolean) => {
    const to = `+1616${String(5_000_000 + i).padStart(7, '0')}`;
    const began = Date.now();
    const answer = await jsonRequest(url, 'POST', '/v1/messages', {
      key,
      body: { bot: 'notify', to: `sms:${to}`, text: `Your order ${i} is ready.` },
      headers: { 'idempotency-key': randomUUID() },
    });
    if (answer.status !== 202) throw new Error(`POST answered ${answer.status}: ${answer.text}`);
    const [message] = await h.twilio.waitForMessages(to, 1, 10_000);
    if (timed) latencies.push(message!.at - began);
  };
  try {
    for (let i = 0; i < WARM_UP; i++) await once(MESSAGES + i, false);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await admin.config('RESETSTAT');
    watching = true;
    const began = performance.now();
    for (let i = 0; i < MESSAGES; i++) await once(i, true);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the last pops land
    watching = false;
    const window = performance.now() - began;
    const stats = await admin.info('commandstats');
    const total = [...stats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)]
      .filter(([, name]) => !['info', 'config|resetstat', 'monitor'].includes(name!))
      .reduce((sum, [, , n]) => sum + Number(n), 0);
    // The same window with nothing sent: the workers' idle polling, to subtract.
    await admin.config('RESETSTAT');
    const idleSent = new Map(sent);
    sent.clear();
    watching = true;
    await new Promise((resolve) => setTimeout(resolve, window));
    watching = false;
    const idle = [...sent.values()].reduce((a, b) => a + b, 0);
    latencies.sort((a, b) => a - b);
    const per = (n: number) => (n / MESSAGES).toFixed(2);
    const clientSent = [...idleSent.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(
      [
        `\nMachine: ${cpus().length} cores, Node ${process.version}; ${MESSAGES} messages one after another, ${WARM_UP} warm-up`,
        `commands Redis ran per message: ${per(total)} (inside scripts: ${per(inScripts)})`,
        `sent by clients per message: ${per(clientSent)}; idle window (same length, nothing sent): ${idle} in all`,
        `POST to the fake Twilio API receiving it: p50 ${latencies[Math.floor(latencies.length / 2)]} ms, ` +
          `p90 ${latencies[Math.floor(latencies.length * 0.9)]} ms, max ${latencies.at(-1)} ms`,
        '',
        '| sent by clients: command and first key | per message |',
        '|---|---|',
        ...[...idleSent.entries()]
          .filter(([, n]) => n / MESSAGES >= 0.05)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([what, n]) => `| ${what} | ${per(n)} |`),
        '',
      ].join('\n'),
    );
  } finally {
    await start.stop('SIGTERM');
    monitor.disconnect();
    admin.disconnect();
    await h.close();
    await server.stop();
  }
}

await main();
