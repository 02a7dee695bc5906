// A suite's line to its runner (test/runners/*.mjs): the runner owns the browser and serves an
// HTTP endpoint on loopback, whose address comes in an environment variable.
import * as http from 'node:http';

/** POSTs `body` as JSON to `route` of the runner whose address is in `env[addressVariable]`; the answer's JSON, or its error text. */
export function postToRunner<T>(addressVariable: string, route: string, body: unknown): Promise<T> {
  const url = new URL(route, process.env[addressVariable]);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text || 'null') as T) : reject(new Error(`runner: ${route}: ${text}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}
