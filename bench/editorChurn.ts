// The connection-churn load of the editor bench, in its own process: connect + 1-byte echo +
// close through PORT, CONCURRENCY at a time, for SECONDS; prints the connections made as JSON.
// Usage: node editor-churn.js PORT SECONDS CONCURRENCY
import { connectionsPerSecond } from './load';

async function main(): Promise<void> {
  const [port, seconds, concurrency] = process.argv.slice(2).map(Number);
  if (!port || !seconds || !concurrency) throw new Error('usage: editor-churn.js PORT SECONDS CONCURRENCY');
  const started = Date.now();
  let total = 0;
  // Batches of a fixed size until the time is up (connectionsPerSecond runs a fixed number).
  while (Date.now() - started < seconds * 1000) {
    await connectionsPerSecond(port, 200, concurrency);
    total += 200;
  }
  process.stdout.write(JSON.stringify({ total, perSecond: total / ((Date.now() - started) / 1000) }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
