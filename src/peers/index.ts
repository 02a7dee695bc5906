export { Peers, type PeersOptions } from './peers';
export { defaultRuntimeDir } from './runtimeDir';
export { listensWhere } from './match';
export * from './types';
export { managerActions, specOf, type ManagerActionsOptions } from './actions';
export { mayBeServedByPeer } from './wanted';
