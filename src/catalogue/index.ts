export { TunnelCatalogue, type CatalogueOptions } from './catalogue';
export { managerActions, specOf, type ManagerActionsOptions } from './ownerActions';
export { mayBeServedByPeer, SERVED_WAIT_MS, TUNNEL_KEY_PREFIX, type CatalogueEntry, type OpenFailure, type WantedSource, type WantedState, type WantedTunnel } from './wanted';
