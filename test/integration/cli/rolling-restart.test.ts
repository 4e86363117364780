// A rolling restart behind a load balancer: `serve` gets SIGTERM while keep-alive connections are busy
// with webhooks; every request is answered, the process exits 0 once its last answer is out, nothing is lost.
import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/main/local-redis.js';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { TwilioWebhookClient } from '../../support/webhooks.js';
import { commitCommandPattern, startRedisProxy, type RedisProxy } from '../../support/redis-proxy.js';

type Outcome = { status: number; close: boolean } | { error: string };

/** One webhook on a keep-alive agent; a request with no answer within `timeoutMs` counts as hung. */
function post(port: number, agent: Agent, path: string, body: string, signature: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
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
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, close: res.headers.connection === 'close' }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('hung')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(body);
  });
}

let h: Harness | undefined;
let proxy: RedisProxy | undefined;
afterEach(async () => {
  await h?.close();
  await proxy?.close();
  h = undefined;
  proxy = undefined;
});

describe('serve stopped under keep-alive load', () => {
  it('answers every request (200 or 503, Connection: close), exits 0 after its last answer, loses nothing', async () => {
    h = await startHarness({ bots: ECHO_BOT, label: 'rolling', gateway: false });
    const [leavingPort, stayingPort] = [await freePort(), await freePort()];
    // A deadline far beyond what a clean stop needs: waiting it out (and exiting 1) is the failure.
    const leaving = await h.spawn('serve', 'leaving', {
      PORT: String(leavingPort),
      SWITCHBOARD_SHUTDOWN_MS: '15000',
    });
    await h.spawn('serve', 'staying', { PORT: String(stayingPort) });
    await h.spawn('worker', 'worker');
    const signer = new TwilioWebhookClient('http://unused');
    const path = '/webhooks/sms';

    let signalled = false;
    const toLeaving: Outcome[] = [];
    const afterSignal: Outcome[] = [];
    const sent = new Map<string, string[]>();
    const answeredBeforeSignal = new Set<number>();
    let allBusy!: () => void;
    const busy = new Promise<void>((resolve) => (allBusy = resolve));

    // Six load-balancer connections, each sending signed webhooks one after the other to the leaving
    // process. What it refuses (503 while draining) or a connection it closed before reading the request
    // goes to the other instance, as a load balancer (and Twilio's retry) would send it.
    const clients = Array.from({ length: 6 }, async (_, i) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const other = new Agent({ keepAlive: true, maxSockets: 1 });
      const user = `+1212555${String(1000 + i)}`;
      const texts: string[] = [];
      sent.set(user, texts);
      let answersAfterExit = 0;
      for (let n = 0; answersAfterExit < 3; n++) {
        const params = signer.smsParams(user, `m${n}`);
        const body = new URLSearchParams(params).toString();
        const signature = signer.sign(path, params);
        texts.push(`m${n}`);
        let outcome: Outcome | undefined;
        if (leaving.alive()) {
          outcome = await post(leavingPort, agent, path, body, signature);
          toLeaving.push(outcome);
          if (signalled) afterSignal.push(outcome);
          if ('status' in outcome && n >= 4 && answeredBeforeSignal.add(i).size === 6) allBusy();
          if ('status' in outcome && outcome.status === 200) continue;
        } else answersAfterExit++;
        const retried = await post(stayingPort, other, path, body, signature);
        expect(retried).toMatchObject({ status: 200 });
      }
      agent.destroy();
      other.destroy();
    });

    // SIGTERM while all six connections are busy (each has had a few answers already).
    await busy;
    signalled = true;
    leaving.child.kill('SIGTERM');
    const code = await leaving.exited;
    await Promise.all(clients);

    expect(code).toBe(0);
    // Nothing hung; every request the leaving process read was answered, and once it was draining every
    // answer told the client to close the connection. A connection it closed while idle was refused
    // before any request was read (ECONNRESET on a reused socket, ECONNREFUSED once it stopped listening).
    expect(toLeaving.filter((o) => 'error' in o && o.error === 'hung')).toEqual([]);
    for (const o of afterSignal) {
      if ('status' in o)
        expect(o).toMatchObject({ status: expect.toSatisfy((s: number) => s === 200 || s === 503) });
      else expect(['ECONNRESET', 'ECONNREFUSED']).toContain(o.error);
    }
    expect(
      afterSignal.filter((o) => 'status' in o && o.status === 503).every((o) => 'close' in o && o.close),
    ).toBe(true);
    const stopped = leaving.logs.find('switchboard stopped');
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ waitedFor: { jobs: 0 } });
    // Generous on purpose (measured: tens of ms): a stop that waited for its keep-alive connections to
    // time out would take at least Node's default keepAliveTimeout, 5 s (ours is 65 s).
    expect(stopped[0]!.waitedMs).toBeLessThan(5000);
    expect(leaving.logs.lines.filter((l) => String(l.message).startsWith('stopping took too long'))).toEqual(
      [],
    );
    // Nothing accepted is lost, nothing doubled: every user gets one reply per message, in order.
    for (const [user, texts] of sent) {
      const replies = await h.twilio.waitForMessages(user, texts.length, 30_000);
      expect(replies.map((m) => m.body)).toEqual(texts.map((t) => `got ${t}`));
    }
    expect(h.twilio.messages).toHaveLength([...sent.values()].reduce((n, t) => n + t.length, 0));
  }, 90_000);

  it('worker: stops fetching, finishes the turn in flight, exits 0, and says it waited for it', async () => {
    h = await startHarness({
      bots: ECHO_BOT,
      label: 'rolling-worker',
      gateway: { web: true, workers: false },
    });
    // The worker's commit is held on the wire: its turn is in flight when the signal comes.
    proxy = await startRedisProxy(h.processEnv.REDIS_URL!);
    const worker = await h.spawn('worker', 'worker', { REDIS_URL: proxy.url });
    const frozen = proxy.holdWhen(commitCommandPattern(h.prefix));
    expect((await h.webhooks.sms('+12125550100', 'last words')).status).toBe(200);
    await frozen;
    worker.child.kill('SIGTERM');
    await worker.logs.waitForMessage('stopping: waiting for requests and jobs in flight');
    proxy.release();
    expect(await worker.exited).toBe(0);
    expect(worker.logs.find('stopping: waiting for requests and jobs in flight')).toMatchObject([
      { requests: 0, jobs: 1 },
    ]);
    expect(worker.logs.find('turn handled')).toHaveLength(1);
    // The turn's reply waits in its outbox for whichever worker runs next; none fetched it while stopping.
    await h.spawn('worker', 'next');
    expect((await h.twilio.waitForMessages('+12125550100', 1))[0]!.body).toBe('got last words');
    expect(h.twilio.messages).toHaveLength(1);
  }, 60_000);
});
