export {
  Presence,
  presenceFor,
  type PresenceEntry,
  type PresenceEvent,
  type PresenceMeta,
  type PresenceOptions,
} from './presence.ts';
export { withPresence, type PresenceTracking, type WithPresence } from './consumer.ts';
