// The engine's texts in Spanish (Spain): every text of en.ts, in the same order.
import type { TextName } from './en.js';

const minutes = '{{ minutes }} {% if minutes == 1 %}minuto{% else %}minutos{% endif %}';

export const es: Record<TextName, string> = {
  requestFailed: 'Lo siento, ese servicio no está disponible ahora mismo. Inténtalo de nuevo más tarde.',
  authUnavailable: 'Lo siento, ahora mismo no podemos comprobar tus datos. Inténtalo de nuevo más tarde.',
  wrongPassword: 'Lo siento, esos datos no coinciden. Vamos a intentarlo de nuevo.',
  attemptsLeft:
    '{% if left == 1 %}Te queda 1 intento{% else %}Te quedan {{ left }} intentos{% endif %} antes de que se bloquee tu cuenta.',
  locked: `Demasiados intentos fallidos. Inténtalo de nuevo dentro de ${minutes}.`,
  invalidField: 'Lo siento, eso no parece correcto.',
  credentialsGaveUp: 'Lo siento, no he podido leer tus datos. Responde MENU para empezar de nuevo.',
  retry: 'Lo siento, eso no parece correcto.',
  retryChoice: 'Esa no es una de las opciones.',
  askInvalid: 'Lo siento, no te he entendido. Adiós.',
  loggedOut: 'Has cerrado la sesión.',
  identityMoveForbidden:
    'Este número ya está vinculado a otra cuenta. Ponte en contacto con soporte para cambiarlo.',
  optedIn: 'Vuelves a estar suscrito. Responde HELP para obtener ayuda.',
  help: 'Responde MENU para empezar de nuevo o STOP para darte de baja.',
  rateLimited: 'Estás enviando mensajes demasiado rápido. Espera un minuto, por favor.',
  holdMessage: 'Un momento, por favor.',
  apology: 'Lo siento, algo ha fallado por nuestra parte. Vuelve a llamar más tarde. Adiós.',
  linkPrompt: 'Introduce tu código de vinculación.',
  linked: 'Gracias, tu cuenta está vinculada. {{ who }}',
  linkInvalid: 'Lo siento, ese código no es válido. Compruébalo e inténtalo de nuevo.',
  linkExpired: 'Lo siento, ese código ha caducado. Pide uno nuevo.',
  linkLimited: `Demasiados códigos incorrectos. Inténtalo de nuevo dentro de ${minutes}.`,
  linkFailed: 'Lo siento, no he podido vincular tu cuenta.',
  signInLink: 'Toca para iniciar sesión de forma segura: {{ link }}',
  signInTexted: 'Te he enviado por SMS un enlace para iniciar sesión. Ábrelo en tu teléfono y no cuelgues.',
  signInNoText: 'Lo siento, no puedo enviarte un enlace para iniciar sesión en esta llamada.',
  signInTypeCode:
    'Has iniciado sesión en la página. Para terminar, escribe aquí el código de 6 dígitos que aparece.',
  signInEnterCode: 'Has iniciado sesión. Introduce el código de 6 dígitos que aparece en la página.',
  signInWaiting: `Abre el enlace que te he enviado para iniciar sesión; funciona durante ${minutes}. Responde MENU para empezar de nuevo.`,
  signInWrongCode:
    'Lo siento, ese código no coincide. {% if left == 1 %}Te queda 1 intento.{% else %}Te quedan {{ left }} intentos.{% endif %}',
  signInNewLink: 'Ese enlace para iniciar sesión ha caducado. Aquí tienes uno nuevo.',
  signInOver: 'Lo siento, ese inicio de sesión ya no se puede usar. Responde MENU para empezar de nuevo.',
  signInFailed: 'No se ha completado el inicio de sesión. Responde MENU para empezar de nuevo.',
  signInTimedOut: 'No he visto que iniciaras sesión.',
  signedIn: 'Has iniciado sesión.',
  profileName: '¿Cómo te llamas?',
  profileEmail: '¿Cuál es tu dirección de correo electrónico?',
  profileInvalidEmail: 'Eso no parece una dirección de correo electrónico.',
  whoAmIVerified: 'Eres {{ name }} (cuenta verificada).',
  whoAmIVerifiedId: 'Tu cuenta verificada es {{ id }}.',
  whoAmIUnverified: 'Eres {{ name }} (sin verificar).',
  whoAmIUnknown: 'Todavía no te conozco.',
  optedOut: 'No recibirás más mensajes. Responde START para volver.',
  cancelled: 'De acuerdo, cancelado. Responde MENU para empezar de nuevo.',
  flowRestarted: 'Lo siento, esta conversación se ha actualizado. Empecemos de nuevo.',
  chooseInvalid: 'Lo siento, esa no es una de las opciones. Adiós.',
  chooseButton: 'Elegir',
  choosePress: 'Pulsa {{ key }} para {{ title }}.',
  handoffText: 'Una persona te responderá aquí pronto.',
  handoffCall: 'Te paso con una persona. Espera, por favor.',
  handoffNoAnswer: 'Lo siento, ahora nadie puede atender tu llamada. Inténtalo más tarde. Adiós.',
};

export const esVoice: Partial<Record<TextName, string>> = {
  credentialsGaveUp: 'Lo siento, no he podido obtener tus datos. Vuelve a llamar, por favor.',
  optedIn: 'Vuelves a estar suscrito.',
  help: 'Pulsa asterisco para empezar de nuevo.',
  signInWaiting: `Abre el enlace que te he enviado para iniciar sesión; funciona durante ${minutes}.`,
  signInOver: 'Lo siento, ese inicio de sesión ya no se puede usar. Vuelve a llamar, por favor.',
  signInFailed: 'No se ha completado el inicio de sesión. Vuelve a llamar, por favor.',
  optedOut: 'No recibirás más llamadas ni mensajes nuestros. Adiós.',
  cancelled: 'De acuerdo, cancelado. Empecemos de nuevo.',
};
