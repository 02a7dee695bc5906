export { TunnelCatalogue, type CatalogueOptions } from './catalogue';
export { FrontDoor, mayBeServedByPeer, SERVED_WAIT_MS, servedByPeerError, type Opened, type OpenOptions, type TunnelDoor } from './frontDoor';
export { managerActions, specOf, type ManagerActionsOptions } from './ownerActions';
export { TUNNEL_KEY_PREFIX, type CatalogueEntry, type MovedPort, type OnceSource, type OpenFailure, type WantedSource, type WantedState, type WantedTunnel } from './wanted';
