// The winston logger: JSON lines (or readable ones on a terminal) on stdout, with secrets and URL credentials scrubbed before anything is written.
import winston from 'winston';

/** Field names whose values never reach a log line, whatever the level. */
const SECRET_FIELDS =
  /^(password|pass|pin|secret|token|authtoken|auth_code|access_token|refresh_token|authorization|code|apikey|api_key|authToken|dataKey)$/i;
/** Field names that carry message text: dropped unless the level is debug. */
const TEXT_FIELDS = /^(text|body|input)$/i;

// Up to the last `@` of `scheme://user:p@ssword@host` (where a URL parser ends the credentials), never past
// a `/`, `?` or `#`: a run stops at the next `://`, so runs cannot overlap and the search stays linear in the
// length of the text whatever it holds.
const URL_CREDENTIALS = /:\/\/[^\s/?#]*@/g;

/** `text` with the credentials of every URL in it replaced by `***` (`redis://***@redis:6379/0`). */
export function withoutCredentials(text: string): string {
  return text.includes('://') && text.includes('@') ? text.replace(URL_CREDENTIALS, '://***@') : text;
}

function scrub(value: unknown, keepText: boolean, depth = 0): unknown {
  if (typeof value === 'string') return withoutCredentials(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: withoutCredentials(value.message) };
  if (Array.isArray(value)) return value.map((v) => scrub(v, keepText, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_FIELDS.test(k)) out[k] = '[redacted]';
    else if (!keepText && TEXT_FIELDS.test(k)) out[k] = '[text]';
    else out[k] = scrub(v, keepText, depth + 1);
  }
  return out;
}

const redact = winston.format((info) => {
  const keepText = info.level === 'debug' || info.level === 'silly';
  if (typeof info.message === 'string') info.message = withoutCredentials(info.message);
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    if (SECRET_FIELDS.test(key)) info[key] = '[redacted]';
    else if (!keepText && TEXT_FIELDS.test(key)) info[key] = '[text]';
    else info[key] = scrub(info[key], keepText);
  }
  return info;
});

export type Logger = winston.Logger;

/** `json`: one JSON object a line, for collectors. `pretty`: `time level message key=value…`, for people. */
export type LogFormat = 'json' | 'pretty';

/** What stands for a secret answer or a sign-in link in a debug line. */
export const SECRET_TEXT = '[secret]';

/** A field's value as `key=value`: plain when it is one word, else JSON (quoted, escaped). */
function pair(key: string, value: unknown): string {
  const text = typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return `${key}=${text}`;
}

const OMITTED_IN_PRETTY = new Set(['level', 'message', 'timestamp', 'service']);

function prettyFormat(colors: boolean): winston.Logform.Format {
  return winston.format.combine(
    winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
    ...(colors ? [winston.format.colorize({ level: true })] : []),
    winston.format.printf((info) => {
      const fields = Object.entries(info)
        .filter(([key, value]) => !OMITTED_IN_PRETTY.has(key) && value !== undefined)
        .map(([key, value]) => pair(key, value));
      return [info.timestamp, info.level.padEnd(colors ? 15 : 5), info.message, ...fields].join(' ');
    }),
  );
}

/** The format when none is asked for: readable on a terminal, JSON anywhere else (a file, a pipe, a collector). */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return stream.isTTY ? 'pretty' : 'json';
}

export function createLogger(options: {
  level: string;
  stream?: NodeJS.WritableStream;
  service?: string;
  /** Default: `defaultLogFormat` of the stream written to. */
  format?: LogFormat;
}): Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  const stream = (options.stream ?? process.stdout) as { isTTY?: boolean };
  const format = options.format ?? defaultLogFormat(stream);
  return winston.createLogger({
    level: options.level,
    defaultMeta: { service: options.service ?? 'switchboard' },
    format: winston.format.combine(
      redact(),
      format === 'pretty'
        ? prettyFormat(stream.isTTY === true)
        : winston.format.combine(winston.format.timestamp(), winston.format.json()),
    ),
    transports: [transport],
  });
}
