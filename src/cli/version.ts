declare const SSH_TUNNELS_VERSION: string;

/** The package's version, set by the bundler (esbuild.mjs) from package.json. */
export const VERSION = typeof SSH_TUNNELS_VERSION === 'string' ? SSH_TUNNELS_VERSION : '0.0.0-dev';
