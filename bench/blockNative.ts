// Loaded first by the Node peers' processes: ssh2 without its optional native add-ons, as the
// engine runs (bench/noNative.ts), so every Node tunnel uses the same pure JS / Node crypto path.
// The engine's own hook (test/setup.ts) would also install the engine's ssh2 adapter, which
// the peers must not get: they are plain ssh2.
import Module from 'node:module';

const mod = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const originalLoad = mod._load;
mod._load = function (request: string, parent: unknown, isMain: boolean) {
  if (/sshcrypto\.node$|^cpu-features$/.test(request)) throw new Error(`native add-on ${request} is left out, as in the shipped bundle`);
  return originalLoad.call(this, request, parent, isMain);
};
