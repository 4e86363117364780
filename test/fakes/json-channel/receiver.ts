// The HTTP receiver the test-only JSON channel delivers replies to: it keeps them and tells waiters.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonReply } from './json.adapter.js';

export interface JsonReceiver {
  readonly url: string;
  readonly replies: JsonReply[];
  /** Resolves once `count` replies have arrived in all. */
  waitForTotal(count: number): Promise<JsonReply[]>;
  close(): Promise<void>;
}

export async function startJsonReceiver(): Promise<JsonReceiver> {
  const replies: JsonReply[] = [];
  const waiters: { count: number; resolve: (r: JsonReply[]) => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      replies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonReply);
      res.writeHead(200).end();
      for (const w of waiters.filter((w) => replies.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve([...replies]);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/replies`,
    replies,
    waitForTotal: (count) =>
      replies.length >= count
        ? Promise.resolve([...replies])
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
