// A TCP proxy in front of Redis that can hold a client's traffic from a chosen command on: a network-level
// way to freeze a worker in the middle of a turn (after it computed the turn, before it commits it).
import { listenOnLoopback } from '../fakes/loopback.js';
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface RedisProxy {
  /** redis://127.0.0.1:PORT: give it to the process to freeze. */
  readonly url: string;
  /**
   * From the first client chunk whose text matches `pattern` on, that client's traffic is held (never
   * reaches Redis). Resolves when that happens.
   */
  holdWhen(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

/** Matches the RESP of the conversation commit script: 6 keys or more, the first one an inbox. */
export function commitCommandPattern(prefix: string): RegExp {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return new RegExp(`\\r\\n\\$1\\r\\n[5-9]\\r\\n\\$\\d+\\r\\n${escaped}:c:\\{[^}]+\\}:in\\r\\n`);
}

export async function startRedisProxy(target: string): Promise<RedisProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let hold: { pattern: RegExp; resolve: () => void } | undefined;

  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let held = false;
    // The tail of what this client sent, so a command split over two chunks still matches.
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      if (held) return;
      const text = tail + chunk.toString('latin1');
      if (hold && hold.pattern.test(text)) {
        held = true;
        const { resolve } = hold;
        hold = undefined;
        resolve();
        return;
      }
      tail = text.slice(-512);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
