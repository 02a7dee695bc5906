import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const TEST_USER = 'ssh-tunnels-test';
const PASSWORD_FILE = path.join(os.tmpdir(), `${TEST_USER}.password`);

function userExists(): boolean {
  try {
    execFileSync('id', [TEST_USER], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A local system user with a password, for password and keyboard-interactive logins against
 * the sshd fixture (it checks /etc/shadow or PAM). Created once (needs root); the random
 * password is kept in a 0600 file so concurrent runs agree on it.
 */
export function ensureTestUser(): { user: string; password: string } {
  if (process.getuid?.() !== 0 && !userExists()) {
    throw new Error(`The password tests need a local user ${TEST_USER}; run them as root once (or: useradd -M -s /bin/sh ${TEST_USER}).`);
  }
  if (!userExists()) {
    try {
      execFileSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', TEST_USER], { stdio: 'pipe' });
    } catch (err) {
      if (!userExists()) throw err; // a concurrent run created it first
    }
  }
  let password: string;
  try {
    const fd = fs.openSync(PASSWORD_FILE, 'wx', 0o600);
    password = randomBytes(12).toString('base64url');
    execFileSync('chpasswd', [], { input: `${TEST_USER}:${password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
    fs.writeSync(fd, password);
    fs.closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    password = fs.readFileSync(PASSWORD_FILE, 'utf8');
    for (let i = 0; i < 50 && password === ''; i++) {
      execFileSync('sleep', ['0.1']);
      password = fs.readFileSync(PASSWORD_FILE, 'utf8');
    }
  }
  return { user: TEST_USER, password };
}
