// The pages a sign-in link's browser sees: plain server-rendered HTML, every text escaped, one inline style.
import { createHash } from 'node:crypto';
import type { Response } from 'express';

const STYLE = `
body{font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:2rem 1.25rem;color:#1a1a1a;background:#f6f7f9}
main{max-width:28rem;margin:0 auto;background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .75rem}
p{margin:.5rem 0}
button{font:inherit;font-weight:600;width:100%;padding:.85rem;margin-top:1rem;border:0;border-radius:8px;background:#1d4ed8;color:#fff}
.code{font:700 2.4rem/1.2 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.08em;text-align:center;margin:1rem 0}
`;

/** The style's hash for the CSP: the page carries no script and loads nothing. */
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

// No form-action: the Continue form posts to this page, whose answer redirects to the provider, and
// browsers hold that redirect to form-action too (the provider's origin is not known here).
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; base-uri 'none'; frame-ancestors 'none'`;

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** One page: a heading, paragraphs, and what else (a form, a code) as already-escaped HTML. */
export interface Page {
  status: number;
  title: string;
  paragraphs: string[];
  /** Trusted HTML after the paragraphs (built here only). */
  extra?: string;
  /** Paragraphs after `extra`. */
  after?: string[];
}

/** The headers of every sign-in page: never cached, never indexed, no referrer to the provider. */
export function pageHeaders(res: Response): Response {
  return res.set({
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
    'Referrer-Policy': 'no-referrer',
    'X-Robots-Tag': 'noindex, nofollow',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': CSP,
  });
}

export function sendPage(res: Response, page: Page): void {
  const para = (texts: string[] = []) => texts.map((t) => `<p>${escapeHtml(t)}</p>`).join('\n');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(page.title)}</h1>
${para(page.paragraphs)}
${page.extra ?? ''}
${para(page.after)}
</main>
</body>
</html>
`;
  pageHeaders(res).status(page.status).type('html').send(html);
}

/** Every text the pages say, so that tests and docs can name them exactly. */
export const SIGN_IN_TEXT = {
  continueTitle: (name: string) => `Sign in to ${name}`,
  continueBody: 'Tap Continue to sign in. When you are done, you will come back here.',
  continueButton: 'Continue',
  unknownTitle: "This sign-in link isn't valid",
  unknownBody:
    'Check that you opened the whole link, or go back to the conversation and ask again for a new link.',
  usedTitle: 'This sign-in link has already been used',
  usedBody: 'Each link works once. Go back to the conversation and ask again for a new link.',
  expiredTitle: 'This sign-in link has expired',
  expiredBody: 'Links work for a few minutes only. Go back to the conversation and ask again for a new link.',
  goneTitle: 'This sign-in is no longer available',
  goneBody: 'Go back to the conversation and ask again for a new link.',
  badCallbackTitle: "This sign-in can't be finished",
  badCallbackBody:
    "This page didn't come back from a sign-in we started. Go back to the conversation and ask again for a new link.",
  finishedTitle: 'This sign-in is already finished',
  finishedBody:
    'This page was already used. Go back to the conversation, and ask again for a new link if you are not signed in.',
  otherBrowserTitle: 'Finish signing in in the same browser',
  otherBrowserBody:
    'This sign-in was started in another browser. Open the link again in the browser you started with, or go back to the conversation and ask again for a new link.',
  cancelledTitle: 'Sign-in was cancelled',
  cancelledBody: 'Nothing was shared. Go back to the conversation to carry on.',
  refusedTitle: "Sign-in didn't work",
  refusedBody:
    'The sign-in service did not accept it. Go back to the conversation and ask again for a new link.',
  providerDownTitle: "The sign-in service can't be reached",
  providerDownBody:
    "We couldn't reach the sign-in service. Please try again in a few minutes: go back to the conversation and ask again for a new link.",
  redisDownTitle: 'Sign-in is unavailable right now',
  redisDownBody: 'Please try again in a minute.',
  signedInTitle: "You're signed in",
  signedInBody: "You're signed in. You can close this page and go back to the conversation.",
  bindingBody: 'Type this code into your conversation:',
  bindingAfter: 'The code works once, and only in the conversation that sent you the link.',
} as const;

/** A 6-digit code as the page shows it: two groups of three, easier to read and type. */
export function spacedCode(code: string): string {
  return `${code.slice(0, 3)} ${code.slice(3)}`;
}

const T = SIGN_IN_TEXT;

export const pages = {
  live: (name: string): Page => ({
    status: 200,
    title: T.continueTitle(name),
    paragraphs: [T.continueBody],
    extra: `<form method="post"><button type="submit">${escapeHtml(T.continueButton)}</button></form>`,
  }),
  unknown: (): Page => ({ status: 404, title: T.unknownTitle, paragraphs: [T.unknownBody] }),
  used: (): Page => ({ status: 410, title: T.usedTitle, paragraphs: [T.usedBody] }),
  expired: (): Page => ({ status: 410, title: T.expiredTitle, paragraphs: [T.expiredBody] }),
  gone: (): Page => ({ status: 410, title: T.goneTitle, paragraphs: [T.goneBody] }),
  badCallback: (): Page => ({ status: 400, title: T.badCallbackTitle, paragraphs: [T.badCallbackBody] }),
  finished: (): Page => ({ status: 410, title: T.finishedTitle, paragraphs: [T.finishedBody] }),
  otherBrowser: (): Page => ({ status: 400, title: T.otherBrowserTitle, paragraphs: [T.otherBrowserBody] }),
  cancelled: (): Page => ({ status: 200, title: T.cancelledTitle, paragraphs: [T.cancelledBody] }),
  refused: (): Page => ({ status: 400, title: T.refusedTitle, paragraphs: [T.refusedBody] }),
  /** 424 (a request it depended on failed): the gateway itself is fine, so never a 5xx. */
  providerDown: (): Page => ({ status: 424, title: T.providerDownTitle, paragraphs: [T.providerDownBody] }),
  redisDown: (): Page => ({ status: 503, title: T.redisDownTitle, paragraphs: [T.redisDownBody] }),
  signedIn: (): Page => ({ status: 200, title: T.signedInTitle, paragraphs: [T.signedInBody] }),
  binding: (code: string): Page => ({
    status: 200,
    title: T.signedInTitle,
    paragraphs: [T.bindingBody],
    extra: `<p class="code">${escapeHtml(spacedCode(code))}</p>`,
    after: [T.bindingAfter],
  }),
};
