export { TunnelManager, DEFAULT_RECONNECT, type TunnelManagerOptions } from './manager';
export { TunnelError, errorMessage, REFUSALS, type TunnelErrorCode } from './errors';
export { Emitter, type Event, type Disposable } from './events';
export { resolveSpec, defaultName, describeForward } from './spec';
export { makeAddress, formatBytes, plural } from './format';
export { targetOf } from './transport';
export type { ReconnectPolicy } from './session';
export * from './types';
export { install as installSsh2Adapter, Ssh2AdapterError, nativeCryptoLoaded } from './ssh2';
