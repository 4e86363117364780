// The container and its deployments: the image's build, compose's variables (check-config passes with
// them), and the Helm chart's objects (rendered here: helm itself cannot be installed on this machine).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { checkConfigFiles } from '../../../src/config/index.js';
import { REPO_ROOT } from '../../support/processes.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

describe('the image', () => {
  it('is built on a supported Node LTS, from src, channels and examples only, with production dependencies', () => {
    const dockerfile = read('Dockerfile');
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(bases).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim', 'node:24-bookworm-slim']);
    expect(dockerfile).toContain('RUN npm run build:runtime');
    expect(dockerfile).toContain('RUN npm ci --omit=dev --no-audit --no-fund');
    expect([...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].map((m) => m[1])).toEqual([
      'package.json package-lock.json',
      'tsconfig.json tsconfig.runtime.json',
      'src',
      'channels',
      'examples',
      'package.json package-lock.json',
      'package.json',
      'config',
    ]);
  });

  it('has a build context without node_modules, .git, test or bench', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const path of ['node_modules', '.git', 'test', 'bench', 'dist', '.env'])
      expect(ignored).toContain(path);
  });

  it('compiles no test or bench code (tsconfig.runtime.json)', () => {
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const files = execFileSync(process.execPath, [tsc, '-p', 'tsconfig.runtime.json', '--listFilesOnly'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f !== '' && !f.includes('/node_modules/'))
      .map((f) => relative(REPO_ROOT, f).split('/')[0]);
    expect(new Set(files)).toEqual(new Set(['src', 'channels', 'examples']));
    expect(JSON.parse(read('package.json')).scripts['build:runtime']).toMatch(
      /^tsc -p tsconfig.runtime.json && /,
    );
  });
});

interface ComposeService {
  restart?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
}

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parse(text, { merge: true }) as { services: Record<string, ComposeService> };
  const environment = compose.services.serve!.environment!;
  const required = Object.values(environment).flatMap((value) =>
    [...value.matchAll(/\$\{([A-Z0-9_]+):\?[^}]*\}/g)].map((m) => m[1]!),
  );

  it('lists every variable it requires in its header', () => {
    expect(required).toEqual([
      'PUBLIC_URL',
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'SWITCHBOARD_DATA_KEY',
      'ACME_API_KEY',
      'ACME_EVENTS_SECRET',
      'ACME_WHATSAPP_TEMPLATE_SID',
    ]);
    const header = text.slice(0, text.indexOf('\nx-switchboard'));
    const listed = [...header.matchAll(/^# {3}([A-Z0-9_]+) /gm)].map((m) => m[1]);
    expect(listed).toEqual(required);
  });

  it('passes check-config with exactly those variables set', async () => {
    const values: Record<string, string> = {
      PUBLIC_URL: 'https://gateway.example.com',
      TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-0123456789abcdef',
      SWITCHBOARD_DATA_KEY: Buffer.alloc(32, 7).toString('base64'),
      ACME_API_KEY: 'a'.repeat(64),
      ACME_EVENTS_SECRET: 'events-secret-0123456789',
      ACME_WHATSAPP_TEMPLATE_SID: 'HX0123456789abcdef0123456789abcdef',
    };
    // What the container sees: compose's environment with the operator's values substituted.
    const env = Object.fromEntries(
      Object.entries(environment).map(([name, value]) => [
        name,
        value.replace(/\$\{([A-Z0-9_]+):\?[^}]*\}/g, (_m, v: string) => values[v]!),
      ]),
    );
    const path = env.SWITCHBOARD_CONFIG!.replace(/^\/app\//, `${REPO_ROOT}/`);
    const { config, warnings } = await checkConfigFiles({ path, env });
    expect(Object.keys(config.bots)).toEqual(['acme-bank']);
    expect(warnings).toEqual([]);
  });

  it('restarts every service and checks the health of serve and the workers', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect([name, service.restart]).toEqual([name, 'unless-stopped']);
    }
    const worker = compose.services.worker!;
    expect(worker.command).toEqual(['worker', '--health-file', '/tmp/switchboard.health']);
    expect(worker.healthcheck!.test).toEqual([
      'CMD',
      'node',
      'dist/src/main/cli.js',
      'health',
      '--file',
      '/tmp/switchboard.health',
    ]);
    expect(compose.services.serve!.healthcheck!.test).toEqual([
      'CMD',
      'node',
      'dist/src/main/cli.js',
      'health',
    ]);
  });
});

/**
 * Renders the chart's templates the way helm does for the forms they use: `{{ .Values.x }}`,
 * `{{ .Release.Name }}`, `{{ x | quote }}`, `{{- toYaml x | nindent N }}` and `{{- with x }}…{{- end }}`. Anything else is left as
 * it is, so the test fails on a template it cannot read.
 */
function renderChart(dir: string, releaseName: string): Record<string, unknown>[] {
  const values = parse(readFileSync(join(dir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const scope: Record<string, unknown> = { Values: values, Release: { Name: releaseName } };
  const lookup = (path: string): unknown => {
    let value: unknown = scope;
    for (const part of path.replace(/^\./, '').split('.')) value = (value as Record<string, unknown>)[part];
    if (value === undefined) throw new Error(`the chart reads ${path}, which values.yaml does not set`);
    return value;
  };
  return readdirSync(join(dir, 'templates'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) => {
      const text = readFileSync(join(dir, 'templates', file), 'utf8')
        // `with`: the block only when the value is not empty, with `.` standing for it.
        .replace(
          /\s*\{\{- with (\S+) \}\}([\s\S]*?)\s*\{\{- end \}\}/g,
          (_m, path: string, block: string) => {
            const value = lookup(path);
            const empty =
              value === false ||
              value === '' ||
              (typeof value === 'object' && Object.keys(value as object).length === 0);
            return empty ? '' : block.replaceAll(' . ', ` ${path} `);
          },
        )
        .replace(
          /\s*\{\{- toYaml (\S+) \| nindent (\d+) \}\}/g,
          (_m, path: string, n: string) =>
            `\n${stringify(lookup(path))
              .trimEnd()
              .replace(/^/gm, ' '.repeat(Number(n)))}`,
        )
        .replace(/\{\{ (\S+) \| quote \}\}/g, (_m, path: string) => JSON.stringify(String(lookup(path))))
        .replace(/\{\{ (\.\S+) \}\}/g, (_m, path: string) => String(lookup(path)));
      expect([file, text.includes('{{')]).toEqual([file, false]);
      return parseAllDocuments(text).map((doc) => {
        expect([file, doc.errors]).toEqual([file, []]);
        return doc.toJS() as Record<string, unknown>;
      });
    });
}

interface Container {
  args: string[];
  readinessProbe: Record<string, unknown>;
  livenessProbe: Record<string, unknown>;
  resources: { requests: Record<string, string> };
}

describe('the Helm chart', () => {
  const dir = join(REPO_ROOT, 'deploy/helm/switchboard');
  const objects = renderChart(dir, 'sb');
  const named = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && (o.metadata as { name: string }).name === name) as
      { spec: Record<string, unknown> } | undefined;
  const containerOf = (name: string) =>
    (named('Deployment', name)!.spec as { template: { spec: { containers: Container[] } } }).template.spec
      .containers[0]!;

  it('is a chart helm reads', () => {
    const chart = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'switchboard', type: 'application' });
    expect(objects.map((o) => `${String(o.kind)}/${(o.metadata as { name: string }).name}`)).toEqual([
      'PodDisruptionBudget/sb-serve',
      'PodDisruptionBudget/sb-worker',
      'Deployment/sb-serve',
      'Service/sb',
      'Deployment/sb-worker',
    ]);
  });

  it('runs serve ready on /readyz, and the workers with their health file', () => {
    const serve = containerOf('sb-serve');
    expect(serve.args).toEqual(['serve']);
    expect(serve.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'http' } });
    expect(serve.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    const worker = containerOf('sb-worker');
    expect(worker.args).toEqual(['worker', '--health-file', '/tmp/switchboard.health']);
    const probe = ['node', 'dist/src/main/cli.js', 'health', '--file', '/tmp/switchboard.health'];
    expect(worker.readinessProbe).toMatchObject({ exec: { command: probe } });
    expect(worker.livenessProbe).toMatchObject({ exec: { command: probe } });
  });

  it('requests resources, and keeps a pod of each role through a drain', () => {
    expect(containerOf('sb-serve').resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(containerOf('sb-worker').resources.requests).toEqual({ cpu: '200m', memory: '192Mi' });
    for (const role of ['serve', 'worker']) {
      const pdb = named('PodDisruptionBudget', `sb-${role}`)!;
      const deployment = named('Deployment', `sb-${role}`)!;
      expect(pdb.spec.minAvailable).toBe(1);
      expect(pdb.spec.selector).toEqual(deployment.spec.selector);
      expect(deployment.spec.replicas).toBe(2);
    }
  });
});

describe('package-lock.json', () => {
  it('has no "libc" fields: npm 10 (Node 22) removes them, so `npm install` on a fresh clone would rewrite it', () => {
    expect(read('package-lock.json')).not.toMatch(/"libc":/);
  });
});
