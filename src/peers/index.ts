export { Peers, type PeersOptions } from './peers';
export { defaultRuntimeDir } from './runtimeDir';
export * from './types';
