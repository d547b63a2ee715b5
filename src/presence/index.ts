export {
  Presence,
  presenceFor,
  resolvePresenceOptions,
  type PresenceEntry,
  type PresenceEvent,
  type PresenceMeta,
  type PresenceOptions,
  type PresenceStore,
  type GoneEntry,
} from './presence.ts';
export { withPresence, type PresenceTracking, type WithPresence } from './consumer.ts';
