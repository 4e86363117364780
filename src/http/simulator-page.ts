// The simulator page served at GET /simulator: HTML, CSS and vanilla JS as strings, so the build needs no assets.
// The script renders every server-provided string with textContent, never as HTML.

const ICON_WHATSAPP =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 2a10 10 0 0 0-8.6 15.1L2 22l5-1.3A10 10 0 1 0 12 2Zm0 18.2a8.2 8.2 0 0 1-4.2-1.2l-.3-.2-3 .8.8-2.9-.2-.3A8.2 8.2 0 1 1 12 20.2Zm4.5-6.1c-.2-.1-1.5-.7-1.7-.8-.2-.1-.4-.1-.6.1l-.8 1c-.1.2-.3.2-.5.1a6.7 6.7 0 0 1-3.3-2.9c-.3-.4.2-.4.7-1.3.1-.2 0-.3 0-.4l-.8-1.8c-.2-.5-.4-.4-.6-.4h-.5a1 1 0 0 0-.7.3 3 3 0 0 0-.9 2.2 5.2 5.2 0 0 0 1.1 2.7 11.8 11.8 0 0 0 4.5 4c1.7.7 2.3.8 3.2.6.5-.1 1.5-.6 1.7-1.2.2-.6.2-1.1.2-1.2-.1-.1-.3-.2-.5-.3Z"/></svg>';
const ICON_SMS =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.6 3.4 6.1L4.6 21l4.2-2.3c1 .2 2.1.3 3.2.3 5.5 0 10-3.6 10-8s-4.5-8-10-8Z"/></svg>';
const ICON_PHONE =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1A17 17 0 0 1 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1l-2.3 2.2Z"/></svg>';
const ICON_SEND =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"/></svg>';

const KEYS: [string, string][] = [
  ['1', ''],
  ['2', 'ABC'],
  ['3', 'DEF'],
  ['4', 'GHI'],
  ['5', 'JKL'],
  ['6', 'MNO'],
  ['7', 'PQRS'],
  ['8', 'TUV'],
  ['9', 'WXYZ'],
  ['*', ''],
  ['0', '+'],
  ['#', ''],
];

const KEYPAD = KEYS.map(
  ([key, letters]) =>
    `<button type="button" class="key" data-key="${key}" aria-label="Key ${key}"><span class="digit">${key}</span><span class="letters">${letters || '&nbsp;'}</span></button>`,
).join('');

export const SIMULATOR_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Switchboard simulator</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/simulator/app.css">
<script src="/simulator/app.js" defer></script>
</head>
<body>
<header class="topbar">
  <span class="brand">Switchboard</span><span class="badge">sandbox</span>
  <span class="tagline">Signed webhooks through the real queue and workers. Nothing leaves this machine.</span>
</header>
<main class="layout">
  <section class="phone" id="phone" data-channel="whatsapp" aria-label="Simulated phone">
    <div class="screen">
      <div class="statusbar"><span id="clock">9:41</span><span class="island"></span><span class="indicators" aria-hidden="true"><span class="bars"><i></i><i></i><i></i><i></i></span>5G<span class="battery"></span></span></div>

      <div class="app" id="messaging">
        <div class="app-header">
          <div class="avatar" id="avatar" aria-hidden="true">?</div>
          <div class="who"><div class="name" id="contact-name">…</div><div class="sub" id="contact-number"></div></div>
        </div>
        <ol class="thread" id="thread" aria-live="polite" aria-label="Conversation"></ol>
        <form class="composer" id="composer" autocomplete="off">
          <input id="message" type="text" maxlength="1600" placeholder="Message" aria-label="Message">
          <button type="submit" id="send" aria-label="Send">${ICON_SEND}</button>
        </form>
      </div>

      <div class="app" id="call" hidden>
        <div class="call-top">
          <div class="call-avatar" id="call-avatar" aria-hidden="true">?</div>
          <div class="call-name" id="call-name">…</div>
          <div class="call-number" id="call-number"></div>
          <div class="call-state" id="call-state">Ready to call</div>
        </div>
        <ol class="captions" id="captions" aria-live="polite" aria-label="Spoken prompts"></ol>
        <div class="entry" id="entry" aria-live="polite"></div>
        <div class="keypad" id="keypad">${KEYPAD}</div>
        <form class="speech" id="speech-row" hidden autocomplete="off">
          <input id="speech" type="text" maxlength="500" placeholder="Speak (type what you would say)" aria-label="Speech">
          <button type="submit">Say</button>
        </form>
        <div class="call-actions">
          <button type="button" id="silence" class="ghost" disabled>Stay silent</button>
          <button type="button" id="dial" class="dial" aria-label="Call">${ICON_PHONE}</button>
          <span class="ghost-spacer"></span>
        </div>
      </div>

      <nav class="dock" role="tablist" aria-label="Channel">
        <button type="button" role="tab" data-channel="whatsapp" aria-selected="true">${ICON_WHATSAPP}<span>WhatsApp</span></button>
        <button type="button" role="tab" data-channel="sms" aria-selected="false">${ICON_SMS}<span>SMS</span></button>
        <button type="button" role="tab" data-channel="voice" aria-selected="false">${ICON_PHONE}<span>Call</span></button>
      </nav>
      <div class="home-indicator" aria-hidden="true"></div>
    </div>
  </section>

  <aside class="side">
    <section class="card">
      <h2>Setup</h2>
      <label class="field"><span>Bot</span><select id="bot"></select></label>
      <label class="field"><span>Your number</span>
        <span class="row"><input id="from" type="tel" value="+15551230000" spellcheck="false"><button type="button" id="new-number" class="small">New</button></span>
      </label>
      <p class="note" id="route"></p>
      <p class="error" id="setup-error" role="alert" hidden></p>
    </section>

    <section class="card" id="user-card">
      <h2>What Switchboard knows</h2>
      <div class="identity" id="user-identity"></div>
      <div class="tier-row"><span class="tier" id="user-tier" data-tier="unknown">unknown</span><span class="user-name" id="user-name"></span></div>
      <p class="note" id="user-note"></p>
      <h3>Cached tokens</h3>
      <ul class="tokens" id="tokens"></ul>
      <p class="fine">Token values are never shown here or sent to this page.</p>
    </section>

    <section class="card" id="twiml-card" hidden>
      <details>
        <summary>Last TwiML</summary>
        <pre id="twiml"></pre>
      </details>
    </section>
  </aside>
</main>
</body>
</html>
`;

export const SIMULATOR_CSS = String.raw`
:root {
  --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #eef1f6;
  --wa: #008069; --wa-accent: #00a884; --wa-me: #d9fdd3; --wa-wall: #efeae2;
  --sms: #34c759; --sms-bot: #e9e9eb;
  --call-top: #1e293b; --call-bottom: #0b1120;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; min-height: 100vh; background: radial-gradient(circle at 30% 20%, #f8fafc, var(--bg) 60%); }
button, input, select { font: inherit; color: inherit; }
button { cursor: pointer; }
button:disabled { cursor: default; opacity: .45; }
svg { width: 1em; height: 1em; fill: currentColor; }

.topbar { display: flex; align-items: baseline; gap: 10px; padding: 14px 28px; }
.brand { font-weight: 700; font-size: 18px; letter-spacing: -.01em; }
.badge { font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .06em; color: #92400e; background: #fef3c7; border-radius: 999px; padding: 2px 8px; }
.tagline { color: var(--muted); font-size: 13px; }

.layout { display: flex; flex-wrap: wrap; justify-content: center; align-items: flex-start; gap: 36px; padding: 6px 24px 32px; }

/* The phone */
.phone { width: 380px; height: min(780px, calc(100vh - 80px)); min-height: 620px; padding: 12px; border-radius: 56px; background: #0f0f10; box-shadow: 0 0 0 2px #3a3a3c, 0 30px 60px -20px rgba(15, 23, 42, .45), 0 10px 24px rgba(15, 23, 42, .18); flex: none; }
.screen { position: relative; height: 100%; border-radius: 44px; overflow: hidden; display: flex; flex-direction: column; background: #fff; }
.statusbar { flex: none; height: 46px; display: flex; align-items: center; justify-content: space-between; padding: 4px 30px 0 34px; font-size: 15px; font-weight: 600; }
.island { width: 104px; height: 30px; border-radius: 20px; background: #000; }
.indicators { display: flex; align-items: center; gap: 5px; font-size: 12px; }
.bars { display: inline-flex; align-items: flex-end; gap: 1.5px; height: 11px; }
.bars i { display: block; width: 3px; background: currentColor; border-radius: 1px; }
.bars i:nth-child(1) { height: 4px; } .bars i:nth-child(2) { height: 6px; } .bars i:nth-child(3) { height: 8px; } .bars i:nth-child(4) { height: 11px; }
.battery { width: 24px; height: 11px; border: 1.5px solid currentColor; border-radius: 3px; position: relative; opacity: .9; }
.battery::after { content: ""; position: absolute; inset: 1.5px 5px 1.5px 1.5px; background: currentColor; border-radius: 1px; }
.home-indicator { position: absolute; left: 50%; bottom: 7px; width: 124px; height: 5px; margin-left: -62px; border-radius: 3px; background: rgba(0, 0, 0, .75); pointer-events: none; }

.app { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.app-header { flex: none; display: flex; align-items: center; gap: 10px; padding: 8px 14px 10px; }
.avatar { width: 38px; height: 38px; border-radius: 50%; display: grid; place-items: center; font-weight: 600; background: #cbd5e1; color: #fff; flex: none; }
.who { min-width: 0; }
.name { font-weight: 600; font-size: 16px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.sub { font-size: 12px; opacity: .8; }

.thread { flex: 1; min-height: 0; overflow-y: auto; list-style: none; margin: 0; padding: 12px 12px 8px; display: flex; flex-direction: column; gap: 4px; }
.day { align-self: center; font-size: 11.5px; color: #54656f; background: rgba(255, 255, 255, .9); border-radius: 8px; padding: 4px 10px; margin: 2px 0 8px; box-shadow: 0 1px .5px rgba(11, 20, 26, .13); }
.bubble { max-width: 80%; padding: 6px 9px 7px; border-radius: 10px; font-size: 14.5px; line-height: 1.35; white-space: pre-wrap; overflow-wrap: anywhere; position: relative; }
.bubble .text { display: inline; }
.bubble .meta { float: right; margin: 6px -2px -4px 10px; font-size: 10.5px; opacity: .65; white-space: nowrap; }
.bubble.me { align-self: flex-end; }
.bubble.bot { align-self: flex-start; }
.bubble.failed .meta { color: #dc2626; opacity: 1; }
.bubble + .bubble.me, .bubble + .bubble.bot { margin-top: 2px; }
.bubble.me + .bubble.bot, .bubble.bot + .bubble.me { margin-top: 8px; }
.typing { align-self: flex-start; padding: 10px 12px; border-radius: 10px; display: inline-flex; gap: 4px; }
.typing i { width: 6px; height: 6px; border-radius: 50%; background: #8696a0; animation: blink 1.2s infinite; }
.typing i:nth-child(2) { animation-delay: .2s; } .typing i:nth-child(3) { animation-delay: .4s; }
@keyframes blink { 0%, 80%, 100% { opacity: .3; } 40% { opacity: 1; } }
.system { align-self: center; font-size: 12px; color: #7c2d12; background: #ffedd5; border-radius: 8px; padding: 5px 10px; text-align: center; max-width: 90%; }

.composer { flex: none; display: flex; gap: 8px; align-items: center; padding: 8px 10px 22px; }
.composer input { flex: 1; min-width: 0; border: 0; border-radius: 22px; padding: 10px 14px; background: #fff; outline: none; }
.composer button { flex: none; width: 42px; height: 42px; border: 0; border-radius: 50%; display: grid; place-items: center; color: #fff; font-size: 20px; }

.dock { flex: none; display: flex; justify-content: space-around; padding: 6px 8px 20px; border-top: 1px solid var(--line); background: #f9fafb; }
.dock button { border: 0; background: none; display: flex; flex-direction: column; align-items: center; gap: 2px; font-size: 11px; color: #8e8e93; padding: 2px 14px; }
.dock button svg { font-size: 24px; }
.dock button[aria-selected="true"] { color: var(--ink); font-weight: 600; }

/* WhatsApp */
.phone[data-channel="whatsapp"] .statusbar, .phone[data-channel="whatsapp"] .app-header { background: var(--wa); color: #fff; }
.phone[data-channel="whatsapp"] .avatar { background: #dfe5e7; color: #54656f; }
.phone[data-channel="whatsapp"] .thread { background-color: var(--wa-wall); background-image: radial-gradient(rgba(0, 0, 0, .035) 1px, transparent 1px); background-size: 14px 14px; }
.phone[data-channel="whatsapp"] .bubble.me { background: var(--wa-me); border-top-right-radius: 2px; box-shadow: 0 1px .5px rgba(11, 20, 26, .13); }
.phone[data-channel="whatsapp"] .bubble.bot { background: #fff; border-top-left-radius: 2px; box-shadow: 0 1px .5px rgba(11, 20, 26, .13); }
.phone[data-channel="whatsapp"] .bubble.me .meta.ok { color: #53bdeb; opacity: 1; }
.phone[data-channel="whatsapp"] .typing { background: #fff; }
.phone[data-channel="whatsapp"] .composer { background: var(--wa-wall); }
.phone[data-channel="whatsapp"] .composer button { background: var(--wa-accent); }
.phone[data-channel="whatsapp"] .dock button[aria-selected="true"] { color: var(--wa); }

/* SMS */
.phone[data-channel="sms"] .statusbar, .phone[data-channel="sms"] .app-header { background: #f6f6f8; }
.phone[data-channel="sms"] .app-header { flex-direction: column; gap: 4px; border-bottom: 1px solid var(--line); }
.phone[data-channel="sms"] .who { text-align: center; }
.phone[data-channel="sms"] .name { font-size: 13px; font-weight: 500; }
.phone[data-channel="sms"] .avatar { background: linear-gradient(#a5abb8, #858a96); }
.phone[data-channel="sms"] .bubble { border-radius: 18px; padding: 7px 12px 8px; }
.phone[data-channel="sms"] .bubble .meta { display: none; }
.phone[data-channel="sms"] .bubble.me { background: var(--sms); color: #fff; }
.phone[data-channel="sms"] .bubble.bot { background: var(--sms-bot); }
.phone[data-channel="sms"] .receipt { align-self: flex-end; font-size: 11px; color: var(--muted); margin: 0 4px 4px; }
.phone[data-channel="sms"] .receipt.failed { color: #dc2626; }
.phone[data-channel="sms"] .typing { background: var(--sms-bot); border-radius: 18px; }
.phone[data-channel="sms"] .day { background: none; box-shadow: none; color: var(--muted); }
.phone[data-channel="sms"] .composer input { border: 1px solid #d1d5db; }
.phone[data-channel="sms"] .composer button { background: var(--sms); }
.phone[data-channel="sms"] .dock button[aria-selected="true"] { color: #16a34a; }
.phone:not([data-channel="sms"]) .receipt { display: none; }

/* Call */
.phone[data-channel="voice"] .screen { background: linear-gradient(var(--call-top), var(--call-bottom)); color: #f8fafc; }
.phone[data-channel="voice"] .dock { background: rgba(255, 255, 255, .04); border-top-color: rgba(255, 255, 255, .08); }
.phone[data-channel="voice"] .dock button { color: #94a3b8; }
.phone[data-channel="voice"] .dock button[aria-selected="true"] { color: #4ade80; }
.phone[data-channel="voice"] .home-indicator { background: rgba(255, 255, 255, .8); }
.call-top { flex: none; text-align: center; padding: 4px 16px 4px; }
.call-avatar { width: 44px; height: 44px; margin: 0 auto 4px; border-radius: 50%; display: grid; place-items: center; font-size: 18px; font-weight: 600; background: linear-gradient(#64748b, #475569); }
.call-name { font-size: 20px; font-weight: 500; }
.call-number { font-size: 13px; color: #94a3b8; }
.call-state { font-size: 13px; color: #cbd5e1; margin-top: 2px; font-variant-numeric: tabular-nums; }
.captions { flex: 1; min-height: 0; overflow-y: auto; list-style: none; margin: 4px 16px 0; padding: 18px 0 4px; -webkit-mask-image: linear-gradient(transparent, #000 28px); mask-image: linear-gradient(transparent, #000 28px); display: flex; flex-direction: column; gap: 6px; }
.caption { font-size: 14px; line-height: 1.4; color: #94a3b8; padding-left: 10px; border-left: 2px solid transparent; }
.caption.current { font-size: 17px; color: #fff; border-left-color: #4ade80; }
.caption.you { color: #86efac; font-size: 13px; }
.caption.sys { color: #fcd34d; font-size: 12.5px; }
.entry { flex: none; height: 28px; text-align: center; font-size: 22px; letter-spacing: .12em; font-variant-numeric: tabular-nums; color: #fff; }
.entry .hint { font-size: 12px; letter-spacing: 0; color: #94a3b8; }
.keypad { flex: none; display: grid; grid-template-columns: repeat(3, 60px); justify-content: center; gap: 8px 24px; padding: 0 0 4px; }
.key { width: 60px; height: 60px; border-radius: 50%; border: 0; background: rgba(255, 255, 255, .13); display: flex; flex-direction: column; align-items: center; justify-content: center; line-height: 1; transition: background .1s; }
.key:active, .key.pressed { background: rgba(255, 255, 255, .38); }
.key .digit { font-size: 25px; }
.key .letters { font-size: 9px; letter-spacing: .14em; color: #cbd5e1; margin-top: 2px; }
.speech { flex: none; display: flex; gap: 6px; padding: 0 18px 6px; }
.speech input { flex: 1; min-width: 0; border: 0; border-radius: 18px; padding: 8px 12px; background: rgba(255, 255, 255, .14); color: #fff; outline: none; }
.speech input::placeholder { color: #94a3b8; }
.speech button { border: 0; border-radius: 18px; padding: 0 14px; background: rgba(255, 255, 255, .22); }
.call-actions { flex: none; display: grid; grid-template-columns: 1fr auto 1fr; align-items: center; padding: 4px 22px 10px; }
.ghost { justify-self: start; border: 0; background: none; color: #cbd5e1; font-size: 12.5px; padding: 6px 4px; }
.dial { width: 60px; height: 60px; border: 0; border-radius: 50%; background: #22c55e; color: #fff; display: grid; place-items: center; font-size: 28px; box-shadow: 0 6px 16px rgba(34, 197, 94, .35); }
.dial.hangup { background: #ef4444; box-shadow: 0 6px 16px rgba(239, 68, 68, .35); }
.dial.hangup svg { transform: rotate(135deg); }

/* Side panel */
.side { width: 340px; display: flex; flex-direction: column; gap: 16px; }
.card { background: #fff; border-radius: 16px; padding: 16px 18px; box-shadow: 0 1px 2px rgba(15, 23, 42, .06), 0 6px 18px -8px rgba(15, 23, 42, .16); }
.card h2 { margin: 0 0 12px; font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); }
.card h3 { margin: 14px 0 6px; font-size: 13px; }
.field { display: flex; flex-direction: column; gap: 4px; margin-bottom: 10px; font-size: 13px; color: var(--muted); }
.field select, .field input { border: 1px solid #d1d5db; border-radius: 8px; padding: 7px 9px; background: #fff; color: var(--ink); font-size: 14px; min-width: 0; }
.field .row { display: flex; gap: 6px; }
.field .row input { flex: 1; font-variant-numeric: tabular-nums; }
.small { border: 1px solid #d1d5db; background: #f9fafb; border-radius: 8px; padding: 0 12px; font-size: 13px; }
.note { margin: 6px 0 0; font-size: 12.5px; color: var(--muted); line-height: 1.4; }
.fine { margin: 10px 0 0; font-size: 11.5px; color: #9ca3af; }
.error { margin: 8px 0 0; font-size: 12.5px; color: #b91c1c; }
.identity { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; color: var(--muted); margin-bottom: 8px; }
.tier-row { display: flex; align-items: center; gap: 10px; }
.tier { font-size: 12px; font-weight: 600; border-radius: 999px; padding: 3px 10px; text-transform: capitalize; }
.tier[data-tier="unknown"] { background: #f3f4f6; color: #6b7280; border: 1px dashed #d1d5db; }
.tier[data-tier="anonymous"] { background: #f1f5f9; color: #475569; }
.tier[data-tier="unverified"] { background: #fef3c7; color: #92400e; }
.tier[data-tier="verified"] { background: #dcfce7; color: #166534; }
.user-name { font-weight: 600; font-size: 14px; }
.tokens { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.tokens li { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; font-size: 13px; padding: 7px 10px; border-radius: 8px; background: #f8fafc; }
.tokens li.none { color: var(--muted); background: none; padding: 0; }
.tokens .component { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; }
.tokens .expiry { color: var(--muted); font-size: 12px; text-align: right; font-variant-numeric: tabular-nums; }
.tokens li.expired .expiry { color: #b91c1c; }
details summary { cursor: pointer; font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); font-weight: 700; }
pre { margin: 10px 0 0; max-height: 240px; overflow: auto; white-space: pre-wrap; word-break: break-all; font-size: 11.5px; background: #0f172a; color: #e2e8f0; border-radius: 8px; padding: 10px; }

@media (max-width: 760px) {
  .layout { padding: 0 8px 24px; }
  .side { width: 100%; max-width: 380px; }
  .tagline { display: none; }
}
`;

export const SIMULATOR_JS = String.raw`'use strict';
// The simulator page: plays Twilio through /sandbox/simulate/*, reads replies from /sandbox/outbox.
// Every string from the server is rendered with textContent.
(function () {
  const $ = (id) => document.getElementById(id);
  const MESSAGING = ['whatsapp', 'sms'];
  const state = {
    channel: 'whatsapp',
    bots: [],
    bot: '',
    from: '',
    threads: new Map(),
    cursors: new Map(),
    poll: null,
    call: null,
    user: null,
    typingTimer: null,
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function timeOf(date) {
    return date.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
  }

  async function api(path, options) {
    const res = await fetch(path, options);
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const message = body && body.error && body.error.message ? body.error.message : res.status + ' ' + res.statusText;
      throw new Error(message);
    }
    return body;
  }

  function post(path, payload) {
    return api(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
  }

  function currentBot() {
    return state.bots.find((b) => b.id === state.bot);
  }

  function botNumber(channel) {
    const bot = currentBot();
    const list = bot && bot.numbers && bot.numbers[channel];
    return list && list.length ? list[0] : '';
  }

  /** The channel identity the gateway sees for this phone on a channel. */
  function identity(channel) {
    return channel + ':' + state.from;
  }

  /** Where the outbox records replies for this phone on a messaging channel. */
  function outboxAddress(channel) {
    return channel === 'whatsapp' ? 'whatsapp:' + state.from : state.from;
  }

  function threadKey(bot, channel) {
    return bot + '|' + channel + '|' + state.from;
  }

  function thread(key) {
    let entries = state.threads.get(key);
    if (!entries) {
      entries = [];
      state.threads.set(key, entries);
    }
    return entries;
  }

  function showSetupError(message) {
    const node = $('setup-error');
    node.textContent = message || '';
    node.hidden = !message;
  }

  // --- messaging ---

  function renderEntry(entry) {
    if (entry.kind === 'system') return [el('li', 'system', entry.text)];
    const li = el('li', 'bubble ' + entry.who);
    li.appendChild(el('span', 'text', entry.text));
    const meta = el('span', 'meta', timeOf(entry.at));
    if (entry.who === 'me') {
      if (entry.status === 'sent') {
        meta.textContent += ' \u2713\u2713';
        meta.classList.add('ok');
      } else if (entry.status === 'sending') meta.textContent += ' \u2713';
      else if (entry.status === 'failed') {
        li.classList.add('failed');
        meta.textContent += ' !';
      }
    }
    li.appendChild(meta);
    const nodes = [li];
    if (entry.who === 'me' && entry.receipt) {
      nodes.push(el('li', 'receipt' + (entry.status === 'failed' ? ' failed' : ''), entry.receipt));
    }
    return nodes;
  }

  function renderThread() {
    const list = $('thread');
    list.replaceChildren();
    list.appendChild(el('li', 'day', 'Today'));
    const key = threadKey(state.bot, state.channel);
    const entries = thread(key);
    entries.forEach((entry, i) => {
      // SMS shows only the newest receipt, as phones do.
      const view = Object.assign({}, entry);
      if (state.channel === 'sms' && entry.who === 'me' && entries.slice(i + 1).some((e) => e.who === 'me')) {
        view.receipt = entry.status === 'failed' ? entry.receipt : '';
      }
      renderEntry(view).forEach((node) => list.appendChild(node));
    });
    if (state.typingTimer) {
      const dots = el('li', 'typing');
      dots.setAttribute('aria-label', 'Bot is typing');
      dots.append(el('i'), el('i'), el('i'));
      list.appendChild(dots);
    }
    list.scrollTop = list.scrollHeight;
  }

  function addEntry(key, entry) {
    thread(key).push(entry);
    if (key === threadKey(state.bot, state.channel)) renderThread();
  }

  function setTyping(on) {
    clearTimeout(state.typingTimer);
    state.typingTimer = on ? setTimeout(() => setTyping(false), 6000) : null;
    if (MESSAGING.includes(state.channel)) renderThread();
  }

  async function sendMessage(text) {
    const channel = state.channel;
    const key = threadKey(state.bot, channel);
    const entry = { who: 'me', text, at: new Date(), status: 'sending', receipt: 'Sending\u2026' };
    addEntry(key, entry);
    setTyping(true);
    try {
      const answer = await post('/sandbox/simulate/' + channel, { bot: state.bot, from: state.from, text });
      if (answer.status === 'accepted') {
        entry.status = 'sent';
        entry.receipt = 'Delivered';
      } else {
        entry.status = 'failed';
        entry.receipt = 'Not delivered: the gateway answered ' + answer.httpStatus;
        addEntry(key, { kind: 'system', text: 'Webhook refused (' + answer.httpStatus + '): ' + (answer.detail || '') });
        setTyping(false);
      }
    } catch (error) {
      entry.status = 'failed';
      entry.receipt = 'Not delivered';
      addEntry(key, { kind: 'system', text: String(error.message || error) });
      setTyping(false);
    }
    if (key === threadKey(state.bot, state.channel)) renderThread();
    refreshUser();
  }

  /** Which thread a recorded reply belongs to: the bot whose number sent it (another bot's go to theirs). */
  function keyForReply(channel, message) {
    const from = String(message.from || '').replace(/^whatsapp:/, '');
    const bot = state.bots.find((b) => (b.numbers[channel] || []).includes(from));
    return threadKey(bot ? bot.id : state.bot, channel);
  }

  function stopPolling() {
    if (state.poll) state.poll.abort();
    state.poll = null;
  }

  async function pollOutbox() {
    stopPolling();
    if (!MESSAGING.includes(state.channel) || !state.from) return;
    const channel = state.channel;
    const address = outboxAddress(channel);
    const controller = new AbortController();
    state.poll = controller;
    const base = '/sandbox/outbox?to=' + encodeURIComponent(address);
    try {
      // A phone that opens the app now sees what arrives from now on.
      if (!state.cursors.has(address)) {
        const all = await api(base, { signal: controller.signal });
        state.cursors.set(address, all.length);
      }
      while (!controller.signal.aborted) {
        const after = state.cursors.get(address);
        const messages = await api(base + '&after=' + after + '&waitMs=8000', { signal: controller.signal });
        if (controller.signal.aborted) return;
        state.cursors.set(address, after + messages.length);
        if (messages.length) setTyping(false);
        for (const message of messages) {
          addEntry(keyForReply(channel, message), { who: 'bot', text: String(message.body), at: new Date(message.at) });
        }
        if (messages.length) refreshUser();
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      showSetupError('Cannot read the outbox: ' + (error.message || error) + '. Retrying\u2026');
      setTimeout(() => {
        if (state.poll === controller) {
          showSetupError('');
          pollOutbox();
        }
      }, 2000);
    }
  }

  // --- calls ---

  function addCaption(text, kind) {
    const list = $('captions');
    if (!kind) list.querySelectorAll('.caption.current').forEach((n) => n.classList.remove('current'));
    const li = el('li', 'caption' + (kind ? ' ' + kind : ' current'), text);
    list.appendChild(li);
    while (list.children.length > 40) list.removeChild(list.firstChild);
    list.scrollTop = list.scrollHeight;
  }

  function setEntry(text, hint) {
    const entry = $('entry');
    entry.replaceChildren();
    if (text) entry.appendChild(document.createTextNode(text));
    else if (hint) entry.appendChild(el('span', 'hint', hint));
  }

  function gatherHint(gather) {
    if (!gather) return '';
    if (gather.numDigits) return 'Enter ' + gather.numDigits + (gather.numDigits === 1 ? ' digit' : ' digits');
    return 'Press keys, then #';
  }

  function renderCallChrome() {
    const call = state.call;
    const dial = $('dial');
    dial.classList.toggle('hangup', Boolean(call));
    dial.setAttribute('aria-label', call ? 'Hang up' : 'Call');
    $('silence').disabled = !(call && call.gather && !call.busy);
    const speech = Boolean(call && call.gather && call.gather.input.includes('speech'));
    $('speech-row').hidden = !speech;
    if (!call) $('call-state').textContent = 'Ready to call';
  }

  function tick() {
    const call = state.call;
    if (!call || !call.connectedAt) return;
    const seconds = Math.floor((Date.now() - call.connectedAt) / 1000);
    const mm = String(Math.floor(seconds / 60)).padStart(2, '0');
    const ss = String(seconds % 60).padStart(2, '0');
    $('call-state').textContent = mm + ':' + ss;
  }

  async function voice(payload) {
    const call = state.call;
    call.busy = true;
    call.gather = null;
    renderCallChrome();
    let answer;
    try {
      answer = await post('/sandbox/simulate/voice', Object.assign({ bot: call.bot, from: call.from }, payload));
    } catch (error) {
      addCaption(String(error.message || error), 'sys');
      endCall('Call failed');
      return;
    }
    if (state.call !== call) return;
    call.busy = false;
    call.callSid = answer.callSid;
    await playStep(call, answer);
  }

  async function playStep(call, answer) {
    if (answer.status !== 'answered') {
      addCaption('The gateway answered ' + answer.httpStatus + ': ' + (answer.detail || ''), 'sys');
      endCall('Call failed');
      return;
    }
    if (!call.connectedAt) {
      call.connectedAt = Date.now();
      call.timer = setInterval(tick, 1000);
      tick();
    }
    $('twiml-card').hidden = false;
    $('twiml').textContent = answer.xml;
    const step = answer.twiml;
    step.says.forEach((text) => addCaption(text));
    if (step.gather) {
      call.gather = step.gather;
      call.keys = '';
      setEntry('', gatherHint(step.gather));
      renderCallChrome();
    } else if (step.redirect) {
      setEntry('', 'Please hold\u2026');
      await new Promise((r) => setTimeout(r, Math.min(step.pauseSeconds || 0, 1) * 400));
      if (state.call === call) await voice({ action: 'redirect', callSid: call.callSid, url: step.redirect });
      return;
    } else {
      endCall('Call ended', true);
    }
    refreshUser();
  }

  async function startCall() {
    if (state.call) return;
    if (!botNumber('voice')) {
      showSetupError('Bot ' + state.bot + ' has no voice number.');
      return;
    }
    $('captions').replaceChildren();
    $('twiml-card').hidden = true;
    state.call = { bot: state.bot, from: state.from, callSid: '', gather: null, keys: '', busy: false };
    $('call-state').textContent = 'Calling\u2026';
    setEntry('', '');
    renderCallChrome();
    await voice({ action: 'start' });
  }

  /** Tells the gateway the call is over (Twilio's status callback) and resets the screen. */
  function endCall(reason, byBot) {
    const call = state.call;
    if (!call) return;
    state.call = null;
    clearInterval(call.timer);
    if (call.callSid) {
      post('/sandbox/simulate/voice', { action: 'hangup', bot: call.bot, from: call.from, callSid: call.callSid })
        .catch(() => undefined)
        .then(() => refreshUser());
    }
    addCaption(byBot ? 'The bot hung up.' : reason, 'sys');
    setEntry('', '');
    renderCallChrome();
    $('call-state').textContent = reason;
  }

  function tone(key) {
    try {
      const freqs = { 1: [697, 1209], 2: [697, 1336], 3: [697, 1477], 4: [770, 1209], 5: [770, 1336], 6: [770, 1477],
        7: [852, 1209], 8: [852, 1336], 9: [852, 1477], '*': [941, 1209], 0: [941, 1336], '#': [941, 1477] }[key];
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!freqs || !Ctx) return;
      state.audio = state.audio || new Ctx();
      const ctx = state.audio;
      const gain = ctx.createGain();
      gain.gain.value = 0.05;
      gain.connect(ctx.destination);
      freqs.forEach((f) => {
        const osc = ctx.createOscillator();
        osc.frequency.value = f;
        osc.connect(gain);
        osc.start();
        osc.stop(ctx.currentTime + 0.12);
      });
    } catch (_) {
      // No audio is fine: the keypad works without tones.
    }
  }

  function submitGather(keys, speech) {
    const call = state.call;
    if (!call || !call.gather) return;
    const url = call.gather.action;
    if (speech) addCaption('You said: ' + speech, 'you');
    else if (keys) addCaption('You pressed ' + keys, 'you');
    else addCaption('(silence)', 'you');
    setEntry(keys.replace(/#$/, ''), '');
    const payload = { action: 'gather', callSid: call.callSid, url, digits: keys };
    if (speech) payload.speech = speech;
    voice(payload);
  }

  function press(key) {
    const button = document.querySelector('.key[data-key="' + key + '"]');
    if (button) {
      button.classList.add('pressed');
      setTimeout(() => button.classList.remove('pressed'), 120);
    }
    tone(key);
    const call = state.call;
    if (!call || !call.gather || call.busy) return;
    const finish = call.gather.finishOnKey === undefined ? '#' : call.gather.finishOnKey;
    if (finish && key === finish) return submitGather(call.keys + key);
    call.keys += key;
    setEntry(call.keys, '');
    if (call.gather.numDigits && call.keys.length >= call.gather.numDigits) submitGather(call.keys);
  }

  // --- what Switchboard knows ---

  function describeExpiry(expiresAt) {
    const left = expiresAt - Date.now();
    if (left <= 0) return 'expired';
    const minutes = Math.round(left / 60000);
    let span;
    if (left < 60000) span = Math.ceil(left / 1000) + ' s';
    else if (minutes < 120) span = minutes + ' min';
    else span = Math.round(minutes / 60) + ' h';
    const at = new Date(expiresAt);
    const sameDay = at.toDateString() === new Date().toDateString();
    return 'expires in ' + span + ' \u00b7 ' + (sameDay ? timeOf(at) : at.toLocaleString());
  }

  function renderUser() {
    const user = state.user;
    $('user-identity').textContent = identity(state.channel);
    const tier = $('user-tier');
    const tokens = $('tokens');
    tokens.replaceChildren();
    if (!user || !user.available) {
      tier.dataset.tier = 'unknown';
      tier.textContent = 'unknown';
      $('user-name').textContent = '';
      $('user-note').textContent = user
        ? 'This gateway has no identity store wired into the simulator.'
        : 'Not loaded yet.';
      tokens.appendChild(el('li', 'none', 'unknown'));
      return;
    }
    tier.dataset.tier = user.tier;
    tier.textContent = user.tier;
    $('user-name').textContent = user.name || '';
    $('user-note').textContent =
      user.tier === 'verified'
        ? 'Proved who they are; tokens and history are shared across their channels.'
        : user.tier === 'unverified'
          ? 'Told the bot a name or email, without proof.'
          : 'Seen on this channel, nothing more.';
    if (!user.tokens.length) tokens.appendChild(el('li', 'none', 'No cached tokens.'));
    user.tokens.forEach((t) => {
      const li = el('li');
      li.dataset.component = t.component;
      li.appendChild(el('span', 'component', t.component));
      const expiry = el('span', 'expiry', describeExpiry(t.expiresAt));
      li.appendChild(expiry);
      if (t.expiresAt <= Date.now()) li.classList.add('expired');
      tokens.appendChild(li);
    });
  }

  let userRequest = 0;
  async function refreshUser() {
    if (!state.bot || !state.from) return;
    const mine = ++userRequest;
    try {
      const user = await api('/sandbox/user?bot=' + encodeURIComponent(state.bot) + '&address=' + encodeURIComponent(identity(state.channel)));
      if (mine !== userRequest) return;
      state.user = user;
    } catch (error) {
      if (mine !== userRequest) return;
      state.user = { available: false };
      $('user-note').textContent = String(error.message || error);
    }
    renderUser();
  }

  // --- setup ---

  function renderHeader() {
    const bot = state.bot || '\u2026';
    const initial = bot.charAt(0).toUpperCase();
    $('contact-name').textContent = bot;
    $('contact-number').textContent = botNumber(state.channel) || 'no ' + state.channel + ' number';
    $('avatar').textContent = initial;
    $('call-name').textContent = bot;
    $('call-avatar').textContent = initial;
    $('call-number').textContent = botNumber('voice') || 'no voice number';
    const number = botNumber(state.channel);
    $('route').textContent = number
      ? (state.channel === 'voice' ? 'Calls' : 'Messages') + ' go to ' + number + ' as signed Twilio webhooks.'
      : 'This bot has no ' + state.channel + ' number.';
    $('send').disabled = !number;
    $('message').disabled = !number;
  }

  function selectChannel(channel) {
    if (state.call && channel !== 'voice') endCall('You hung up');
    state.channel = channel;
    $('phone').dataset.channel = channel;
    document.querySelectorAll('.dock [role="tab"]').forEach((tab) => {
      tab.setAttribute('aria-selected', String(tab.dataset.channel === channel));
    });
    $('messaging').hidden = channel === 'voice';
    $('call').hidden = channel !== 'voice';
    setTyping(false);
    renderHeader();
    renderCallChrome();
    if (MESSAGING.includes(channel)) {
      renderThread();
      $('message').focus();
    }
    pollOutbox();
    state.user = null;
    renderUser();
    refreshUser();
    remember();
  }

  function remember() {
    const params = new URLSearchParams({ bot: state.bot, channel: state.channel, from: state.from });
    history.replaceState(null, '', '?' + params.toString());
    try {
      localStorage.setItem('switchboard.simulator.from', state.from);
    } catch (_) {
      // Storage may be off; the URL keeps the choice anyway.
    }
  }

  function setFrom(value) {
    const from = value.trim();
    if (!/^\+[1-9][0-9]{5,14}$/.test(from)) {
      showSetupError('Your number must be in E.164 form, like +15551230000.');
      return;
    }
    showSetupError('');
    if (state.call) endCall('You hung up');
    state.from = from;
    $('from').value = from;
    selectChannel(state.channel);
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    let saved = '';
    try {
      saved = localStorage.getItem('switchboard.simulator.from') || '';
    } catch (_) {
      saved = '';
    }
    state.from = params.get('from') || saved || '+15551230000';
    $('from').value = state.from;
    const channel = params.get('channel');
    if (channel === 'sms' || channel === 'whatsapp' || channel === 'voice') state.channel = channel;

    const clock = () => ($('clock').textContent = new Date().toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' }).replace(/\s?[AP]M$/i, ''));
    clock();
    setInterval(clock, 15000);
    setInterval(() => state.user && state.user.available && renderUser(), 1000);
    setInterval(refreshUser, 5000);

    $('composer').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('message');
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      sendMessage(text);
    });
    $('speech-row').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('speech');
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      submitGather('', text);
    });
    document.querySelectorAll('.dock [role="tab"]').forEach((tab) => {
      tab.addEventListener('click', () => selectChannel(tab.dataset.channel));
    });
    document.querySelectorAll('.key').forEach((button) => {
      button.addEventListener('click', () => press(button.dataset.key));
    });
    document.addEventListener('keydown', (event) => {
      if (state.channel !== 'voice' || event.target instanceof HTMLInputElement) return;
      if (/^[0-9*#]$/.test(event.key)) press(event.key);
    });
    $('dial').addEventListener('click', () => (state.call ? endCall('You hung up') : startCall()));
    $('silence').addEventListener('click', () => submitGather(''));
    $('bot').addEventListener('change', (event) => {
      if (state.call) endCall('You hung up');
      state.bot = event.target.value;
      selectChannel(state.channel);
    });
    $('from').addEventListener('change', (event) => setFrom(event.target.value));
    $('new-number').addEventListener('click', () => {
      const digits = String(Math.floor(1000000 + Math.random() * 9000000));
      setFrom('+1555' + digits);
    });

    try {
      const info = await api('/sandbox/bots');
      state.bots = info.bots || [];
    } catch (error) {
      showSetupError('Cannot list the bots: ' + (error.message || error));
      return;
    }
    const select = $('bot');
    state.bots.forEach((bot) => {
      const option = el('option', '', bot.id);
      option.value = bot.id;
      select.appendChild(option);
    });
    const wanted = params.get('bot');
    state.bot = state.bots.some((b) => b.id === wanted) ? wanted : state.bots.length ? state.bots[0].id : '';
    select.value = state.bot;
    if (!state.bot) showSetupError('No bots are configured.');
    selectChannel(state.channel);
    document.body.dataset.ready = 'true';
  }

  start();
})();
`;
