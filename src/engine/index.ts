export { TunnelManager, DEFAULT_RECONNECT, type TunnelManagerOptions } from './manager';
export { TunnelError, errorMessage, REFUSALS, type TunnelErrorCode } from './base/errors';
export { Emitter, type Event, type Disposable } from './base/events';
export { resolveSpec, defaultName, describeForward } from './forwards/spec';
export { makeAddress, formatBytes, plural } from './base/format';
export { targetOf } from './connection/route';
export type { ReconnectPolicy } from './connection/session';
export * from './base/types';
export { install as installSsh2Adapter, Ssh2AdapterError, nativeCryptoLoaded } from './ssh2';
