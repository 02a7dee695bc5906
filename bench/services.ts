// Target services for the bench, in their own process: a TCP echo server, and a sink that
// counts what it receives until the client half-closes, then answers the count.
import * as net from 'node:net';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

async function main(): Promise<void> {
  const echo = net.createServer({ noDelay: true }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  const sink = net.createServer({ noDelay: true }, (s) => {
    let count = 0;
    s.on('error', () => undefined);
    s.on('data', (chunk: Buffer) => {
      count += chunk.length;
    });
    s.on('end', () => s.end(`${count}\n`));
  });
  echo.maxConnections = 20_000;
  const [echoPort, sinkPort] = await Promise.all([listen(echo), listen(sink)]);
  process.send!({ echoPort, sinkPort });
}

process.on('disconnect', () => process.exit(0));
void main();
