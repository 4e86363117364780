import { it } from 'vitest';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness } from '../../support/harness.js';
it('probe', async () => {
  const h = await startHarness({ bots: ECHO_BOT, label: 'probe' });
  const N = 300;
  const before = Number(/used_memory:(\d+)/.exec(await h.redis.info('memory'))?.[1]);
  for (let i = 0; i < N; i += 20)
    await Promise.all(Array.from({ length: 20 }, (_, j) => h.webhooks.sms(`+1212555${String(1000 + i + j)}`, 'hi')));
  for (let i = 0; i < N; i++) await h.twilio.waitForMessages(`+1212555${String(1000 + i)}`, 1);
  await new Promise((r) => setTimeout(r, 1500));
  const after = Number(/used_memory:(\d+)/.exec(await h.redis.info('memory'))?.[1]);
  const keys = (await h.redis.keys(h.keys.everything())).sort();
  const groups = new Map<string, { n: number; bytes: number; enc: Set<string> }>();
  for (const k of keys) {
    const cls = k.slice(h.prefix.length).replace(/\{[^}]+\}/, '{}').replace(/(seen|sent|rate):.*/, '$1:*');
    const m = Number(await h.redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
    const enc = String(await h.redis.call('OBJECT', 'ENCODING', k));
    const g = groups.get(cls) ?? { n: 0, bytes: 0, enc: new Set() };
    g.n++; g.bytes += m; g.enc.add(enc); groups.set(cls, g);
  }
  let total = 0;
  for (const [cls, g] of groups) { total += g.bytes; console.log(cls.padEnd(40), g.n, g.bytes, Math.round(g.bytes / N), [...g.enc].join()); }
  console.log('sum MEMORY USAGE / conv', Math.round(total / N), 'used_memory delta / conv', Math.round((after - before) / N), 'keys', keys.length);
  await h.close();
}, 120000);
