// The web server: listening (with errors an operator can act on), the answers in flight, and draining.
import type { Server, ServerResponse } from 'node:http';
import type express from 'express';
import { answerClientError } from './app.js';

/** The web server could not listen: a message for the operator, no stack trace. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

export interface WebServer {
  readonly server: Server;
  /** The port bound (the one asked for, or the free one picked for 0). */
  readonly port: number | undefined;
  /** Answers begun and not yet finished. */
  answering(): number;
  /** Stops taking connections; resolves once the last answer is out. */
  drain(): Promise<void>;
}

/** `variable`: the setting that chooses this port, named in the errors. */
export async function listen(
  app: express.Express,
  port: number,
  host: string,
  variable = 'PORT',
): Promise<WebServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE')
      throw new ListenError(
        `Port ${port} on ${host} is already in use. Stop the other process, or set ${variable}.`,
      );
    if (error.code === 'EACCES')
      throw new ListenError(
        `Not allowed to listen on port ${port}: choose a port above 1023, or set ${variable}.`,
      );
    throw error;
  });
  let draining = false;
  const answering = new Set<ServerResponse>();
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
  server.on('clientError', answerClientError);
  server.on('request', (_req, res: ServerResponse) => {
    answering.add(res);
    res.on('close', () => {
      answering.delete(res);
      // Draining: a connection is closed the moment its last answer is out, not after keepAliveTimeout.
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : undefined,
    answering: () => answering.size,
    drain() {
      draining = true;
      // Answers not yet begun close their connection too; idle connections close now, busy ones when done.
      for (const res of answering) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      return closed;
    },
  };
}
