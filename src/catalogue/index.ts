export { TunnelCatalogue, type CatalogueOptions } from './catalogue';
export { FrontDoor, mayBeServedByPeer, SERVED_WAIT_MS, servedByPeerError, type Opened, type OpenOptions, type TunnelDoor } from './frontDoor';
export { type HeldAt, type HeldTunnel, type Hold, type HoldRequest } from './holds';
export { managerActions, specOf, type ManagerActionsOptions } from './ownerActions';
export { isUsable, servesSame } from './serving';
export { TUNNEL_KEY_PREFIX, type CatalogueEntry, type MovedPort, type OnceSource, type OpenFailure, type WantedSource, type WantedState, type WantedTunnel } from './wanted';
