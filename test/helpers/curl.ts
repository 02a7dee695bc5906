import { execFile } from 'node:child_process';

/** curl, as a person would run it (-sS, at most 10 s); resolves with stdout, rejects with curl's own message. */
export function curl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout, stderr) => (err ? reject(new Error(`curl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))),
  );
}
