// A reference for the per-connection figures: a plain Node TCP proxy (no SSH, no crypto),
// in its own process, forwarding to the target the bench names. What Node itself costs per
// accepted and proxied connection bounds what any Node tunnel can reach.
import * as net from 'node:net';

const target = Number(process.argv[2]);
const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: '127.0.0.1', port: target, noDelay: true });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream).pipe(client);
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as net.AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
