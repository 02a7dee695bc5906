// The set-ups suites share, one function each: call it inside `describe`; it registers the
// suite's hooks and returns an object whose fields are set once those hooks have run.
import { TunnelManager, type TunnelManagerOptions } from '../../src/engine';
import { SshdFixture, type SshdOptions } from '../fixtures/sshd';
import { buildCli, cliHome, type CliHome } from './cli';
import { startEchoServer } from './net';
import { staticServers } from './servers';
import { startSshAgent, type SshAgent } from './sshAgent';
import { ensureTestUser } from './testUser';

export type EchoServer = Awaited<ReturnType<typeof startEchoServer>>;

export interface SshdSuite {
  sshd: SshdFixture;
  echo: EchoServer;
  /** A fresh manager for each test, over the sshd's `test` server; disposed after the test. */
  manager: TunnelManager;
}

/**
 * The setup the engine suites share: one real sshd and one echo service for the whole suite, and
 * a new TunnelManager for each test. Call it inside `describe`; the fields are set once its
 * hooks have run.
 */
export function sshdSuite(options: { sshd?: SshdOptions; manager?: Omit<TunnelManagerOptions, 'servers'> } = {}): SshdSuite {
  const suite = sshdWithEcho(options.sshd) as SshdSuite;
  beforeEach(() => {
    suite.manager = new TunnelManager({ ...options.manager, servers: staticServers(suite.sshd.server('test')) });
  });
  afterEach(async () => {
    await suite.manager?.dispose();
  });
  return suite;
}

/** One real sshd and one echo service for the whole suite, for suites that build their own managers. */
export function sshdWithEcho(options?: SshdOptions): Pick<SshdSuite, 'sshd' | 'echo'> {
  const suite = {} as Pick<SshdSuite, 'sshd' | 'echo'>;
  before(async () => {
    suite.sshd = await SshdFixture.start(options);
    suite.echo = await startEchoServer();
  });
  after(async () => {
    await suite.echo?.close();
    await suite.sshd?.stop();
  });
  return suite;
}

export interface CliSuite {
  sshd: SshdFixture;
  echo: EchoServer;
  /** The command's HOME (cliHome): the sshd as `fix` and `fresh` in ~/.ssh/config. */
  home: CliHome;
}

/**
 * The setup the suites of the built command (dist/cli.js) share: dist/ built, one real sshd
 * (started with `sshd`'s options), one echo service and a HOME for the command for the whole
 * suite, all removed after it. Call it inside `describe`; the fields are set once its hooks have
 * run. Its `after` hooks run before those the suite registers later: what must end while the
 * sshd is still up is registered first.
 */
export function cliSuite(sshd?: SshdOptions): CliSuite {
  before(() => buildCli());
  const suite = sshdWithEcho(sshd) as CliSuite;
  before(() => {
    suite.home = cliHome(suite.sshd);
  });
  after(() => suite.home?.remove());
  return suite;
}

/** One real sshd and a real ssh-agent holding the sshd's client key, for the whole suite. */
export function sshdWithAgent(): { sshd: SshdFixture; agent: SshAgent } {
  const suite = {} as { sshd: SshdFixture; agent: SshAgent };
  before(async () => {
    suite.sshd = await SshdFixture.start();
    suite.agent = await startSshAgent(suite.sshd.dir, [suite.sshd.clientKeyPath]);
  });
  after(async () => {
    suite.agent?.stop();
    await suite.sshd?.stop();
  });
  return suite;
}

export interface TestUserSshd {
  sshd: SshdFixture;
  /** The local test user (ensureTestUser) and its password. */
  user: string;
  password: string;
}

/**
 * One real sshd for the suite that lets the local test user in only by `method`: a password
 * (sshd checks /etc/shadow) or keyboard-interactive (sshd asks through PAM).
 */
export function testUserSshd(method: 'password' | 'keyboard-interactive'): TestUserSshd {
  const suite = {} as TestUserSshd;
  before(async () => {
    ({ user: suite.user, password: suite.password } = ensureTestUser());
    suite.sshd = await SshdFixture.start(method === 'password'
      ? { passwordAuthentication: true, extraConfig: ['AuthenticationMethods password'] }
      : { usePam: true, kbdInteractiveAuthentication: true, extraConfig: ['AuthenticationMethods keyboard-interactive'] });
  });
  after(async () => suite.sshd?.stop());
  return suite;
}
