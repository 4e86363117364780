// Starts a fake's server on a free loopback port: fakes and proxies never listen anywhere else.
import type { Server } from 'node:net';

/** Listens on 127.0.0.1 at a port the system picks; resolves with that port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the server has no TCP address');
  return address.port;
}
