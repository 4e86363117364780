// Prometheus metrics (prom-client), on a registry of our own so tests can build several gateways.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  inbound: Counter<'channel' | 'status'>;
  outbound: Counter<'channel' | 'status'>;
  auth: Counter<'component_type' | 'result'>;
  tokenCache: Counter<'result'>;
  tokenRefreshes: Counter<'component_type' | 'result'>;
  signIns: Counter<'component_type' | 'outcome'>;
  linkCodeLimit: Counter<'workspace'>;
  turnSeconds: Histogram<'channel'>;
  queueDepth: Gauge<'queue'>;
}

export function createMetrics(depth?: () => Promise<{ conversations: number; sends: number }>): Metrics {
  const registry = new Registry();
  // prom-client's default names already start with process_ or nodejs_: switchboard_process_resident_memory_bytes.
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_' });
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
      help: 'Auth component calls by result (success, wrong_credentials, unavailable, locked).',
      labelNames: ['component_type', 'result'],
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
        if (!depth) return;
        try {
          const d = await depth();
          this.set({ queue: 'conversations' }, d.conversations);
          this.set({ queue: 'sends' }, d.sends);
        } catch {
          // Redis unreachable: the gauge keeps its last value; /readyz reports the outage.
        }
      },
    }),
  };
}
