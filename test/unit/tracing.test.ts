// Tracing's settings: where spans are posted, and a clear message for each variable set wrong.
import { describe, expect, it } from 'vitest';
import { EnvError, readEnv } from '../../src/env.js';
import { tracesUrl } from '../../src/tracing.js';

describe('tracing settings', () => {
  it('posts to the base endpoint plus /v1/traces, or to the traces endpoint as given', () => {
    expect(tracesUrl(readEnv({}))).toBeUndefined();
    expect(tracesUrl(readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }))).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(tracesUrl(readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318/otlp/' }))).toBe(
      'https://collector:4318/otlp/v1/traces',
    );
    expect(
      tracesUrl(
        readEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/in',
        }),
      ),
    ).toBe('http://traces:9999/in');
  });

  it('defaults: service switchboard, every trace kept unless its parent was dropped, a 5 s batch', () => {
    const env = readEnv({});
    expect({
      service: env.OTEL_SERVICE_NAME,
      sampler: env.OTEL_TRACES_SAMPLER,
      ratio: env.OTEL_TRACES_SAMPLER_ARG,
      delay: env.OTEL_BSP_SCHEDULE_DELAY,
      disabled: env.OTEL_SDK_DISABLED,
    }).toEqual({
      service: 'switchboard',
      sampler: 'parentbased_always_on',
      ratio: undefined,
      delay: 5000,
      disabled: false,
    });
    const sampled = readEnv({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect([sampled.OTEL_TRACES_SAMPLER, sampled.OTEL_TRACES_SAMPLER_ARG]).toEqual([
      'parentbased_traceidratio',
      0.25,
    ]);
  });

  it('names the variable and what would be valid', () => {
    const problem = (source: Record<string, string>) => {
      try {
        readEnv(source);
      } catch (error) {
        if (error instanceof EnvError) return error.message;
        throw error;
      }
      return 'no problem';
    };
    expect(problem({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toBe(
      'Invalid environment:\n  OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL, e.g. http://otel-collector:4318 (got "collector:4318")',
    );
    expect(problem({ OTEL_TRACES_SAMPLER: 'sometimes' })).toBe(
      'Invalid environment:\n  OTEL_TRACES_SAMPLER: must be an OpenTelemetry sampler name, e.g. parentbased_traceidratio (got "sometimes")',
    );
    expect(problem({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toBe(
      'Invalid environment:\n  OTEL_TRACES_SAMPLER_ARG: must be a ratio from 0 to 1, e.g. 0.1 (got "1.5")',
    );
  });
});
