// The winston logger: JSON lines on stdout, with secrets and URL credentials scrubbed before anything is written.
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

export function createLogger(options: {
  level: string;
  stream?: NodeJS.WritableStream;
  service?: string;
}): Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return winston.createLogger({
    level: options.level,
    defaultMeta: { service: options.service ?? 'switchboard' },
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}
