// A loopback OTLP/HTTP receiver: takes POST /v1/traces as OTLP JSON (what exporter-trace-otlp-http sends) and keeps the spans.
import { createServer, type Server } from 'node:http';
import { listenOnLoopback } from '../../fakes/loopback.js';

/** An OTLP JSON AnyValue: only the scalar kinds Switchboard sets. */
interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: AnyValue }[];
  status?: { code?: number; message?: string };
}

interface ExportTraceServiceRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: AnyValue }[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

/** One received span, its attributes flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  scope: string | undefined;
  service: string | undefined;
}

export interface OtlpReceiver {
  /** http://127.0.0.1:PORT: what OTEL_EXPORTER_OTLP_ENDPOINT is set to. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Every request body, as received (for the secret scan). */
  readonly bodies: string[];
  /** Every request's path and content type. */
  readonly requests: { method: string; path: string; contentType: string | undefined }[];
  /** Resolves with the spans once `done(spans)` holds for everything received so far. */
  waitFor(done: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

function scalar(value: AnyValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  throw new Error(`an attribute value of a kind Switchboard does not set: ${JSON.stringify(value)}`);
}

function flatten(
  attributes: { key: string; value: AnyValue }[] = [],
): Record<string, string | number | boolean> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, scalar(value)]));
}

/** The spans of one OTLP JSON export request. */
export function decodeTraces(body: string): ReceivedSpan[] {
  const request = JSON.parse(body) as ExportTraceServiceRequest;
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const service = flatten(resourceSpans.resource?.attributes)['service.name'];
    return (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) =>
      (scopeSpans.spans ?? []).map((span) => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId:
          span.parentSpanId === undefined || span.parentSpanId === '' ? undefined : span.parentSpanId,
        name: span.name,
        kind: span.kind,
        attributes: flatten(span.attributes),
        statusCode: span.status?.code ?? 0,
        scope: scopeSpans.scope?.name,
        service: typeof service === 'string' ? service : undefined,
      })),
    );
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const waiting = new Set<() => void>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: req.headers['content-type'],
      });
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      bodies.push(body);
      spans.push(...decodeTraces(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const check of [...waiting]) check();
    });
  });
  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    requests,
    waitFor(done) {
      return new Promise((resolve) => {
        const check = () => {
          if (!done(spans)) return;
          waiting.delete(check);
          resolve([...spans]);
        };
        waiting.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
