// The process environment, read and validated in this one place.
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL, e.g. http://otel-collector:4318');

const EnvFields = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379'),
  /** `host:port,host:port` of Redis Sentinels; with it, REDIS_URL gives only the password and database. */
  REDIS_SENTINELS: z
    .string()
    .regex(
      /^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/,
      'must be host:port pairs separated by commas, e.g. s1:26379,s2:26379',
    )
    .optional(),
  REDIS_SENTINEL_NAME: z.string().min(1).default('mymaster'),
  /**
   * `host:port,host:port` of Redis Cluster nodes to discover the cluster from; with it, REDIS_URL gives only
   * the user, password and TLS (`rediss://`).
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(
      /^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/,
      'must be host:port pairs separated by commas, e.g. redis-1:6379,redis-2:6379',
    )
    .optional(),
  /**
   * The cluster's `cluster-node-timeout` (ms): a failover takes up to about twice this, and the cluster
   * client keeps retrying a command for that long (plus a margin) before it gives up.
   */
  REDIS_CLUSTER_NODE_TIMEOUT_MS: int(100, 600_000).default(15_000),
  SWITCHBOARD_CONFIG: z.string().min(1).default('config/switchboard.yaml'),
  SWITCHBOARD_MODE: z.enum(['production', 'sandbox']).optional(),
  SWITCHBOARD_DATA_KEY: z.string().optional(),
  SWITCHBOARD_DATA_KEYS: z.string().optional(),
  SWITCHBOARD_SANDBOX_AUTH_TOKEN: z.string().min(8).default('sandbox-auth-token-0000000000000000'),
  SWITCHBOARD_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('sb'),
  SWITCHBOARD_QUEUE_SHARDS: int(1, 64).default(1),
  SWITCHBOARD_CONCURRENCY: int(1, 1000).default(32),
  SWITCHBOARD_SEND_CONCURRENCY: int(1, 1000).default(32),
  SWITCHBOARD_LOCK_MS: int(1000, 600_000).default(30_000),
  SWITCHBOARD_TURN_ATTEMPTS: int(1, 50).default(3),
  SWITCHBOARD_SEND_ATTEMPTS: int(1, 50).default(8),
  SWITCHBOARD_RETRY_BASE_MS: int(1, 600_000).default(1000),
  SWITCHBOARD_EVENT_RETRY_BASE_MS: int(1, 3_600_000).default(10_000),
  SWITCHBOARD_REDIS_SERVER: bool.default(true),
  SWITCHBOARD_SHUTDOWN_MS: int(100, 600_000).default(20_000),
  /**
   * When a webhook may answer 200: `none` once Redis has the message (as durable as its own
   * persistence), `replica` once a replica acknowledges it too (WAIT).
   */
  SWITCHBOARD_DURABILITY: z
    .enum(['none', 'replica'], {
      error:
        'must be none (Redis persistence only) or replica (a replica acknowledges every accepted message)',
    })
    .default('none'),
  /** How long a write waits for a replica's acknowledgement (a webhook then answers 503). */
  SWITCHBOARD_DURABILITY_TIMEOUT_MS: int(10, 10_000).default(500),
  /**
   * Where spans go (OTLP over HTTP, JSON): the collector's base URL, `/v1/traces` is added. Unset (and no
   * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): tracing is off and no SDK is started.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  /** The full URL spans are posted to, used as it is; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('switchboard'),
  OTEL_SDK_DISABLED: bool.default(false),
  /** Which traces are kept, as OpenTelemetry names the samplers; the webhook starts each trace. */
  OTEL_TRACES_SAMPLER: z
    .enum(
      [
        'always_on',
        'always_off',
        'traceidratio',
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
      ],
      { error: 'must be an OpenTelemetry sampler name, e.g. parentbased_traceidratio' },
    )
    .default('parentbased_always_on'),
  /** Milliseconds between two exports of buffered spans (the SDK's default 5000); all go at shutdown. */
  OTEL_BSP_SCHEDULE_DELAY: int(1, 600_000).default(5000),
  /** The ratio of the traceidratio samplers, 0 to 1. */
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, 'must be a ratio from 0 to 1, e.g. 0.1')
    .transform(Number)
    .optional(),
  PORT: int(0, 65535).optional(),
  /** A workspace API key for the CLI's operator commands (`switchboard dead-letters`). */
  SWITCHBOARD_API_KEY: z.string().min(1).optional(),
  /** The address the web server binds; overrides `server.host` (default 127.0.0.1 in sandbox mode, else 0.0.0.0). */
  SWITCHBOARD_HOST: z
    .string()
    .regex(/^[A-Za-z0-9._:-]+$/, 'must be an address to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::')
    .optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  /** Unset: pretty on a terminal, JSON otherwise (see `defaultLogFormat` in src/log.ts). */
  LOG_FORMAT: z
    .enum(['pretty', 'json'], {
      error:
        'must be pretty (readable lines, for a terminal) or json (one JSON object a line, for collectors)',
    })
    .optional(),
  /** When set, /metrics answers only requests with `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** When set, /metrics is served on this port only (at METRICS_HOST), not on the gateway's port. */
  METRICS_PORT: int(0, 65535).optional(),
  /** The address the metrics port binds: loopback unless asked (a scraper on the same host or pod). */
  METRICS_HOST: z
    .string()
    .regex(/^[A-Za-z0-9._:-]+$/, 'must be an address to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::')
    .default('127.0.0.1'),
});

const EnvSchema = EnvFields.superRefine((env, ctx) => {
  if (!env.REDIS_CLUSTER_NODES) return;
  if (env.REDIS_SENTINELS) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_CLUSTER_NODES'],
      message: 'is for Redis Cluster and REDIS_SENTINELS for Sentinel: set one of them',
    });
  }
  // A cluster has database 0 only: a REDIS_URL that names another would otherwise be ignored in silence.
  if (!/^\/?0?$/.test(new URL(env.REDIS_URL).pathname)) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_URL'],
      message: 'names a database, but Redis Cluster has database 0 only (leave the path out)',
    });
  }
});

export type Env = z.output<typeof EnvSchema>;

export class EnvError extends Error {
  override readonly name = 'EnvError';
}

const SECRET_VARIABLE = /KEY|TOKEN|SECRET|PASSWORD/;

/** Validates the environment; every problem names the variable and what would be valid. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const blanksRemoved = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.safeParse(blanksRemoved);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const value = source[name] ?? '';
    // A key or token that is wrong is still a secret: say how long it is, never what it is.
    const got = SECRET_VARIABLE.test(name) ? `${value.length} characters` : JSON.stringify(value);
    return `  ${name}: ${issue.message} (got ${got})`;
  });
  throw new EnvError(`Invalid environment:\n${lines.join('\n')}`);
}

/** The raw variables used for `${NAME}` substitution in the configuration. */
export function configVariables(source: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  return { ...source };
}
