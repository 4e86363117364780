// Liquid templates for flow text, request URLs, headers and bodies, each escaped for where it lands.
import { Liquid, Output, type Template } from 'liquidjs';

/** What a template can see: the flow's variables by name, plus input, authtoken, user, channel, from, bot. */
export type TemplateContext = Record<string, unknown>;

/** A template that cannot be parsed or rendered, or a URL whose scheme or host a value tried to change. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

type Mode = 'text' | 'url' | 'header' | 'typed';

const DEFAULT_CACHE_SIZE = 1000;

// Mirrors Liquid's own stringify so escaped outputs read the same as unescaped ones would.
function stringify(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(stringify).join('');
  return String(value);
}

// encodeURIComponent throws on lone surrogates, which a user can send; replace them instead of failing.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function encodeUrlOutput(value: unknown): string {
  return encodeURIComponent(stringify(value).replace(LONE_SURROGATE, '\uFFFD'));
}

// C0 and C1 controls (CR and LF among them) plus the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g;

function stripControlChars(value: unknown): string {
  return stringify(value).replace(CONTROL_CHARS, '');
}

// The literal scheme and authority a URL template must start with; backslash counts as a path
// separator because the WHATWG URL parser treats it as one for http(s).
const LITERAL_ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*/i;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/** Map-backed LRU: a Map iterates in insertion order, so re-inserting on a hit keeps hot entries last. */
class LruCache<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}

function buildLiquid(mode: Mode): Liquid {
  const engine = new Liquid({
    strictFilters: true,
    ownPropertyOnly: true,
    // An empty in-memory file system: {% include %}, {% render %} and {% layout %} must never read disk.
    templates: {},
    keepOutputType: mode === 'typed',
    outputEscape: mode === 'url' ? encodeUrlOutput : mode === 'header' ? stripControlChars : undefined,
    // Bounds a template looping over a user's 10 KB message; far above anything a flow needs.
    memoryLimit: 10_000_000,
    renderLimit: 1_000,
  });
  if (mode === 'url' || mode === 'header') {
    // Variables hold what users typed, so `| raw` must not switch the escaping off where it protects.
    engine.registerFilter('raw', (value: unknown) => value);
  }
  return engine;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Parses each template once per escaping mode and renders it many times. */
export class Templates {
  private readonly engines: Record<Mode, Liquid>;
  private readonly caches: Record<Mode, LruCache<Template[]>>;

  constructor(options: { cacheSize?: number } = {}) {
    const size = Math.max(1, options.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.engines = {
      text: buildLiquid('text'),
      url: buildLiquid('url'),
      header: buildLiquid('header'),
      typed: buildLiquid('typed'),
    };
    this.caches = {
      text: new LruCache(size),
      url: new LruCache(size),
      header: new LruCache(size),
      typed: new LruCache(size),
    };
  }

  /** Plain text for SMS, WhatsApp and voice: nothing escaped. */
  text(source: string, ctx: TemplateContext): string {
    return stringify(this.render('text', source, ctx));
  }

  /**
   * A URL: every output is URL-encoded, and the result must keep the scheme and host written literally
   * in the source, with no `.` or `..` path segment (which a URL parser would resolve away).
   */
  url(source: string, ctx: TemplateContext): string {
    const literal = LITERAL_ORIGIN.exec(source)?.[0];
    if (literal === undefined) {
      throw new TemplateError('a URL template must start with a literal scheme and host, like https://host/');
    }
    if (literal.includes('{{') || literal.includes('{%')) {
      throw new TemplateError('the scheme and host of a URL template must be written literally');
    }
    const rendered = stringify(this.render('url', source, ctx));
    const expected = parseUrl(literal);
    const actual = parseUrl(rendered);
    if (actual.protocol !== expected.protocol || actual.host !== expected.host) {
      throw new TemplateError(`a URL template rendered to another scheme or host than ${expected.origin}`);
    }
    // Checked on the text (not the parsed URL) because parsing already resolved the dot segments.
    const pathText = rendered.slice(literal.length).split(/[?#]/, 1)[0] ?? '';
    if (pathText.split('/').some((segment) => DOT_SEGMENT.test(segment))) {
      throw new TemplateError('a URL template rendered a "." or ".." path segment');
    }
    return rendered;
  }

  /** A header value: control characters (CR and LF among them) removed from every output and the result. */
  header(source: string, ctx: TemplateContext): string {
    return stripControlChars(this.render('header', source, ctx));
  }

  /**
   * A request body from configuration: string leaves are rendered as text, a leaf that is exactly one
   * output keeps the value's own type, and objects and arrays are rebuilt as data so that no value can
   * change the body's structure. Keys are taken literally. A missing variable in a typed leaf is null.
   */
  body(value: unknown, ctx: TemplateContext): unknown {
    if (typeof value === 'string') return this.bodyLeaf(value, ctx);
    if (Array.isArray(value)) return value.map((item: unknown) => this.body(item, ctx));
    if (value !== null && typeof value === 'object') {
      // fromEntries defines own properties, so a "__proto__" key stays a key and never sets a prototype.
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.body(item, ctx)]));
    }
    return value;
  }

  /** The Liquid parse error for `source`, or undefined when it parses. */
  check(source: string): string | undefined {
    try {
      this.parsed('text', source);
      return undefined;
    } catch (error) {
      return error instanceof TemplateError ? error.message : describe(error);
    }
  }

  private bodyLeaf(source: string, ctx: TemplateContext): unknown {
    const templates = this.parsed('typed', source);
    if (templates.length === 1 && templates[0] instanceof Output) {
      const value = this.renderParsed('typed', templates, ctx);
      return value === undefined ? null : value;
    }
    return this.text(source, ctx);
  }

  private render(mode: Mode, source: string, ctx: TemplateContext): unknown {
    return this.renderParsed(mode, this.parsed(mode, source), ctx);
  }

  private renderParsed(mode: Mode, templates: Template[], ctx: TemplateContext): unknown {
    try {
      return this.engines[mode].renderSync(templates, ctx);
    } catch (error) {
      throw new TemplateError(describe(error), { cause: error });
    }
  }

  private parsed(mode: Mode, source: string): Template[] {
    const cache = this.caches[mode];
    const hit = cache.get(source);
    if (hit !== undefined) return hit;
    let templates: Template[];
    try {
      templates = this.engines[mode].parse(source);
    } catch (error) {
      throw new TemplateError(describe(error), { cause: error });
    }
    cache.set(source, templates);
    return templates;
  }
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new TemplateError('a URL template did not render to a valid URL');
  }
}
