/**
 * How relays come to be, in ssh2's place: a direct-tcpip channel the engine opens (-L, -D)
 * whose confirmation builds a SocketRelay instead of ssh2's Channel, and the server's
 * forwarded-tcpip connections of a relayed remote forward (-R), accepted as SocketRelays.
 */
import { missing, notFunctions, type Ssh2Internals } from './internals';
import { MAX_WINDOW, newRelay, PACKET_SIZE, type ClientLike, type SocketRelay } from './relay';

/** The server's CHANNEL_OPEN of a forwarded-tcpip channel, as ssh2's parser hands it over. */
interface Offer {
  type: string;
  sender: number;
  window: number;
  packetSize: number;
  data: { destIP: string; destPort: number; srcIP: string; srcPort: number };
}

/** SSH_OPEN_CONNECT_FAILED (RFC 4254 5.1): what ssh2 answers when a forwarded connection is rejected. */
const CONNECT_FAILED = 2;

interface Confirmation {
  recipient: number;
  sender: number;
  window: number;
  packetSize: number;
}

type Opened = (err: Error | undefined, relay?: SocketRelay) => void;

const RELAY = Symbol('opens a SocketRelay');
const ready = new WeakSet<object>();
let relaysOpened = 0;

/** How many relay channels have opened (ours confirmed by the server, and the server's we accepted) since the process started. */
export function relayCount(): number {
  return relaysOpened;
}

/** What `openRelay` needs of ssh2 beyond its public API, checked by `install()`. */
export function relayShapeProblems(found: Ssh2Internals): string[] {
  return [
    ...missing('Client', found.newClient(), ['_chanMgr']),
    ...notFunctions('Protocol.prototype', found.Protocol?.prototype, ['directTcpip', 'channelData', 'channelEOF', 'channelClose', 'channelWindowAdjust', 'channelOpenConfirm', 'channelOpenFail']),
  ];
}

/** Routes the server's confirmation of a relay's CHANNEL_OPEN to a SocketRelay, once per connection. */
function prepare(client: ClientLike): void {
  const protocol = client._protocol;
  if (ready.has(protocol)) return;
  const handlers = protocol._handlers;
  const confirm = handlers?.CHANNEL_OPEN_CONFIRMATION;
  if (typeof confirm !== 'function' || typeof client._chanMgr?.get !== 'function') {
    throw new Error("ssh2's channel-open confirmation handler is not where the adapter expects it");
  }
  handlers.CHANNEL_OPEN_CONFIRMATION = (p: unknown, info: Confirmation) => {
    const waiting = client._chanMgr.get(info.recipient) as (Opened & { [RELAY]?: true }) | undefined;
    if (typeof waiting !== 'function' || !waiting[RELAY]) {
      (confirm as (p: unknown, info: Confirmation) => void)(p, info);
      return;
    }
    const relay = newRelay(client, info.recipient, info);
    client._chanMgr.update(info.recipient, relay);
    relaysOpened++;
    waiting(undefined, relay);
  };
  ready.add(protocol);
}

/**
 * Opens a direct-tcpip channel as ssh2's `forwardOut` does, whose channel is a SocketRelay.
 * A refusal reaches `cb` as ssh2's (`reason`, "(SSH) Channel open failure: ...").
 */
export function openRelay(client: object, srcIP: string, srcPort: number, dstIP: string, dstPort: number, cb: (err: Error | undefined, relay: SocketRelay) => void): void {
  const c = client as ClientLike;
  if (!c._protocol || !c._sock?.writable) throw new Error('Not connected');
  prepare(c);
  // Marked by assignment: Object.assign with a symbol key showed in the profile of every connection.
  const waiting = ((err: Error | undefined, relay?: SocketRelay) => cb(err, relay!)) as Opened & { type?: string; [RELAY]?: true };
  waiting.type = 'direct-tcpip';
  waiting[RELAY] = true;
  const id = c._chanMgr.add(waiting);
  if (id === -1) {
    cb(new Error('No free channels available'), undefined!);
    return;
  }
  c._protocol.directTcpip(id, MAX_WINDOW, PACKET_SIZE, { srcIP, srcPort, dstIP, dstPort });
}

const incomingReady = new WeakSet<object>();

/**
 * Has the server's forwarded-tcpip connections for the addresses `relayed` names (a remote
 * forward's bound address and port) reach the client's 'tcp connection' listeners with an
 * `accept` that answers a SocketRelay instead of ssh2's Channel; every other channel the server
 * opens goes to ssh2 as before. Call once the client is connected, for each connection.
 */
export function relayIncoming(client: object, relayed: (destIP: string, destPort: number) => boolean): void {
  const c = client as ClientLike;
  const protocol = c._protocol;
  if (!protocol || incomingReady.has(protocol)) return;
  const handlers = protocol._handlers;
  const open = handlers?.CHANNEL_OPEN;
  if (typeof open !== 'function') throw new Error("ssh2's channel-open handler is not where the adapter expects it");
  handlers.CHANNEL_OPEN = (p: unknown, info: Offer) => {
    const local = info.type === 'forwarded-tcpip' && relayed(info.data.destIP, info.data.destPort) ? c._chanMgr.add() : -1;
    if (local === -1) {
      // Not ours, or no channel left: ssh2 answers it (and refuses what it must).
      (open as (p: unknown, info: Offer) => void)(p, info);
      return;
    }
    const accept = (): SocketRelay => {
      const relay = newRelay(c, local, info);
      c._chanMgr.update(local, relay);
      c._protocol.channelOpenConfirm(info.sender, local, MAX_WINDOW, PACKET_SIZE);
      relaysOpened++;
      return relay;
    };
    const reject = (): void => {
      c._chanMgr.remove(local);
      c._protocol.channelOpenFail(info.sender, CONNECT_FAILED, '');
    };
    c.emit('tcp connection', info.data, accept, reject);
  };
  incomingReady.add(protocol);
}
