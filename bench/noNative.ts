// Loaded first by the engine host: the bench runs the engine the way the shipped bundle
// does, without ssh2's optional native add-ons (sshcrypto.node, cpu-features), so the
// figures are those of the pure JS / Node crypto path. `npm run bench -- --native` lifts
// the block for one experiment: how much of the gap is crypto rather than the data path.
import Module from 'node:module';

if (process.env.SSH_TUNNELS_BENCH_NATIVE !== '1') {
  const mod = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const originalLoad = mod._load;
  mod._load = function (request: string, parent: unknown, isMain: boolean) {
    if (/sshcrypto\.node$|^cpu-features$/.test(request)) {
      throw new Error(`native add-on ${request} is left out, as in the shipped bundle`);
    }
    return originalLoad.call(this, request, parent, isMain);
  };
}
