// Redis's MONITOR read off a plain socket: every command Redis runs, in the order it runs them. ioredis's
// own `monitor()` turns to monitoring only a tick after MONITOR's OK, so lines that arrive with the OK
// (a busy Redis) are taken for replies to nothing ("Command queue state error").
import { connect } from 'node:net';

/** One command Redis ran: its arguments (the command first) and where from (`lua` inside a script). */
export interface Monitored {
  args: string[];
  source: string;
}

export interface RedisMonitor {
  close(): void;
}

/** Calls `seen` with each command Redis runs from the moment this resolves. */
export async function monitorRedis(url: string, seen: (command: Monitored) => void): Promise<RedisMonitor> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let buffered = '';
  let started: (() => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    started = resolve;
    socket.once('error', reject);
  });
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end = buffered.indexOf('\r\n');
    while (end >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf('\r\n');
      if (line === '+OK') {
        started?.();
        started = undefined;
        continue;
      }
      // +1700000000.123456 [0 127.0.0.1:5000] "evalsha" "…" or [0 lua] for a script's own commands.
      const match = /^\+\S+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (!match) continue;
      const args = [...match[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\"/g, '"'));
      seen({ args, source: match[1]! });
    }
  });
  socket.write('MONITOR\r\n');
  await ready;
  return { close: () => socket.destroy() };
}
