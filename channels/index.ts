// The channel adapters, registered by name.
import { smsAdapter } from './sms/sms.adapter.js';
import { whatsappAdapter } from './whatsapp/whatsapp.adapter.js';
import { voiceAdapter } from './voice/voice.adapter.js';

export const channels = { sms: smsAdapter, whatsapp: whatsappAdapter, voice: voiceAdapter } as const;
export type { ChannelAdapter, MessagingAdapter, WebhookParams } from './channel-adapter.js';
export type { VoiceAdapter, VoiceSettings } from './voice/voice.adapter.js';
