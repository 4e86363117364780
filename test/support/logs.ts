// Collects JSON log lines (from an in-process winston logger or a child's stdout) and lets tests await one.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';
import { Recorder, waitForAll } from './recorder.js';

export type LogLine = Record<string, unknown> & { level: string; message: string };
export type LogPredicate = (line: LogLine) => boolean;

/** Log lines as they arrive, with waits that resolve on the line itself, never on a timer. */
export class LogCollector extends Recorder<LogLine> {
  private partial = '';

  constructor(name = 'logs') {
    super(name, 'log line');
  }

  get lines(): LogLine[] {
    return this.items;
  }

  /** Feeds raw output; complete lines that are JSON objects are kept, other text is kept as a message. */
  write(chunk: string): void {
    this.partial += chunk;
    let newline: number;
    while ((newline = this.partial.indexOf('\n')) >= 0) {
      const text = this.partial.slice(0, newline).trim();
      this.partial = this.partial.slice(newline + 1);
      if (text) this.add(parse(text));
    }
  }

  /** Lines with this message (and optionally matching more), oldest first. */
  find(message: string, where: LogPredicate = () => true): LogLine[] {
    return this.lines.filter((l) => l.message === message && where(l));
  }

  /** Calls `listener` with every line from now on; returns a function that stops it. */
  onLine(listener: (line: LogLine) => void): () => void {
    return this.onItem(listener);
  }

  /** Resolves with the first line with this message (and matching `where`). */
  waitForMessage(message: string, where: LogPredicate = () => true, timeoutMs?: number): Promise<LogLine> {
    return this.waitFor((l) => l.message === message && where(l), message, timeoutMs);
  }
}

function parse(text: string): LogLine {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && 'message' in value) return value as LogLine;
  } catch {
    // not JSON: a crash trace or a library printing on its own
  }
  return { level: 'raw', message: text };
}

/** A real Switchboard logger (winston, JSON, secrets scrubbed) whose lines land in a collector. */
export function captureLogs(level = 'info', name = 'gateway'): { logger: Logger; logs: LogCollector } {
  const logs = new LogCollector(name);
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      logs.write(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ level, stream }), logs };
}

/**
 * Resolves once `check` holds over several collectors (checked now and after every new line of any of
 * them), e.g. "the rescuer handled two turns"; rejects on timeout.
 */
export function waitForLogs(
  collectors: LogCollector[],
  check: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  return waitForAll(collectors, check, what, timeoutMs);
}
