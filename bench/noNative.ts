// Loaded first by the engine host: the bench runs the engine the way the shipped bundle
// does, without ssh2's optional native add-ons (sshcrypto.node, cpu-features), so the
// figures are those of the pure JS / Node crypto path. The block is the tests' own
// (test/setup.ts). `npm run bench -- --native` lifts it for one experiment: how much of the
// gap is crypto rather than the data path.
// eslint-disable-next-line @typescript-eslint/no-require-imports
if (process.env.SSH_TUNNELS_BENCH_NATIVE !== '1') require('../test/setup');
