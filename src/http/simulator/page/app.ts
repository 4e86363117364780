// The simulator page: plays Twilio through /sandbox/simulate/*, reads replies from /sandbox/outbox.
// Every string from the server is rendered with textContent. A classic script (the page loads it with
// defer), so everything lives inside one function and nothing leaks into the page's globals.

(function () {
  type Channel = 'whatsapp' | 'sms' | 'voice';
  type Tier = 'anonymous' | 'unverified' | 'verified';

  // The JSON the sandbox and simulator routers answer with, as far as the page reads it.
  interface Bot {
    id: string;
    numbers: Partial<Record<Channel, string[]>>;
  }

  /** A reply the sandbox recorded, or (`direction: 'in'`, read with `thread=1`) a message sent from here. */
  interface OutboxMessage {
    from: string;
    to?: string;
    body: string;
    at: string;
    direction?: 'in';
    secret?: boolean;
    /** A `choose` question the sandbox recorded as WhatsApp buttons or a list (`body` is its text form). */
    choice?: Choice;
  }

  /** WhatsApp's interactive options: quick-reply buttons, or a list picker opened by its button. */
  interface Choice {
    type: 'buttons' | 'list';
    prompt: string;
    button?: string;
    options: { id: string; title: string; description?: string }[];
  }

  /** A tapped button or list item: Twilio posts its id (ButtonPayload or ListId) and its title. */
  interface Tap {
    type: 'button' | 'list';
    id: string;
    title: string;
  }

  interface MessageAnswer {
    status: 'accepted' | 'refused';
    httpStatus: number;
    detail?: string;
  }

  interface Gather {
    action: string;
    input: string[];
    numDigits?: number;
    finishOnKey?: string;
  }

  interface VoiceStep {
    says: string[];
    gather?: Gather;
    pauseSeconds?: number;
    redirect?: string;
  }

  type VoiceAnswer =
    | { status: 'answered'; httpStatus: number; callSid: string; twiml: VoiceStep; xml: string }
    | { status: 'refused' | 'ended'; httpStatus: number; callSid: string; detail?: string };

  type VoiceRequest =
    | { action: 'start' }
    | { action: 'redirect'; callSid: string; url: string }
    | { action: 'gather'; callSid: string; url: string; digits: string; speech?: string };

  type User =
    | { available: false }
    | {
        available: true;
        tier: Tier;
        name?: string;
        tokens: { component: string; expiresAt: number; refreshExpiresAt?: number }[];
        conversation?: ConversationState;
      };

  /** Where the conversation stands: states only, never a dialog variable or anything typed. */
  interface ConversationState {
    optedOut: boolean;
    lockouts: { component: string; until: number }[];
    signingIn?: { component: string; linkExpiresAt: number; awaitingCode: boolean };
    awaitingSecret: boolean;
    handedOff?: boolean;
  }

  type Entry =
    | { kind: 'system'; text: string }
    | {
        kind: 'bubble';
        who: 'me' | 'bot';
        text: string;
        at: Date;
        status?: 'sending' | 'sent' | 'failed';
        receipt?: string;
        /** An answer to a secret prompt: shown as dots, as it is kept. */
        secret?: boolean;
        /** WhatsApp buttons or a list under the bot's text. */
        choice?: Choice;
      };

  interface Call {
    bot: string;
    from: string;
    callSid: string;
    gather: Gather | null;
    keys: string;
    busy: boolean;
    connectedAt?: number;
    timer?: number;
  }

  const MESSAGING: readonly Channel[] = ['whatsapp', 'sms'];
  const state: {
    channel: Channel;
    bots: Bot[];
    bot: string;
    from: string;
    threads: Map<string, Entry[]>;
    cursors: Map<string, number>;
    poll: AbortController | null;
    call: Call | null;
    user: User | null;
    typingTimer: number | null;
    audio?: AudioContext;
  } = {
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

  /** An element the page's HTML has, of the type the code uses it as. */
  function $<T extends HTMLElement>(id: string, type: new () => T): T;
  function $(id: string): HTMLElement;
  function $(id: string, type: new () => HTMLElement = HTMLElement): HTMLElement {
    const node = document.getElementById(id);
    if (!(node instanceof type)) throw new Error(`The page has no #${id}.`);
    return node;
  }

  function isChannel(value: string | null | undefined): value is Channel {
    return value === 'sms' || value === 'whatsapp' || value === 'voice';
  }

  function reason(error: unknown): string {
    return error instanceof Error && error.message ? error.message : String(error);
  }

  function el(tag: string, className?: string, text?: string): HTMLElement {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function timeOf(date: Date): string {
    return date.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
  }

  async function api<T>(path: string, options?: RequestInit): Promise<T> {
    const res = await fetch(path, options);
    const body: unknown = await res.json().catch(() => ({}));
    if (!res.ok) {
      const message = (body as { error?: { message?: string } } | null)?.error?.message;
      throw new Error(message || res.status + ' ' + res.statusText);
    }
    return body as T;
  }

  function post<T>(path: string, payload: object): Promise<T> {
    return api<T>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
  }

  function currentBot(): Bot | undefined {
    return state.bots.find((b) => b.id === state.bot);
  }

  function botNumber(channel: Channel): string {
    return currentBot()?.numbers?.[channel]?.[0] ?? '';
  }

  /** The channel identity the gateway sees for this phone on a channel. */
  function identity(channel: Channel): string {
    return channel + ':' + state.from;
  }

  /** Where the outbox records replies for this phone on a messaging channel. */
  function outboxAddress(channel: Channel): string {
    return channel === 'whatsapp' ? 'whatsapp:' + state.from : state.from;
  }

  function threadKey(bot: string, channel: Channel): string {
    return bot + '|' + channel + '|' + state.from;
  }

  function thread(key: string): Entry[] {
    let entries = state.threads.get(key);
    if (!entries) {
      entries = [];
      state.threads.set(key, entries);
    }
    return entries;
  }

  function showSetupError(message: string) {
    const node = $('setup-error');
    node.textContent = message;
    node.hidden = !message;
  }

  // --- messaging ---

  /** The text with its http(s) links made clickable (a sign-in link opens in a new tab), still as textContent. */
  function textWithLinks(text: string): HTMLElement {
    const span = el('span', 'text');
    let last = 0;
    for (const match of text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
      const url = match[0].replace(/[.,;:!?)]+$/, '');
      const at = match.index ?? 0;
      if (at > last) span.appendChild(document.createTextNode(text.slice(last, at)));
      const a = el('a', 'link', url);
      a.setAttribute('href', url);
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noopener noreferrer');
      span.appendChild(a);
      last = at + url.length;
    }
    if (last < text.length) span.appendChild(document.createTextNode(text.slice(last)));
    return span;
  }

  function renderEntry(entry: Entry): HTMLElement[] {
    if (entry.kind === 'system') return [el('li', 'system', entry.text)];
    const li = el('li', 'bubble ' + entry.who);
    if (entry.secret) {
      li.classList.add('secret');
      const hidden = el('span', 'text', '\u2022'.repeat(6));
      hidden.setAttribute('aria-label', 'Secret answer, hidden');
      li.appendChild(hidden);
    } else li.appendChild(textWithLinks(entry.text));
    if (entry.choice) li.appendChild(renderChoice(entry.choice));
    const meta = el('span', 'meta');
    let stamp = timeOf(entry.at);
    if (entry.who === 'me') {
      if (entry.status === 'sent') {
        stamp += ' \u2713\u2713';
        meta.classList.add('ok');
      } else if (entry.status === 'sending') stamp += ' \u2713';
      else if (entry.status === 'failed') {
        li.classList.add('failed');
        stamp += ' !';
      }
    }
    meta.textContent = stamp;
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
    const mine = (e: Entry) => e.kind === 'bubble' && e.who === 'me';
    entries.forEach((entry, i) => {
      // SMS shows only the newest receipt, as phones do.
      const view = { ...entry };
      if (
        state.channel === 'sms' &&
        view.kind === 'bubble' &&
        mine(view) &&
        entries.slice(i + 1).some(mine)
      ) {
        view.receipt = view.status === 'failed' ? view.receipt : '';
      }
      renderEntry(view).forEach((node) => list.appendChild(node));
    });
    if (state.typingTimer !== null) {
      const dots = el('li', 'typing');
      dots.setAttribute('aria-label', 'Bot is typing');
      dots.append(el('i'), el('i'), el('i'));
      list.appendChild(dots);
    }
    list.scrollTop = list.scrollHeight;
  }

  function addEntry(key: string, entry: Entry) {
    thread(key).push(entry);
    if (key === threadKey(state.bot, state.channel)) renderThread();
  }

  function setTyping(on: boolean) {
    clearTimeout(state.typingTimer ?? undefined);
    state.typingTimer = on ? setTimeout(() => setTyping(false), 6000) : null;
    if (MESSAGING.includes(state.channel)) renderThread();
  }

  /** Whether the conversation on screen waits for a secret answer (a password, a PIN, a code). */
  function awaitingSecret(): boolean {
    const user = state.user;
    return Boolean(user && user.available && user.conversation?.awaitingSecret);
  }

  // --- WhatsApp buttons and lists (`choose`) ---

  /** A choice as WhatsApp shows it: a row of buttons, or a button that opens the list of options. */
  function renderChoice(choice: Choice): HTMLElement {
    const box = el('div', 'choice ' + choice.type);
    if (choice.type === 'buttons') {
      for (const option of choice.options) {
        const button = el('button', 'choice-button', option.title);
        button.setAttribute('type', 'button');
        button.dataset.id = option.id;
        button.addEventListener('click', () =>
          tapChoice({ type: 'button', id: option.id, title: option.title }),
        );
        box.appendChild(button);
      }
      return box;
    }
    const open = el('button', 'choice-open', '\u2630 ' + (choice.button || 'Choose'));
    open.setAttribute('type', 'button');
    const list = el('ul', 'choice-list');
    list.hidden = true;
    open.addEventListener('click', () => (list.hidden = !list.hidden));
    for (const option of choice.options) {
      const item = el('li');
      const button = el('button', 'choice-item');
      button.setAttribute('type', 'button');
      button.dataset.id = option.id;
      button.appendChild(el('span', 'choice-title', option.title));
      if (option.description) button.appendChild(el('span', 'choice-description', option.description));
      button.addEventListener('click', () => tapChoice({ type: 'list', id: option.id, title: option.title }));
      item.appendChild(button);
      list.appendChild(item);
    }
    box.append(open, list);
    return box;
  }

  /** Sends a tapped option as WhatsApp does: its title as the message, its id beside it. */
  function tapChoice(tap: Tap) {
    if (state.channel !== 'whatsapp') return;
    sendMessage(tap.title, tap);
  }

  async function sendMessage(text: string, tap?: Tap) {
    const channel = state.channel;
    const key = threadKey(state.bot, channel);
    const entry: Entry = {
      kind: 'bubble',
      who: 'me',
      text: awaitingSecret() ? '' : text,
      at: new Date(),
      status: 'sending',
      receipt: 'Sending\u2026',
      ...(awaitingSecret() ? { secret: true } : {}),
    };
    addEntry(key, entry);
    setTyping(true);
    try {
      const answer = await post<MessageAnswer>('/sandbox/simulate/' + channel, {
        bot: state.bot,
        from: state.from,
        text,
        ...(tap ? { tap } : {}),
      });
      if (answer.status === 'accepted') {
        entry.status = 'sent';
        entry.receipt = 'Delivered';
      } else {
        entry.status = 'failed';
        entry.receipt = 'Not delivered: the gateway answered ' + answer.httpStatus;
        addEntry(key, {
          kind: 'system',
          text: 'Webhook refused (' + answer.httpStatus + '): ' + (answer.detail || ''),
        });
        setTyping(false);
      }
    } catch (error) {
      entry.status = 'failed';
      entry.receipt = 'Not delivered';
      addEntry(key, { kind: 'system', text: reason(error) });
      setTyping(false);
    }
    if (key === threadKey(state.bot, state.channel)) renderThread();
    refreshUser();
  }

  /**
   * Which thread a recorded message belongs to: the bot whose number sent the reply, or that the user's
   * message went to (another bot's go to theirs).
   */
  function keyForReply(channel: Channel, message: OutboxMessage): string {
    const side = message.direction === 'in' ? message.to : message.from;
    const number = String(side || '').replace(/^whatsapp:/, '');
    const bot = state.bots.find((b) => (b.numbers[channel] || []).includes(number));
    return threadKey(bot ? bot.id : state.bot, channel);
  }

  function entryOf(message: OutboxMessage): Entry {
    if (message.direction !== 'in') {
      // WhatsApp shows a choice as its prompt with the buttons or list under it; SMS shows the numbered text.
      const choice = message.choice;
      return {
        kind: 'bubble',
        who: 'bot',
        text: choice ? String(choice.prompt) : String(message.body),
        at: new Date(message.at),
        ...(choice ? { choice } : {}),
      };
    }
    return {
      kind: 'bubble',
      who: 'me',
      text: message.secret ? '' : String(message.body),
      at: new Date(message.at),
      status: 'sent',
      receipt: 'Delivered',
      ...(message.secret ? { secret: true } : {}),
    };
  }

  /**
   * The threads of this phone on a channel, rebuilt in order from the outbox (replies and the messages
   * sent from here, which the simulator keeps there): what a reload shows. Returns how many replies there
   * were, where the long-poll of replies goes on from.
   */
  function rebuildThreads(channel: Channel, messages: OutboxMessage[]): number {
    for (const bot of state.bots) state.threads.delete(threadKey(bot.id, channel));
    for (const message of messages) thread(keyForReply(channel, message)).push(entryOf(message));
    renderThread();
    return messages.filter((m) => m.direction !== 'in').length;
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
      // A phone that opens the app sees the thread so far, then what arrives from now on.
      if (!state.cursors.has(address)) {
        const all = await api<OutboxMessage[]>(base + '&thread=1', { signal: controller.signal });
        if (controller.signal.aborted) return;
        state.cursors.set(address, rebuildThreads(channel, all));
      }
      while (!controller.signal.aborted) {
        const after = state.cursors.get(address) ?? 0;
        const messages = await api<OutboxMessage[]>(base + '&after=' + after + '&waitMs=8000', {
          signal: controller.signal,
        });
        if (controller.signal.aborted) return;
        state.cursors.set(address, after + messages.length);
        if (messages.length) setTyping(false);
        for (const message of messages) addEntry(keyForReply(channel, message), entryOf(message));
        if (messages.length) refreshUser();
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      showSetupError('Cannot read the outbox: ' + reason(error) + '. Retrying\u2026');
      setTimeout(() => {
        if (state.poll === controller) {
          showSetupError('');
          pollOutbox();
        }
      }, 2000);
    }
  }

  // --- calls ---

  function addCaption(text: string, kind?: 'you' | 'sys') {
    const list = $('captions');
    if (!kind) list.querySelectorAll('.caption.current').forEach((n) => n.classList.remove('current'));
    const li = el('li', 'caption' + (kind ? ' ' + kind : ' current'), text);
    list.appendChild(li);
    while (list.children.length > 40) list.firstElementChild?.remove();
    list.scrollTop = list.scrollHeight;
  }

  function setEntry(text: string, hint: string) {
    const entry = $('entry');
    entry.replaceChildren();
    if (text) entry.appendChild(document.createTextNode(text));
    else if (hint) entry.appendChild(el('span', 'hint', hint));
  }

  function gatherHint(gather: Gather): string {
    if (gather.numDigits)
      return 'Enter ' + gather.numDigits + (gather.numDigits === 1 ? ' digit' : ' digits');
    return 'Press keys, then #';
  }

  function renderCallChrome() {
    const call = state.call;
    const dial = $('dial');
    dial.classList.toggle('hangup', Boolean(call));
    dial.setAttribute('aria-label', call ? 'Hang up' : 'Call');
    $('silence', HTMLButtonElement).disabled = !(call && call.gather && !call.busy);
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

  async function voice(request: VoiceRequest) {
    const call = state.call;
    if (!call) return;
    call.busy = true;
    call.gather = null;
    renderCallChrome();
    let answer: VoiceAnswer;
    try {
      answer = await post<VoiceAnswer>('/sandbox/simulate/voice', {
        bot: call.bot,
        from: call.from,
        ...request,
      });
    } catch (error) {
      addCaption(reason(error), 'sys');
      endCall('Call failed');
      return;
    }
    if (state.call !== call) return;
    call.busy = false;
    call.callSid = answer.callSid;
    await playStep(call, answer);
  }

  async function playStep(call: Call, answer: VoiceAnswer) {
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
      const url = step.redirect;
      setEntry('', 'Please hold\u2026');
      await new Promise<void>((resolve) => setTimeout(resolve, Math.min(step.pauseSeconds || 0, 1) * 400));
      if (state.call === call) await voice({ action: 'redirect', callSid: call.callSid, url });
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
  function endCall(why: string, byBot = false) {
    const call = state.call;
    if (!call) return;
    state.call = null;
    clearInterval(call.timer);
    if (call.callSid) {
      post('/sandbox/simulate/voice', {
        action: 'hangup',
        bot: call.bot,
        from: call.from,
        callSid: call.callSid,
      })
        .catch(() => undefined)
        .then(() => refreshUser());
    }
    addCaption(byBot ? 'The bot hung up.' : why, 'sys');
    setEntry('', '');
    renderCallChrome();
    $('call-state').textContent = why;
  }

  /** DTMF: a key sounds its keypad row's and its column's frequency (Hz). */
  const ROWS_HZ = [697, 770, 852, 941];
  const COLUMNS_HZ = [1209, 1336, 1477];

  function dtmf(key: string): number[] | undefined {
    const i = '123456789*0#'.indexOf(key);
    return i < 0 ? undefined : [ROWS_HZ[Math.floor(i / 3)]!, COLUMNS_HZ[i % 3]!];
  }

  function tone(key: string) {
    try {
      const freqs = dtmf(key);
      const Ctx =
        window.AudioContext ||
        (window as Window & { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
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
    } catch {
      // No audio is fine: the keypad works without tones.
    }
  }

  function submitGather(keys: string, speech?: string) {
    const call = state.call;
    if (!call || !call.gather) return;
    const url = call.gather.action;
    if (speech) addCaption('You said: ' + speech, 'you');
    else if (keys) addCaption('You pressed ' + keys, 'you');
    else addCaption('(silence)', 'you');
    setEntry(keys.replace(/#$/, ''), '');
    voice({ action: 'gather', callSid: call.callSid, url, digits: keys, ...(speech ? { speech } : {}) });
  }

  function press(key: string) {
    const button = document.querySelector('.key[data-key="' + key + '"]');
    if (button) {
      button.classList.add('pressed');
      setTimeout(() => button.classList.remove('pressed'), 120);
    }
    tone(key);
    const call = state.call;
    if (!call || !call.gather || call.busy) return;
    const finish = call.gather.finishOnKey === undefined ? '#' : call.gather.finishOnKey;
    if (finish && key === finish) {
      submitGather(call.keys + key);
      return;
    }
    call.keys += key;
    setEntry(call.keys, '');
    if (call.gather.numDigits && call.keys.length >= call.gather.numDigits) submitGather(call.keys);
  }

  // --- what Switchboard knows ---

  function describeExpiry(expiresAt: number, what = 'expires'): string {
    const left = expiresAt - Date.now();
    if (left <= 0) return what === 'expires' ? 'expired' : 'refresh expired';
    const minutes = Math.round(left / 60000);
    let span;
    if (left < 60000) span = Math.ceil(left / 1000) + ' s';
    else if (minutes < 120) span = minutes + ' min';
    else span = Math.round(minutes / 60) + ' h';
    const at = new Date(expiresAt);
    const sameDay = at.toDateString() === new Date().toDateString();
    return what + ' in ' + span + ' \u00b7 ' + (sameDay ? timeOf(at) : at.toLocaleString());
  }

  function minutesLeft(until: number): string {
    const minutes = Math.max(1, Math.ceil((until - Date.now()) / 60000));
    return minutes + (minutes === 1 ? ' minute' : ' minutes') + ' left';
  }

  /** The conversation's states, one line each; the composer hides a secret answer as it is typed. */
  function renderConversation(conversation: ConversationState | undefined) {
    const list = $('user-state');
    list.replaceChildren();
    const line = (kind: string, text: string) => {
      const li = el('li', 'state ' + kind, text);
      li.dataset.state = kind;
      list.appendChild(li);
    };
    if (conversation?.optedOut) line('opted-out', 'Opted out: only HELP is answered until you reply START.');
    for (const lock of conversation?.lockouts ?? []) {
      line('locked-out', 'Locked out of ' + lock.component + ': ' + minutesLeft(lock.until) + '.');
    }
    const signIn = conversation?.signingIn;
    if (signIn) {
      line(
        'signing-in',
        signIn.awaitingCode
          ? 'Signing in with ' + signIn.component + ': signed in on the page, waiting for the code.'
          : 'Signing in with ' +
              signIn.component +
              ': the link ' +
              describeExpiry(signIn.linkExpiresAt) +
              '.',
      );
    }
    if (conversation?.awaitingSecret) line('awaiting-secret', 'Waiting for a secret answer: it is hidden.');
    if (conversation?.handedOff) list.appendChild(handoffPanel());
    list.hidden = list.children.length === 0;
    const input = $('message', HTMLInputElement);
    const secret = Boolean(conversation?.awaitingSecret);
    input.type = secret ? 'password' : 'text';
    input.placeholder = secret ? 'Secret answer (hidden)' : 'Message';
  }

  /**
   * A handed-off conversation: the badge, and the operator's side (an agent's reply, giving the bot back)
   * through the sandbox's own route, since the page holds no API key.
   */
  let agentPanel: HTMLElement | undefined;
  function handoffPanel(): HTMLElement {
    // Built once: the state list is redrawn on every refresh, and the agent's half-typed reply must survive it.
    agentPanel ??= buildHandoffPanel();
    return agentPanel;
  }

  function buildHandoffPanel(): HTMLElement {
    const li = el('li', 'state handoff', 'Handed off to a person: the bot does not answer. ');
    li.dataset.state = 'handoff';
    const input = document.createElement('input');
    input.id = 'agent-text';
    input.placeholder = 'Reply as the agent';
    const send = el('button', 'agent-send', 'Send as agent');
    send.id = 'agent-send';
    const resume = el('button', 'agent-resume', 'Give back to the bot');
    resume.id = 'agent-resume';
    const act = async (action: 'message' | 'resume') => {
      const text = input.value.trim();
      if (action === 'message' && !text) return;
      try {
        await post('/sandbox/agent', {
          bot: state.bot,
          address: identity(state.channel),
          action,
          ...(action === 'message' ? { text } : {}),
        });
        input.value = '';
      } catch (error) {
        addCaption(reason(error), 'sys');
      }
      refreshUser();
    };
    send.addEventListener('click', () => void act('message'));
    resume.addEventListener('click', () => void act('resume'));
    li.append(input, send, resume);
    return li;
  }

  function renderUser() {
    const user = state.user;
    $('user-identity').textContent = identity(state.channel);
    renderConversation(user && user.available ? user.conversation : undefined);
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
      li.appendChild(el('span', 'expiry', describeExpiry(t.expiresAt)));
      // A refresh token renews the access token on its next use: shown beside it, never its value.
      if (t.refreshExpiresAt !== undefined)
        li.appendChild(el('span', 'expiry refresh', describeExpiry(t.refreshExpiresAt, 'refresh expires')));
      const renewable = t.refreshExpiresAt !== undefined && t.refreshExpiresAt > Date.now();
      if (t.expiresAt <= Date.now() && !renewable) li.classList.add('expired');
      tokens.appendChild(li);
    });
  }

  let userRequest = 0;
  async function refreshUser() {
    if (!state.bot || !state.from) return;
    const mine = ++userRequest;
    try {
      const user = await api<User>(
        '/sandbox/user?bot=' +
          encodeURIComponent(state.bot) +
          '&address=' +
          encodeURIComponent(identity(state.channel)) +
          (state.call && state.call.callSid ? '&callSid=' + encodeURIComponent(state.call.callSid) : ''),
      );
      if (mine !== userRequest) return;
      state.user = user;
    } catch (error) {
      if (mine !== userRequest) return;
      state.user = { available: false };
      $('user-note').textContent = reason(error);
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
      ? (state.channel === 'voice' ? 'Calls' : 'Messages') +
        ' go to ' +
        number +
        ' as signed Twilio webhooks.'
      : 'This bot has no ' + state.channel + ' number.';
    $('send', HTMLButtonElement).disabled = !number;
    $('message', HTMLInputElement).disabled = !number;
  }

  function selectChannel(channel: Channel) {
    if (state.call && channel !== 'voice') endCall('You hung up');
    state.channel = channel;
    $('phone').dataset.channel = channel;
    document.querySelectorAll<HTMLElement>('.dock [role="tab"]').forEach((tab) => {
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
    } catch {
      // Storage may be off; the URL keeps the choice anyway.
    }
  }

  function setFrom(value: string) {
    const from = value.trim();
    if (!/^\+[1-9][0-9]{5,14}$/.test(from)) {
      showSetupError('Your number must be in E.164 form, like +15551230000.');
      return;
    }
    showSetupError('');
    if (state.call) endCall('You hung up');
    state.from = from;
    $('from', HTMLInputElement).value = from;
    selectChannel(state.channel);
  }

  /** Sends what was typed into a form's input, and empties it. */
  function onSubmit(formId: string, inputId: string, send: (text: string) => void) {
    $(formId).addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $(inputId, HTMLInputElement);
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      send(text);
    });
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    let saved = '';
    try {
      saved = localStorage.getItem('switchboard.simulator.from') || '';
    } catch {
      saved = '';
    }
    state.from = params.get('from') || saved || '+15551230000';
    const fromInput = $('from', HTMLInputElement);
    fromInput.value = state.from;
    const channel = params.get('channel');
    if (isChannel(channel)) state.channel = channel;

    const clock = () =>
      ($('clock').textContent = new Date()
        .toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' })
        .replace(/\s?[AP]M$/i, ''));
    clock();
    setInterval(clock, 15000);
    setInterval(() => {
      if (state.user?.available) renderUser();
    }, 1000);
    setInterval(refreshUser, 5000);

    onSubmit('composer', 'message', sendMessage);
    onSubmit('speech-row', 'speech', (text) => submitGather('', text));
    document.querySelectorAll<HTMLElement>('.dock [role="tab"]').forEach((tab) => {
      tab.addEventListener('click', () => {
        if (isChannel(tab.dataset.channel)) selectChannel(tab.dataset.channel);
      });
    });
    document.querySelectorAll<HTMLElement>('.key').forEach((button) => {
      button.addEventListener('click', () => {
        if (button.dataset.key) press(button.dataset.key);
      });
    });
    document.addEventListener('keydown', (event) => {
      if (state.channel !== 'voice' || event.target instanceof HTMLInputElement) return;
      if (/^[0-9*#]$/.test(event.key)) press(event.key);
    });
    $('dial').addEventListener('click', () => {
      if (state.call) endCall('You hung up');
      else startCall();
    });
    $('silence').addEventListener('click', () => submitGather(''));
    const select = $('bot', HTMLSelectElement);
    select.addEventListener('change', () => {
      if (state.call) endCall('You hung up');
      state.bot = select.value;
      selectChannel(state.channel);
    });
    fromInput.addEventListener('change', () => setFrom(fromInput.value));
    $('new-number').addEventListener('click', () => {
      const digits = String(Math.floor(1000000 + Math.random() * 9000000));
      setFrom('+1555' + digits);
    });

    try {
      const info = await api<{ bots?: Bot[] }>('/sandbox/bots');
      state.bots = info.bots || [];
    } catch (error) {
      showSetupError('Cannot list the bots: ' + reason(error));
      return;
    }
    state.bots.forEach((bot) => {
      const option = document.createElement('option');
      option.textContent = bot.id;
      option.value = bot.id;
      select.appendChild(option);
    });
    const wanted = params.get('bot');
    state.bot = state.bots.find((b) => b.id === wanted)?.id ?? state.bots[0]?.id ?? '';
    select.value = state.bot;
    if (!state.bot) showSetupError('No bots are configured.');
    selectChannel(state.channel);
    await showNotes();
    document.body.dataset.ready = 'true';
  }

  /** What the sandbox's configuration says to try (the demo's accounts and PINs), when it says anything. */
  async function showNotes() {
    try {
      const { notes } = await api<{ notes?: string[] }>('/simulator/notes');
      const list = $('notes');
      list.replaceChildren(...(notes || []).map((note) => el('li', undefined, note)));
      $('notes-card').hidden = !notes?.length;
    } catch {
      $('notes-card').hidden = true;
    }
  }

  start();
})();
