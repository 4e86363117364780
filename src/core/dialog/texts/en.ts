// The engine's texts in English: the built-in defaults, and the names every locale and bot override use.
// Each text is a Liquid template; a text with parameters names them in its default here ({{ minutes }}).
// Adding a text: one line here, one in every other locale's file (tsc says which are missing).

const minutes = '{{ minutes }} {% if minutes == 1 %}minute{% else %}minutes{% endif %}';

export const en = {
  requestFailed: 'Sorry, that service is not available right now. Please try again later.',
  authUnavailable: "Sorry, we can't check your details right now. Please try again later.",
  wrongPassword: "Sorry, those details didn't match. Let's try again.",
  attemptsLeft:
    '{% if left == 1 %}1 attempt{% else %}{{ left }} attempts{% endif %} left before your account is locked.',
  locked: `Too many failed attempts. Please try again in ${minutes}.`,
  invalidField: "Sorry, that doesn't look right.",
  credentialsGaveUp: "Sorry, I couldn't read your details. Reply MENU to start over.",
  retry: "Sorry, that doesn't look right.",
  retryChoice: "That's not one of the options.",
  askInvalid: "Sorry, I didn't understand. Goodbye.",
  loggedOut: 'You are signed out.',
  identityMoveForbidden: 'This number is already linked to another account. Contact support to change it.',
  optedIn: 'You are subscribed again. Reply HELP for help.',
  help: 'Reply MENU to start over, STOP to opt out.',
  rateLimited: 'You are sending messages too quickly. Please wait a minute.',
  holdMessage: 'One moment please.',
  apology: 'Sorry, something went wrong on our side. Please call again later. Goodbye.',
  linkPrompt: 'Enter your link code.',
  linked: 'Thanks, your account is linked. {{ who }}',
  linkInvalid: "Sorry, that code isn't valid. Check it and try again.",
  linkExpired: 'Sorry, that code has expired. Ask for a new one.',
  linkLimited: `Too many wrong codes. Please try again in ${minutes}.`,
  linkFailed: "Sorry, I couldn't link your account.",
  signInLink: 'Tap to sign in securely: {{ link }}',
  signInTexted: "I've sent you a sign-in link by text message. Open it on your phone and stay on the line.",
  signInNoText: "Sorry, I can't send you a sign-in link on this call.",
  signInTypeCode: "You're signed in on the page. To finish, type here the 6-digit code it shows.",
  signInEnterCode: "You're signed in. Enter the 6-digit code shown on the page.",
  signInWaiting: `Open the link I sent to sign in; it works for ${minutes}. Reply MENU to start over.`,
  signInWrongCode:
    "Sorry, that code doesn't match. {{ left }} {% if left == 1 %}try{% else %}tries{% endif %} left.",
  signInNewLink: 'That sign-in link has expired. Here is a new one.',
  signInOver: "Sorry, that sign-in can't be used any more. Reply MENU to start over.",
  signInFailed: "Sign-in didn't finish. Reply MENU to start over.",
  signInTimedOut: "I didn't see you sign in.",
  signedIn: "You're signed in.",
  profileName: 'What is your name?',
  profileEmail: 'What is your email address?',
  profileInvalidEmail: "That doesn't look like an email address.",
  whoAmIVerified: 'You are {{ name }} (verified).',
  whoAmIVerifiedId: 'You are verified as {{ id }}.',
  whoAmIUnverified: 'You are {{ name }} (unverified).',
  whoAmIUnknown: "I don't know you yet.",
  optedOut: "You won't get more messages. Reply START to come back.",
  cancelled: 'OK, cancelled. Reply MENU to start over.',
  flowRestarted: "Sorry, this conversation was updated. Let's start again.",
  chooseInvalid: "Sorry, that's not one of the options. Goodbye.",
  chooseButton: 'Choose',
  choosePress: 'Press {{ key }} for {{ title }}.',
  handoffText: 'A person will reply here soon.',
  handoffCall: 'Connecting you to a person. Please hold.',
  handoffNoAnswer: 'Sorry, no one can take your call right now. Please try again later. Goodbye.',
};

/** The name of an engine text: a key of `en`. */
export type TextName = keyof typeof en;

/** Spoken wording where it differs from the written one ("press", not "reply"); the rest is said as written. */
export const enVoice: Partial<Record<TextName, string>> = {
  credentialsGaveUp: "Sorry, I couldn't get your details. Please call again.",
  optedIn: 'You are subscribed again.',
  help: 'Press star to start over.',
  signInWaiting: `Open the link I sent to sign in; it works for ${minutes}.`,
  signInOver: "Sorry, that sign-in can't be used any more. Please call again.",
  signInFailed: "Sign-in didn't finish. Please call again.",
  optedOut: "You won't get more calls or messages from us. Goodbye.",
  cancelled: "OK, cancelled. Let's start again.",
};
