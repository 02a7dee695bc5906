import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { TunnelError, TunnelManager, type CloseReason, type TunnelInfo } from '../../src/engine';
import { managerActions } from '../../src/catalogue';
import { HeldHostKeyQuestion, unknownHostServer } from '../helpers/hostKeyQuestion';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

describe('manager: every closed tunnel says why it closed', function () {
  this.timeout(60_000);
  const env = sshdWithEcho();
  let manager: TunnelManager;
  let events: TunnelInfo[];
  let question: HeldHostKeyQuestion;

  beforeEach(() => {
    question = new HeldHostKeyQuestion();
    const servers = staticServers(env.sshd.server('test'), unknownHostServer(env.sshd, 'unknown'));
    manager = new TunnelManager({ servers, reconnect: { maxAttempts: 0 }, prompts: question.prompts });
    events = [];
    manager.onDidChangeTunnel((t) => events.push(t));
  });
  afterEach(async () => {
    question.reply('reject');
    await manager.dispose();
  });

  const open = (name?: string) => manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port, name });
  /** The reason on the tunnel's closed event; it fails the test if there is no closed event or more than one. */
  const reasonOf = (id: string): CloseReason | undefined => {
    const closed = events.filter((e) => e.id === id && e.state === 'closed');
    assert.equal(closed.length, 1, `one closed event for ${id}`);
    return closed[0].closeReason;
  };

  it('a plain closeTunnel is a person\'s close; events before it carry no reason', async () => {
    const info = await open();
    await manager.closeTunnel(info.id);
    assert.equal(reasonOf(info.id), 'person');
    assert.ok(events.filter((e) => e.id === info.id && e.state !== 'closed').every((e) => e.closeReason === undefined));
  });

  it('closeTunnel carries the reason it is given', async () => {
    const agent = await open('by-agent');
    const settings = await open('by-settings');
    const replaced = await open('replaced');
    await manager.closeTunnel(agent.id, 'agent');
    await manager.closeTunnel(settings.id, 'settings');
    await manager.closeTunnel(replaced.id, 'replaced');
    assert.equal(reasonOf(agent.id), 'agent');
    assert.equal(reasonOf(settings.id), 'settings');
    assert.equal(reasonOf(replaced.id), 'replaced');
  });

  it('closeServer and disconnectServer give every tunnel of the server the reason', async () => {
    const a = await open('a');
    const b = await open('b');
    await manager.closeServer('test', 'settings');
    assert.equal(reasonOf(a.id), 'settings');
    assert.equal(reasonOf(b.id), 'settings');
    const c = await open('c');
    await manager.disconnectServer('test');
    assert.equal(reasonOf(c.id), 'person');
  });

  it('asked by another process (`up` and `mcp` answer with managerActions), a close is a person\'s and a restart replaces the tunnel on its port', async () => {
    const actions = managerActions(manager);
    const first = await open('asked');
    const restarted = await actions.restart(first.id);
    assert.equal(reasonOf(first.id), 'replaced');
    assert.equal(restarted.localPort, first.localPort);
    assert.equal(restarted.name, 'asked');
    await actions.close(restarted.id);
    assert.equal(reasonOf(restarted.id), 'person');
  });

  it('dispose closes with shutdown', async () => {
    const a = await open('a');
    const b = await open('b');
    await manager.dispose();
    assert.equal(reasonOf(a.id), 'shutdown');
    assert.equal(reasonOf(b.id), 'shutdown');
  });

  it('a tunnel that could not open (its port taken) closes with failed', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        manager.createTunnel({ server: 'test', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: env.echo.port }),
        (err: unknown) => err instanceof TunnelError && err.code === 'PORT_IN_USE',
      );
    } finally {
      blocker.close();
    }
    const id = events[0]?.id;
    assert.ok(id, 'the tunnel announced itself before it failed');
    assert.equal(reasonOf(id), 'failed');
  });

  it('a cancelled open closes with cancelled', async () => {
    const controller = new AbortController();
    const creating = manager.createTunnel({ server: 'unknown', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port }, { signal: controller.signal });
    await question.asked;
    controller.abort();
    await assert.rejects(creating, (err: unknown) => err instanceof TunnelError && err.code === 'CANCELLED');
    const id = events[0]?.id;
    assert.ok(id);
    assert.equal(reasonOf(id), 'cancelled');
  });
});
