export { Peers, type PeersOptions } from './peers';
export { defaultRuntimeDir } from './runtimeDir';
export { listensWhere } from './match';
export * from './types';
export { DisposableStore } from './disposables';
