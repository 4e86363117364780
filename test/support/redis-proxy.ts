// A TCP proxy in front of Redis that can hold a client's traffic from a chosen command on (a network-level
// way to freeze a worker in the middle of a turn), or cut every client off for a while (a Redis blip).
import { listenOnLoopback } from '../fakes/loopback.js';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { KICK_SHA, TAKE_SHA } from '../../src/store/kick-queue.js';

export interface RedisProxy {
  /** redis://127.0.0.1:PORT: give it to the process to freeze. */
  readonly url: string;
  /**
   * From the first client chunk whose text matches `pattern` on, that client's traffic is held (never
   * reaches Redis). Resolves when that happens.
   */
  holdWhen(pattern: RegExp): Promise<void>;
  /** Lets held traffic through, in order, and stops holding: the frozen client carries on. */
  release(): void;
  /**
   * From the first client chunk matching `pattern` on, that chunk reaches Redis but no answer comes
   * back: every client is cut off (its connections closed, new ones refused) until `restore()`.
   * Resolves when the cut happens.
   */
  cutWhen(pattern: RegExp): Promise<void>;
  /** Accepts connections again after a cut. */
  restore(): void;
  /** What clients send from now on, a chunk (one read of a client's socket) an entry, as latin1 text. */
  record(): string[];
  close(): Promise<void>;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

/** Matches the RESP of the conversation commit script: 10 keys, the first one an inbox. */
export function commitCommandPattern(prefix: string): RegExp {
  return new RegExp(`\\r\\n\\$2\\r\\n10\\r\\n\\$\\d+\\r\\n${escape(prefix)}:c:\\{[^}]+\\}:in\\r\\n`);
}

/** Matches a conversation queue worker's take (`src/store/kick-queue.ts`) on the shard whose due set is `dueKey`. */
export function kickTakePattern(dueKey: string): RegExp {
  return new RegExp(`${TAKE_SHA}\\r\\n\\$1\\r\\n3\\r\\n\\$\\d+\\r\\n${escape(dueKey)}\\r\\n`);
}

/** Matches a kick (`src/store/kick-queue.ts`) on the shard whose due set is `dueKey` that takes the conversation for its process. */
export function kickAndTakePattern(dueKey: string): RegExp {
  return new RegExp(
    `${KICK_SHA}\\r\\n\\$1\\r\\n3\\r\\n\\$\\d+\\r\\n${escape(dueKey)}\\r\\n(?:\\$\\d+\\r\\n[^\\r]*\\r\\n){4}\\$\\d+\\r\\nw:`,
  );
}

/** Matches a message's accept (`src/store/conversation-store.ts`): six keys, the first one a dedupe set. */
export function acceptPattern(prefix: string): RegExp {
  return new RegExp(
    `\\r\\n\\$1\\r\\n6\\r\\n\\$\\d+\\r\\n${escape(prefix)}:c:\\{[^}]+\\}(\\.[^:]+)?:seen\\r\\n`,
  );
}

/** Matches a kick of a conversation (`src/store/kick-queue.ts`), taking it for its process or not. */
export function kickPattern(prefix: string): RegExp {
  return new RegExp(
    `${KICK_SHA}\\r\\n\\$1\\r\\n3\\r\\n\\$\\d+\\r\\n${escape(prefix)}:\\{conv\\d+\\}:kicks:due\\r\\n`,
  );
}

/** Matches a voice event's accept (`src/store/conversation-store.ts`): seven keys, the first one a dedupe set. */
export function acceptCallPattern(prefix: string): RegExp {
  return new RegExp(
    `\\r\\n\\$1\\r\\n7\\r\\n\\$\\d+\\r\\n${escape(prefix)}:c:\\{[^}]+\\}(\\.[^:]+)?:seen\\r\\n`,
  );
}

/** Matches the read of an identity's record (`HMGET`, the user's lookup). */
export function identityReadPattern(prefix: string): RegExp {
  return new RegExp(`\\$5\\r\\nhmget\\r\\n\\$\\d+\\r\\n${escape(prefix)}:i:\\{`, 'i');
}

/** Matches a send taking its slot in its sender's pace (`src/store/pacer.ts`): one key, the sender's pace. */
export function paceTakePattern(prefix: string): RegExp {
  return new RegExp(`\\r\\n\\$1\\r\\n1\\r\\n\\$\\d+\\r\\n${escape(prefix)}:pace:\\{`);
}

export async function startRedisProxy(target: string): Promise<RedisProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let hold: { pattern: RegExp; resolve: () => void } | undefined;
  let cutAt: { pattern: RegExp; resolve: () => void } | undefined;
  let cut = false;
  /** Per held client: what it sent meanwhile, and how to let it through. */
  const releases = new Set<() => void>();
  /** Clients to close when a cut happens. */
  const clients = new Set<() => void>();
  let recorded: string[] | undefined;

  function cutEveryone(): void {
    cut = true;
    for (const drop of clients) drop();
  }

  const server: Server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let held: Buffer[] | undefined;
    let dropped = false;
    // The tail of what this client sent, so a command split over two chunks still matches.
    let tail = '';
    const drop = () => {
      // The client loses its connection; Redis keeps it a moment, so what it was sent still runs there.
      dropped = true;
      client.destroy();
      setTimeout(() => upstream.destroy(), 200);
    };
    clients.add(drop);
    client.on('data', (chunk: Buffer) => {
      if (dropped) return;
      recorded?.push(chunk.toString('latin1'));
      if (held) return void held.push(chunk);
      const before = tail.length;
      const text = tail + chunk.toString('latin1');
      tail = text.slice(-512);
      // A match must end in this chunk: the tail alone holds commands that went through already.
      const matches = (pattern: RegExp) => {
        const found = new RegExp(pattern.source, pattern.flags.replace('g', '') + 'g');
        for (let m = found.exec(text); m; m = found.exec(text)) {
          if (m.index + m[0].length > before) return true;
          found.lastIndex = m.index + 1;
        }
        return false;
      };
      if (hold && matches(hold.pattern)) {
        held = [chunk];
        const { resolve } = hold;
        hold = undefined;
        releases.add(() => {
          for (const c of held ?? []) upstream.write(c);
          held = undefined;
        });
        resolve();
        return;
      }
      upstream.write(chunk);
      if (cutAt && matches(cutAt.pattern)) {
        const { resolve } = cutAt;
        cutAt = undefined;
        cutEveryone();
        resolve();
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!dropped) client.write(chunk);
    });
    const end = () => {
      clients.delete(drop);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  const proxyPort = await listenOnLoopback(server);
  return {
    url: `redis://127.0.0.1:${proxyPort}`,
    holdWhen: (pattern) => new Promise<void>((resolve) => (hold = { pattern, resolve })),
    release() {
      for (const release of releases) release();
      releases.clear();
    },
    cutWhen: (pattern) => new Promise<void>((resolve) => (cutAt = { pattern, resolve })),
    restore: () => void (cut = false),
    record: () => (recorded = []),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
