// The dialog ports suite, once per implementation: the engine's unit-test fake and the Redis-backed turn
// services (identity store, token store, lockout and link codes on a real Redis, the outbound client on loopback).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperatorEventType } from '../../../src/core/ports.js';
import { Templates } from '../../../src/core/templates.js';
import { createMetrics } from '../../../src/metrics.js';
import { createOutboundClient } from '../../../src/net/outbound.js';
import { identityServices } from '../../../src/turn/identity-services.js';
import { createTurnServices, type EventEmitter } from '../../../src/turn/turn-services.js';
import { RedisRefreshLock } from '../../../src/store/refresh-lock.js';
import { Lockout } from '../../../src/store/lockout.js';
import { dialogPortsConformance, type DialogPortsSubject } from '../../support/conformance/dialog-ports.js';
import { captureLogs, waitForLogs } from '../../support/logs.js';
import { identityWorld, redisUrl, type IdentityWorld } from '../identity/setup.js';
import { monitorRedis } from '../../support/redis-monitor.js';
import { FakeServices } from '../../unit/dialog/support/fake-services.js';

const NAMESPACES = ['bank-login', 'member-pin'];
const PROBLEM = 'bot configuration problem at run time';

let world: IdentityWorld;
let server: Server;
let serverUrl: string;
const answers: { status: number; body: string }[] = [];

beforeAll(async () => {
  world = await identityWorld({ useClock: true });
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = answers.shift() ?? { status: 200, body: '{}' };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await world.close();
});

let identities = 0;

async function redisSubject(): Promise<DialogPortsSubject> {
  const config = world.config.current;
  const bot = config.bots['acme-bank']!;
  const workspace = {
    ...config.workspaces.acme!,
    allowHosts: ['127.0.0.1'],
    allowPrivateAddresses: ['127.0.0.0/8'],
  };
  const from = `+1202555${String(1000 + identities++)}`;
  const events: { type: OperatorEventType; data: Record<string, unknown> }[] = [];
  const emitter: EventEmitter = {
    emit: ({ type, data: { bot: _bot, ...data } }) => void events.push({ type, data }),
  };
  answers.length = 0;
  const { logger, logs } = captureLogs('info', 'turn-services');
  const services = createTurnServices(
    {
      outbound: createOutboundClient(),
      templates: new Templates(),
      logger,
      metrics: createMetrics(),
      identity: identityServices({
        identity: world.identity,
        tokens: world.tokens,
        refreshLock: new RedisRefreshLock(world.redis, world.keys),
        linkCodes: world.linkCodes,
        lockout: new Lockout(world.redis, world.keys, { now: world.now }),
        now: world.now,
      }),
      events: emitter,
    },
    {
      cid: `conv-${from}`,
      botId: 'acme-bank',
      bot,
      workspaceId: 'acme',
      workspace,
      event: {
        id: `SM${from}`,
        kind: 'message',
        botId: 'acme-bank',
        channel: 'sms',
        identity: `sms:${from}`,
        from,
        to: '+15005550006',
        text: 'hello',
        receivedAt: world.now(),
      },
    },
  );
  return {
    ports: services,
    login: bot.auth['bank-login']!,
    advance: (ms) => void (world.clock.now += ms),
    now: () => world.clock.now,
    issueLinkCode: async (userId, ttlSeconds) =>
      (await world.linkCodes.create({ workspace: 'acme', userId, ttlSeconds })).code,
    serveNext: (status, body) => {
      answers.push({ status, body: JSON.stringify(body) });
      return serverUrl;
    },
    emitted: () => events,
    reports: async (count) => {
      const told = () => logs.find(PROBLEM).map((line) => String(line.problem));
      await waitForLogs([logs], () => told().length >= count, `${count} problem(s) logged`);
      return told();
    },
    recordHistory: (lines) => services.recordHistory(lines),
  };
}

dialogPortsConformance('the Redis-backed turn services', redisSubject);

describe('the Redis-backed turn services, asked for a user', () => {
  it('read the identity once for the turn, however often and however early it is asked (two at once too)', async () => {
    const subject = await redisSubject();
    const reads: string[] = [];
    const marker = `${world.prefix}:read-the-user-done`;
    let seen: () => void;
    const seenMarker = new Promise<void>((resolve) => (seen = resolve));
    const monitor = await monitorRedis(redisUrl(), ({ args }) => {
      if (args[0]?.toLowerCase() === 'hmget' && args[1]?.startsWith(world.prefix)) reads.push(args[1]);
      if (args[1] === marker) seen();
    });
    try {
      const [early, again] = await Promise.all([subject.ports.user(), subject.ports.user()]);
      expect(again).toEqual(early);
      expect(await subject.ports.user()).toEqual(early);
      expect(early.tier).toBe('anonymous');
      // MONITOR shows commands in the order Redis ran them: once it shows this one, it has shown the reads.
      await world.redis.exists(marker);
      await seenMarker;
      expect(reads).toHaveLength(1);
    } finally {
      monitor.close();
    }
  });
});

dialogPortsConformance("the engine's unit-test fake", async () => {
  const clock = { now: 1_700_000_000_000 };
  const fake = new FakeServices({ now: () => clock.now, namespaces: NAMESPACES });
  const login = world.config.current.bots['acme-bank']!.auth['bank-login']!;
  return {
    ports: fake.ports,
    login,
    advance: (ms) => void (clock.now += ms),
    now: () => clock.now,
    issueLinkCode: async (userId, ttlSeconds) => {
      const code = `K7M2Q${String(fake.linkCodes.size).padStart(5, '0')}`;
      fake.linkCodes.set(code, { userId, expiresAt: clock.now + ttlSeconds * 1000 });
      return code;
    },
    serveNext: (status, body) => {
      fake.answers.push({
        status,
        headers: { 'content-type': 'application/json' },
        text: JSON.stringify(body),
        json: body,
      });
      return 'https://api.example/';
    },
    emitted: () => fake.events.map(({ type, data }) => ({ type, data: data ?? {} })),
    reports: async () => fake.reports,
    recordHistory: async (lines) =>
      void fake.history.push(
        ...lines.map((l) => ({
          direction: l.direction,
          text: l.secret ? '[redacted]' : l.text,
          at: clock.now,
          ...(l.secret ? { secret: true } : {}),
        })),
      ),
  } satisfies DialogPortsSubject;
});
