// OpenTelemetry tracing: the SDK started only when an OTLP endpoint is set, and the span helpers the layers use.
import {
  context,
  diag,
  DiagLogLevel,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import type { Env } from './env.js';
import type { Logger } from './log.js';
import { throttled } from './log-throttle.js';

export { SpanKind, type Span };

/**
 * Every span of Switchboard comes from this tracer, the API's no-op until an SDK is registered (and got
 * again then: a proxy tracer keeps the first provider it found).
 */
let tracer = trace.getTracer('switchboard');
/** Whether an SDK was started here: off, the helpers below skip even the API's no-op work. */
let active = false;
/** The span handed to work while tracing is off: records nothing. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The running SDK, or nothing to stop when tracing is off. */
export interface Tracing {
  readonly enabled: boolean;
  /**
   * Sends the spans still buffered, then stops the SDK. Resolves without throwing, and after `withinMs` at
   * the latest: a collector that is away must not hold a stopping process (its exporter retries for 10 s).
   */
  shutdown(withinMs?: number): Promise<void>;
}

const OFF: Tracing = { enabled: false, shutdown: async () => undefined };

/** Where spans are posted: the traces endpoint as given, else the base endpoint's `/v1/traces`. */
export function tracesUrl(env: Env): string | undefined {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Starts the SDK (OTLP over HTTP with JSON, batched) when an endpoint is set; otherwise loads nothing and
 * registers nothing. Once per process: the providers are global.
 */
export async function startTracing(env: Env, logger: Logger): Promise<Tracing> {
  const url = tracesUrl(env);
  if (!url || env.OTEL_SDK_DISABLED) return OFF;
  const [{ NodeTracerProvider }, base, { OTLPTraceExporter }, { resourceFromAttributes }, semconv, core] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/semantic-conventions'),
      import('@opentelemetry/core'),
    ]);
  // The SDK reports failed exports through its diagnostics: one warn line per reason per interval.
  const problem = throttled((message, meta) => logger.warn(message, meta), 'tracing problem');
  diag.setLogger(
    {
      error: (message) => problem(message),
      warn: (message) => problem(message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  const ratio = env.OTEL_TRACES_SAMPLER_ARG ?? 1;
  const samplers = {
    always_on: () => new base.AlwaysOnSampler(),
    always_off: () => new base.AlwaysOffSampler(),
    traceidratio: () => new base.TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: () => new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() }),
    parentbased_always_off: () => new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() }),
    parentbased_traceidratio: () =>
      new base.ParentBasedSampler({ root: new base.TraceIdRatioBasedSampler(ratio) }),
  };
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME }),
    sampler: samplers[env.OTEL_TRACES_SAMPLER](),
    spanProcessors: [
      new base.BatchSpanProcessor(new OTLPTraceExporter({ url }), {
        scheduledDelayMillis: env.OTEL_BSP_SCHEDULE_DELAY,
      }),
    ],
  });
  // W3C trace context only: baggage could carry anything, and nothing here reads it.
  provider.register({ propagator: new core.W3CTraceContextPropagator() });
  tracer = trace.getTracer('switchboard');
  active = true;
  logger.info('tracing on', {
    endpoint: new URL(url).origin,
    service: env.OTEL_SERVICE_NAME,
    sampler: env.OTEL_TRACES_SAMPLER,
  });
  return {
    enabled: true,
    async shutdown(withinMs = 5000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the collector did not take them within ${withinMs} ms`)),
          withinMs,
        );
      });
      try {
        await Promise.race([provider.shutdown(), late]);
      } catch (error) {
        logger.warn('tracing stopped with spans unsent', {
          reason: error instanceof Error ? error.message : String(error),
        });
      } finally {
        clearTimeout(timer);
      }
      trace.disable();
      propagation.disable();
      context.disable();
      diag.disable();
      active = false;
      tracer = trace.getTracer('switchboard'); // the no-op again (a proxy keeps the provider it first found)
    },
  };
}

/** What a span may carry: names, ids and counts, never a secret or a message's text. */
export type SpanAttributes = Attributes;

export interface SpanOptions {
  kind?: SpanKind;
  /** Built only when tracing is on. */
  attributes?: () => SpanAttributes;
  /** A W3C `traceparent` carried across a queue: the span continues that trace. */
  parent?: string | undefined;
}

/**
 * Runs `work` inside a span that is the active one meanwhile (so what it calls is its child and its HTTP
 * calls carry its `traceparent`). A throw marks the span failed with the error's class name only: an
 * error's message could quote what it should not.
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  if (!active) return work(NO_SPAN);
  const parent =
    options.parent === undefined
      ? context.active()
      : propagation.extract(ROOT_CONTEXT, { traceparent: options.parent });
  return tracer.startActiveSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes() } : {}),
    },
    parent,
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        failed(span, error instanceof Error ? error.name : 'Error');
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Marks a span failed, with a reason that is a class or outcome name (never a message). */
export function failed(span: Span, errorType: string): void {
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
}

/**
 * The active span's `traceparent`, to carry across a queue; undefined with tracing off (no field is added
 * to what is queued).
 */
export function currentTraceparent(): string | undefined {
  if (!active) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'];
}

/** `{ traceparent }` of the active span, or nothing: spread into what is queued. */
export function traceField(): { traceparent?: string } {
  const traceparent = currentTraceparent();
  return traceparent === undefined ? {} : { traceparent };
}

/** Sets `traceparent` (and `tracestate`) of the active span on outgoing request headers (lower-case names). */
export function injectTraceContext(headers: Record<string, string>): void {
  if (!active) return;
  propagation.inject(context.active(), headers);
}

/** The host of a URL for a span (never its path or query), or undefined when it is not a URL. */
export function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** The attributes that say which conversation a span is about (its ids are opaque hashes and provider ids). */
export function conversationAttributes(of: {
  bot?: string | undefined;
  channel?: string | undefined;
  conversation?: string | undefined;
  event?: string | undefined;
}): SpanAttributes {
  const attributes: SpanAttributes = {};
  if (of.bot !== undefined) attributes['switchboard.bot'] = of.bot;
  if (of.channel !== undefined) attributes['switchboard.channel'] = of.channel;
  if (of.conversation !== undefined) attributes['switchboard.conversation'] = of.conversation;
  if (of.event !== undefined) attributes['switchboard.event'] = of.event;
  return attributes;
}

/** Adds attributes to the active span (what a span learns halfway, e.g. the bot a webhook is for). */
export function annotateActiveSpan(attributes: () => SpanAttributes): void {
  if (active) trace.getActiveSpan()?.setAttributes(attributes());
}
