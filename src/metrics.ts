// Prometheus metrics (prom-client), on a registry of our own so tests can build several gateways.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  inbound: Counter<'channel' | 'status'>;
  outbound: Counter<'channel' | 'status'>;
  auth: Counter<'component' | 'component_type' | 'result'>;
  /** Request steps' calls to protected APIs, once per run of the step (after its retries). */
  apiRequests: Counter<'bot' | 'status_class'>;
  lockouts: Counter<'bot' | 'component' | 'limit'>;
  optOuts: Counter<'bot' | 'channel' | 'change'>;
  deadLetters: Counter<'bot' | 'channel'>;
  /** Replies the provider refused or that gave up, by the provider's error code. */
  sendErrors: Counter<'channel' | 'error_code'>;
  tokenCache: Counter<'result'>;
  tokenRefreshes: Counter<'component_type' | 'result'>;
  signIns: Counter<'component_type' | 'outcome'>;
  linkCodeLimit: Counter<'workspace'>;
  turnSeconds: Histogram<'channel'>;
  queueDepth: Gauge<'queue'>;
  queueOldest: Gauge<'queue'>;
}

/** What the queues hold now, for the gauges (read from Redis at each scrape). */
export interface QueueSnapshot {
  conversations: number;
  sends: number;
  /** Seconds the oldest job not yet started has waited, per queue kind (0 when none waits). */
  oldestWaitingSeconds?: { conversations: number; sends: number };
}

/**
 * prom-client's defaults include three gauges named `…_total` (the sums of `nodejs_active_handles`,
 * `_requests` and `_resources` over their `type` label), which Prometheus' naming rules keep for
 * counters. The by-type gauges stay: `sum(switchboard_nodejs_active_handles)` is the same figure.
 */
const MISNAMED_DEFAULTS = ['active_handles_total', 'active_requests_total', 'active_resources_total'];

/** `2xx`…`5xx` for an answer, else what happened instead (timeout, network, refused). */
export function statusClass(outcome: { status?: number; reason: string }): string {
  if (outcome.status !== undefined) return `${Math.floor(outcome.status / 100)}xx`;
  return outcome.reason === 'timeout' || outcome.reason === 'refused' ? outcome.reason : 'network';
}

export function createMetrics(depth?: () => Promise<QueueSnapshot>): Metrics {
  const registry = new Registry();
  // prom-client's default names already start with process_ or nodejs_: switchboard_process_resident_memory_bytes.
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_' });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`switchboard_nodejs_${name}`);
  // One read of the queues per scrape, shared by the depth and age gauges.
  let snapshot: Promise<QueueSnapshot | undefined> | undefined;
  const queues = (): Promise<QueueSnapshot | undefined> => {
    if (!depth) return Promise.resolve(undefined);
    snapshot ??= depth()
      .catch(() => undefined) // Redis unreachable: the gauges keep their last values; /readyz reports the outage
      .finally(() => (snapshot = undefined));
    return snapshot;
  };
  return {
    registry,
    inbound: new Counter({
      name: 'switchboard_inbound_messages_total',
      help: 'Inbound webhooks by channel and outcome (accepted, duplicate, rejected, refused, unavailable).',
      labelNames: ['channel', 'status'],
      registers: [registry],
    }),
    outbound: new Counter({
      name: 'switchboard_outbound_messages_total',
      help: 'Replies by channel and outcome (sent, retried, failed).',
      labelNames: ['channel', 'status'],
      registers: [registry],
    }),
    auth: new Counter({
      name: 'switchboard_auth_results_total',
      help: 'Auth component calls by component, its type and result (success, wrong_credentials, unavailable, locked).',
      labelNames: ['component', 'component_type', 'result'],
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'switchboard_api_requests_total',
      help: 'Request steps calling protected APIs, by bot and outcome: the status class (2xx, 3xx, 4xx, 5xx) or timeout, network, refused.',
      labelNames: ['bot', 'status_class'],
      registers: [registry],
    }),
    lockouts: new Counter({
      name: 'switchboard_lockouts_total',
      help: 'Lockouts started after failed logins, by bot, component and limit (identity: one phone; account: the typed account, from any phone).',
      labelNames: ['bot', 'component', 'limit'],
      registers: [registry],
    }),
    optOuts: new Counter({
      name: 'switchboard_opt_outs_total',
      help: 'Opt-out changes by bot, channel and change (out: STOP and the like; in: START).',
      labelNames: ['bot', 'channel', 'change'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'switchboard_dead_letters_total',
      help: 'Turns given up on and dead-lettered, by bot and channel (unknown when the event could not be opened).',
      labelNames: ['bot', 'channel'],
      registers: [registry],
    }),
    sendErrors: new Counter({
      name: 'switchboard_send_errors_total',
      help: "Replies not delivered, by channel and the provider's error code (its HTTP status when it gave none; none when it never answered).",
      labelNames: ['channel', 'error_code'],
      registers: [registry],
    }),
    tokenCache: new Counter({
      name: 'switchboard_token_cache_total',
      help: 'Token cache lookups by result (hit, miss).',
      labelNames: ['result'],
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: 'switchboard_token_refreshes_total',
      help: 'Refresh-token calls to auth providers by result (success, refused, unavailable); one per refresh across workers.',
      labelNames: ['component_type', 'result'],
      registers: [registry],
    }),
    signIns: new Counter({
      name: 'switchboard_sign_ins_total',
      help: 'Sign-in links by outcome: started (a link sent), completed (its token taken into the conversation), refused (wrong or too many binding codes, a forbidden identity move).',
      labelNames: ['component_type', 'outcome'],
      registers: [registry],
    }),
    linkCodeLimit: new Counter({
      name: 'switchboard_link_code_limit_trips_total',
      help: 'Times a workspace received too many wrong link codes and paused redemptions.',
      labelNames: ['workspace'],
      registers: [registry],
    }),
    turnSeconds: new Histogram({
      name: 'switchboard_turn_seconds',
      help: 'Seconds from webhook to the end of the turn it started.',
      labelNames: ['channel'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'switchboard_queue_depth',
      help: 'Conversations and outboxes with work waiting or running.',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        const d = await queues();
        if (!d) return;
        this.set({ queue: 'conversations' }, d.conversations);
        this.set({ queue: 'sends' }, d.sends);
      },
    }),
    queueOldest: new Gauge({
      name: 'switchboard_queue_oldest_waiting_seconds',
      help: 'Seconds the oldest conversation (or outbox) with work has waited for a worker to start on it; 0 when none waits.',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        const oldest = (await queues())?.oldestWaitingSeconds;
        if (!oldest) return;
        this.set({ queue: 'conversations' }, oldest.conversations);
        this.set({ queue: 'sends' }, oldest.sends);
      },
    }),
  };
}
