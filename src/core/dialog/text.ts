// Texts the engine says on its own; bots override the important ones in their config.

/** Whole minutes until a paused link-code redemption works again (the default pause when unknown). */
export function minutesOf(seconds: number | undefined): number {
  return seconds === undefined ? 15 : Math.max(1, Math.ceil(seconds / 60));
}

const minutesText = (minutes: number) => `${minutes} minute${minutes === 1 ? '' : 's'}`;

export const TEXT = {
  requestFailed: 'Sorry, that service is not available right now. Please try again later.',
  authUnavailable: "Sorry, we can't check your details right now. Please try again later.",
  wrongCredentials: "Sorry, those details didn't match. Let's try again.",
  locked: (minutes: number) => `Too many failed attempts. Please try again in ${minutesText(minutes)}.`,
  invalidField: "Sorry, that doesn't look right.",
  credentialsGaveUp: "Sorry, I couldn't read your details. Reply MENU to start over.",
  loggedOut: 'You are signed out.',
  identityMoveForbidden: 'This number is already linked to another account. Contact support to change it.',
  optedIn: 'You are subscribed again. Reply HELP for help.',
  linked: (who: string) => `Thanks, your account is linked. ${who}`,
  linkInvalid: "Sorry, that code isn't valid. Check it and try again.",
  linkExpired: 'Sorry, that code has expired. Ask for a new one.',
  linkLimited: (minutes: number) => `Too many wrong codes. Please try again in ${minutesText(minutes)}.`,
  signInTexted: "I've sent you a sign-in link by text message. Open it on your phone and stay on the line.",
  signInNoText: "Sorry, I can't send you a sign-in link on this call.",
  signInTypeCode: "You're signed in on the page. To finish, type here the 6-digit code it shows.",
  signInEnterCode: "You're signed in. Enter the 6-digit code shown on the page.",
  signInWaiting: (minutes: number) =>
    `Open the link I sent to sign in; it works for ${minutesText(minutes)}. Reply MENU to start over.`,
  signInWrongCode: (left: number) =>
    `Sorry, that code doesn't match. ${left} ${left === 1 ? 'try' : 'tries'} left.`,
  signInNewLink: 'That sign-in link has expired. Here is a new one.',
  signInOver: "Sorry, that sign-in can't be used any more. Reply MENU to start over.",
  signInFailed: "Sign-in didn't finish. Reply MENU to start over.",
  signInTimedOut: "I didn't see you sign in.",
  signedIn: "You're signed in.",
  profileName: 'What is your name?',
  profileEmail: 'What is your email address?',
  profileInvalidEmail: "That doesn't look like an email address.",
  // optout
  optedOut: "You won't get more messages. Reply START to come back.",
  optedOutVoice: "You won't get more calls or messages from us. Goodbye.",
  cancelled: 'OK, cancelled. Reply MENU to start over.',
  cancelledVoice: "OK, cancelled. Let's start again.",
  flowRestarted: "Sorry, this conversation was updated. Let's start again.",
  // choose
  chooseRetry: "That's not one of the options.",
  chooseInvalid: "Sorry, that's not one of the options. Goodbye.",
  /** WhatsApp: the button that opens a list of options. */
  chooseButton: 'Choose',
  /** Voice: one option of a `choose`, spoken after the prompt. */
  choosePress: (key: string, title: string) => `Press ${key} for ${title}.`,
  // handoff: what a `handoff` step says when the bot's configuration does not
  handoffText: 'A person will reply here soon.',
  handoffCall: 'Connecting you to a person. Please hold.',
  handoffNoAnswer: 'Sorry, no one can take your call right now. Please try again later. Goodbye.',
};
