// A ProxyCommand for the Windows tier, run by node.exe through cmd.exe: joins its stdin and stdout
// to HOST:PORT, as `nc HOST PORT` would, and writes to LOG that it ran, with what cmd.exe gave it.
// Usage: node.exe relay.cjs HOST PORT LOG
const fs = require('node:fs');
const net = require('node:net');

const [host, port, log] = process.argv.slice(2);
// RELAY_VIA is set by the command line itself (`set RELAY_VIA=cmd&& …`), which only cmd.exe reads so.
const socket = net.connect(Number(port), host, () => fs.appendFileSync(log, `relay: connected to ${host}:${port}, via ${process.env.RELAY_VIA}\n`));
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('close', () => process.exit(0));
socket.on('error', (err) => {
  fs.appendFileSync(log, `relay: ${err.message}\n`);
  process.exit(1);
});
