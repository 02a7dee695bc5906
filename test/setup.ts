// Tests run the engine the way the shipped bundle does: without ssh2's optional native
// add-ons (the bundle leaves them out), so the pure JS / Node crypto path is what is proven.
import Module from 'node:module';

const mod = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const originalLoad = mod._load;
mod._load = function (request: string, parent: unknown, isMain: boolean) {
  if (/sshcrypto\.node$|^cpu-features$/.test(request)) {
    throw new Error(`native add-on ${request} is left out, as in the shipped bundle`);
  }
  return originalLoad.call(this, request, parent, isMain);
};

// As the composition roots do: tests that drive an ssh2 Client directly get the same ssh2.
// Required here, not imported, so that ssh2 loads after the hook above.
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require('../src/engine/ssh2') as typeof import('../src/engine/ssh2')).install();
