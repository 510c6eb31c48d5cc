// Starts the real virtportal server for the browser suite:
//   ${VIRTPORTAL_BIN:-./bin/virtportal} serve --demo --allow-root
//     --listen 127.0.0.1:0 --data-dir <fresh temp dir>
// and waits for the lines that give its URL and the demo admin password.
// With {demo: false, libvirtURI} it serves a real libvirt instead (no demo
// admin: setup() adds users to the data directory before the start).
// A missing binary or a server that is not up within 20 s fails loudly.
// cli() runs the same binary's other commands (user add/del) on its data
// directory, which works while the server runs.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const START_TIMEOUT_MS = 20000;

const URL_RE = /listening on (https?:\/\/[^\s"'<>]+)/;
const PASSWORD_RE = /admin password: ([^\s"']+)["']?\s*$/;

/** The server binary: $VIRTPORTAL_BIN, or bin/virtportal of the repository. */
export function serverBinary() {
  const bin = process.env.VIRTPORTAL_BIN || './bin/virtportal';
  return resolve(REPO, bin);
}

/**
 * Start the server.
 * @param {{env?: Record<string,string>, args?: string[], demo?: boolean, libvirtURI?: string,
 *          setup?: (dataDir: string) => Promise<void>}} [opts]
 *   demo (default true): the demo host and its printed admin password; false
 *   with libvirtURI: that libvirt, and setup() to add users before the start
 * @returns {Promise<{url: string, password: string, dataDir: string, log: () => string, stop: () => Promise<void>}>}
 */
export async function startServer(opts = {}) {
  const demo = opts.demo ?? true;
  const bin = serverBinary();
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`virtportal server binary not found or not executable at ${bin}. ` +
      'Build it first (make build) or point VIRTPORTAL_BIN at it.');
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'virtportal-e2e-'));
  if (opts.setup) {
    try {
      await opts.setup(dataDir);
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
  }
  const mode = demo ? ['--demo'] : ['--libvirt-uri', opts.libvirtURI ?? 'qemu:///system'];
  const child = spawn(bin, ['serve', ...mode, '--allow-root', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...(opts.args ?? [])], {
    cwd: REPO,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let exited = null;
  const exitPromise = new Promise((res) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      res(exited);
    });
    child.on('error', (err) => {
      exited = { code: null, signal: null, error: err };
      res(exited);
    });
  });

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(t);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  const ready = new Promise((res, rej) => {
    let url = '';
    let password = '';
    let buf = { stdout: '', stderr: '' };
    const onData = (name) => (chunk) => {
      const text = chunk.toString();
      log += text;
      buf[name] += text;
      const lines = buf[name].split('\n');
      buf[name] = lines.pop();
      for (const line of lines) {
        const u = URL_RE.exec(line);
        if (u && !url) url = u[1].replace(/[.,;)\]]+$/, '');
        const p = PASSWORD_RE.exec(line.trimEnd());
        if (p && !password) password = p[1];
      }
      if (url && (password || !demo)) res({ url, password });
    };
    child.stdout.on('data', onData('stdout'));
    child.stderr.on('data', onData('stderr'));
    exitPromise.then((e) => rej(new Error(`virtportal exited before it was ready (${e.error?.message ?? `code ${e.code}, signal ${e.signal}`}). Output:\n${log}`)));
    const timer = setTimeout(() => rej(new Error(`virtportal did not print its URL${demo ? ' and admin password' : ''} within ${START_TIMEOUT_MS / 1000} s. Output:\n${log}`)), START_TIMEOUT_MS);
    timer.unref();
  });

  try {
    const { url, password } = await ready;
    return { url, password, dataDir, log: () => log, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Run a command of the server binary (not serve), e.g. ['user', 'list', '--data-dir', dir].
 * @param {string[]} args
 * @param {{stdin?: string}} [opts]
 * @returns {Promise<string>} its standard output; rejects with its output when it fails
 */
export function cli(args, opts = {}) {
  return new Promise((res, rej) => {
    const child = spawn(serverBinary(), args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`virtportal ${args.join(' ')} exited with ${code}: ${err || out}`))));
    child.stdin.end(opts.stdin ?? '');
  });
}

/**
 * Add a local user to a server's data directory.
 * @param {string} dataDir
 * @param {string} name
 * @param {string} password
 * @param {{admin?: boolean}} [opts]
 */
export function addUser(dataDir, name, password, opts = {}) {
  return cli(['user', 'add', '--data-dir', dataDir, '--password-stdin', ...(opts.admin ? ['--admin'] : []), name], { stdin: password + '\n' });
}

/** Delete a local user from a server's data directory. */
export function deleteUser(dataDir, name) {
  return cli(['user', 'del', '--data-dir', dataDir, name]);
}
