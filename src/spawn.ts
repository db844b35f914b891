/**
 * Starting a child process with posix_spawn (what `subprocess.Popen` does
 * for asyncio), and checking the options that describe it.
 *
 * Spawn hygiene (FFI-NOTES.md §6):
 * - Every descriptor we create is close-on-exec (`pipe2(O_CLOEXEC)`); the
 *   child receives exactly 0, 1, 2 (wired by `adddup2` file actions, which
 *   clear close-on-exec on the target) and the `passFds` (dup'ed onto
 *   themselves, which clears it in the child only: glibc >= 2.29). Every
 *   other descriptor is closed in the child (`addclosefrom_np`, glibc >=
 *   2.34), as Python's `close_fds`: this process may have inherited some
 *   without close-on-exec.
 * - The hosts ignore SIGPIPE (Node and Bun also SIGXFSZ), and ignored
 *   dispositions survive exec: POSIX_SPAWN_SETSIGDEF resets them, and
 *   POSIX_SPAWN_SETSIGMASK gives the child an empty signal mask, as
 *   CPython's `restore_signals` does.
 * - posix_spawn returns an errno value instead of setting errno, and
 *   glibc reports a failed exec (missing program, bad cwd) there too,
 *   having reaped the failed child itself.
 */

import { isDetached } from "./socket.ts";
import { C, libc, native } from "./native.ts";
import { codeToErrno, OSError, RuntimeError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import type { Pointer } from "../ffi/types.ts";

/** Connect the child's stream to a new pipe (the default). Python's `subprocess.PIPE`. */
export const PIPE: -1 = -1;
/** Merge the child's stderr into its stdout. Python's `subprocess.STDOUT`. */
export const STDOUT: -2 = -2;
/** Connect the child's stream to /dev/null. Python's `subprocess.DEVNULL`. */
export const DEVNULL: -3 = -3;

/**
 * Where one of the child's standard streams goes: PIPE, DEVNULL, STDOUT
 * (stderr only), a descriptor (a number or an object with `fileno()`) the
 * child gets a copy of, or null to inherit ours.
 */
export type StdioOption = number | { fileno(): number } | null;

/** Options of `subprocessExec`/`subprocessShell` (Python's `Popen` keywords that apply). */
export interface SubprocessOptions {
  /** The child's standard input (default PIPE: `getPipeTransport(0)` writes to it). */
  stdin?: StdioOption;
  /** The child's standard output (default PIPE: `pipeDataReceived(1, data)`). */
  stdout?: StdioOption;
  /** The child's standard error (default PIPE: `pipeDataReceived(2, data)`; STDOUT merges it into stdout). */
  stderr?: StdioOption;
  /** Directory to start in; a relative program path is found relative to it. */
  cwd?: string | null;
  /** The child's whole environment (default: ours, as it is at spawn time). */
  env?: Record<string, string> | null;
  /** Run the child in a new session (setsid). */
  startNewSession?: boolean;
  /** Put the child in process group `processGroup` (0: a new group led by the child). */
  processGroup?: number | null;
  /** Descriptors kept open in the child, under the same numbers. */
  passFds?: Iterable<number>;
  /**
   * Close every other descriptor in the child (default true, as Python):
   * also those this process inherited without close-on-exec.
   */
  closeFds?: boolean;
  /** The program to run instead of argv[0] (for a shell: instead of /bin/sh). */
  executable?: string | null;
  /** Reset SIGPIPE and SIGXFSZ to their defaults in the child (default true). */
  restoreSignals?: boolean;
  /** Only the values asyncio accepts: 0, false, null. */
  bufsize?: number;
  /** Must be false or null: the transports carry bytes (asyncio's rule). */
  universalNewlines?: boolean | null;
  /** Must be false or null: the transports carry bytes (asyncio's rule). */
  text?: boolean | null;
  /** Must be null: the transports carry bytes (asyncio's rule). */
  encoding?: string | null;
  /** Must be null: the transports carry bytes (asyncio's rule). */
  errors?: string | null;
}

const knownOptions = new Set([
  "stdin", "stdout", "stderr", "cwd", "env", "startNewSession", "processGroup", "passFds", "closeFds", "executable",
  "restoreSignals", "bufsize", "universalNewlines", "text", "encoding", "errors",
]);

/** What a stream becomes: a kind, and for "fd" the descriptor. */
type Stdio = { kind: "pipe" } | { kind: "devnull" } | { kind: "stdout" } | { kind: "inherit" } | { kind: "fd"; fd: number };

/** Validated options: what `spawnChild` runs. */
export interface SpawnRequest {
  argv: string[];
  /** The file to execute (argv[0] unless `executable` was given). */
  program: string;
  stdio: [Stdio, Stdio, Stdio];
  cwd: string | null;
  env: Record<string, string> | null;
  startNewSession: boolean;
  processGroup: number | null;
  passFds: number[];
  closeFds: boolean;
  restoreSignals: boolean;
}

/** The spawned child: its pid and our ends of its pipes (null where no pipe was asked for). */
export interface Spawned {
  pid: number;
  stdin: number | null;
  stdout: number | null;
  stderr: number | null;
}

const enc = new TextEncoder();

function checkString(v: unknown, what: string): string {
  if (typeof v !== "string") throw new TypeError(`${what} must be a string, not ${formatValue(v)}`);
  if (v.includes("\0")) throw new ValueError(`embedded null byte in ${what}`);
  return v;
}

function checkStdio(v: unknown, name: "stdin" | "stdout" | "stderr"): Stdio {
  if (v === undefined || v === PIPE) return { kind: "pipe" };
  if (v === null) return { kind: "inherit" };
  if (v === DEVNULL) return { kind: "devnull" };
  if (v === STDOUT) {
    if (name !== "stderr") throw new ValueError(`STDOUT is only valid for stderr, not ${name}`);
    return { kind: "stdout" };
  }
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new ValueError(`invalid ${name} value: ${v}`);
    return { kind: "fd", fd: v };
  }
  if (typeof v === "object" && typeof (v as { fileno?: unknown }).fileno === "function") {
    const fd = (v as { fileno(): unknown }).fileno();
    if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw new ValueError(`invalid ${name} value: fileno() returned ${formatValue(fd)}`);
    }
    return { kind: "fd", fd };
  }
  throw new ValueError(`invalid ${name} value: ${formatValue(v)} (PIPE, DEVNULL, a descriptor or null)`);
}

/** Check argv and options as Popen would; TypeError/ValueError on bad input. */
export function checkSpawnRequest(argv: unknown, options: SubprocessOptions): SpawnRequest {
  if (!Array.isArray(argv)) throw new TypeError(`argv must be an array of strings, not ${formatValue(argv)}`);
  if (argv.length === 0) throw new ValueError("argv must not be empty: it needs at least the program");
  const args = argv.map((a, i) => checkString(a, `argv[${i}]`));
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, not ${formatValue(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!knownOptions.has(k)) throw new TypeError(`unexpected subprocess option ${JSON.stringify(k)}`);
  }
  const o = options;
  // asyncio's transports carry bytes only.
  if (o.universalNewlines) throw new ValueError("universalNewlines must be false");
  if (o.text) throw new ValueError("text must be false");
  if (o.encoding !== undefined && o.encoding !== null) throw new ValueError("encoding must be null");
  if (o.errors !== undefined && o.errors !== null) throw new ValueError("errors must be null");
  if (o.bufsize !== undefined && o.bufsize !== 0) throw new ValueError("bufsize must be 0");
  const stdio: [Stdio, Stdio, Stdio] = [checkStdio(o.stdin, "stdin"), checkStdio(o.stdout, "stdout"), checkStdio(o.stderr, "stderr")];
  const cwd = o.cwd === undefined || o.cwd === null ? null : checkString(o.cwd, "cwd");
  let env: Record<string, string> | null = null;
  if (o.env !== undefined && o.env !== null) {
    if (typeof o.env !== "object") throw new TypeError(`env must be an object of strings, not ${formatValue(o.env)}`);
    env = {};
    for (const [k, v] of Object.entries(o.env)) {
      checkString(k, "environment variable name");
      if (k === "" || k.includes("=")) throw new ValueError(`illegal environment variable name ${JSON.stringify(k)}`);
      env[k] = checkString(v, `environment variable ${k}`);
    }
  }
  let processGroup: number | null = null;
  if (o.processGroup !== undefined && o.processGroup !== null) {
    if (!Number.isInteger(o.processGroup)) throw new TypeError(`processGroup must be an integer, not ${formatValue(o.processGroup)}`);
    if (o.processGroup < 0) throw new ValueError(`processGroup must be >= 0, not ${o.processGroup}`);
    processGroup = o.processGroup;
  }
  const passFds: number[] = [];
  if (o.passFds !== undefined && o.passFds !== null) {
    if (typeof (o.passFds as Iterable<number>)[Symbol.iterator] !== "function") {
      throw new TypeError(`passFds must be an array of descriptors, not ${formatValue(o.passFds)}`);
    }
    if (ArrayBuffer.isView(o.passFds) && isDetached(o.passFds.buffer)) throw new TypeError("passFds is a view of a detached ArrayBuffer");
    for (const fd of o.passFds) {
      if (typeof fd !== "number" || !Number.isInteger(fd)) throw new TypeError(`passFds must hold integers, not ${formatValue(fd)}`);
      if (fd < 0 || fd > 0x7fffffff) throw new ValueError(`bad value(s) in passFds: ${fd}`);
      if (fd > 2 && !passFds.includes(fd)) passFds.push(fd);
    }
  }
  const executable = o.executable === undefined || o.executable === null ? null : checkString(o.executable, "executable");
  return {
    argv: args,
    program: executable ?? args[0],
    stdio,
    cwd,
    env,
    startNewSession: Boolean(o.startNewSession),
    processGroup,
    passFds,
    // As Python: passFds implies closing the others.
    closeFds: passFds.length > 0 || (o.closeFds ?? true),
    restoreSignals: o.restoreSignals ?? true,
  };
}

// ---- C strings and arrays of them ----

/** A NUL-terminated copy of `s` in its own ArrayBuffer (bun:ffi may move small GC-heap arrays). */
function cString(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(new ArrayBuffer(b.byteLength + 1));
  out.set(b);
  return out;
}

/**
 * A NULL-terminated `char *[]` for `strings`: the pointer array and the
 * block its pointers point into. Both must stay alive until the call that
 * uses them returns (the caller keeps the returned object in a variable).
 */
function cStringArray(strings: string[]): { ptrs: Uint8Array; block: Uint8Array } {
  const encoded = strings.map((s) => enc.encode(s));
  const total = encoded.reduce((n, e) => n + e.byteLength + 1, 0);
  const block = new Uint8Array(new ArrayBuffer(Math.max(total, 1)));
  const ptrs = new Uint8Array(new ArrayBuffer((strings.length + 1) * 8));
  const view = new DataView(ptrs.buffer);
  const base = native.addressOf(block);
  let off = 0;
  encoded.forEach((e, i) => {
    block.set(e, off);
    view.setBigUint64(i * 8, base + BigInt(off), true);
    off += e.byteLength + 1;
  });
  view.setBigUint64(strings.length * 8, 0n, true);
  return { ptrs, block };
}

let environSlot: Pointer | null | undefined;

/** Where libc keeps `char **environ` (its address never changes), or null. */
function environAddress(): Pointer | null {
  if (environSlot === undefined) {
    environSlot = null;
    if (libc.dlsym) {
      // RTLD_DEFAULT is NULL on Linux.
      const p = libc.dlsym(null, cString("environ")) as Pointer;
      if (!native.isNull(p)) environSlot = p;
    } else if (libc._NSGetEnviron) {
      const p = libc._NSGetEnviron() as Pointer;
      if (!native.isNull(p)) environSlot = p;
    }
  }
  return environSlot;
}

/**
 * A copy of the current `environ` array (the pointers, not the strings):
 * the live environment, including changes the host made with setenv
 * (`process.env.X = ...`, `Deno.env.set`). Used at once, on this thread,
 * before anything can change it.
 */
function currentEnviron(): Uint8Array {
  const slot = environAddress();
  const env = slot === null ? null : native.readPointer(slot, 0);
  if (env === null || native.isNull(env)) {
    if (!warnedEnviron) {
      warnedEnviron = true;
      console.warn("tsyncio: cannot find environ: children start with an empty environment unless env is given");
    }
    return new Uint8Array(new ArrayBuffer(8));
  }
  let n = 0;
  while (!native.isNull(native.readPointer(env, n * 8))) n++;
  const out = new Uint8Array(new ArrayBuffer((n + 1) * 8));
  out.set(native.readBytes(env, 0, (n + 1) * 8));
  return out;
}
let warnedEnviron = false;

// ---- finding the program ----

const statBuf = new Uint8Array(new ArrayBuffer(C.STAT_SIZE));
const statView = new DataView(statBuf.buffer);

/** The file type bits of `path`, or the errno of a failed stat (negated). */
function pathType(path: string): number {
  if (!libc.stat) return 0;
  if (libc.stat(cString(path), statBuf) < 0) return -native.errno();
  return statView.getUint32(C.STAT_MODE_OFFSET, true) & C.S_IFMT;
}

/**
 * Python's PATH search for a given environment (`os.get_exec_path(env)`):
 * with `env` given, its PATH (or the default path) decides, not ours.
 * Returns the path to execute, or throws FileNotFoundError/PermissionError.
 */
function searchPath(name: string, env: Record<string, string>): string {
  const dirs = (env.PATH ?? "/bin:/usr/bin").split(":");
  let denied = false;
  for (const dir of dirs) {
    const candidate = `${dir === "" ? "." : dir}/${name}`;
    const type = pathType(candidate);
    if (type < 0 || type === C.S_IFDIR) continue;
    if (libc.access(cString(candidate), C.X_OK) === 0) return candidate;
    denied = true;
  }
  throw OSError.fromErrno(codeToErrno(denied ? "EACCES" : "ENOENT"), `'${name}'`);
}

// ---- spawning ----

const ENOENT = codeToErrno("ENOENT");
const ENOTDIR = codeToErrno("ENOTDIR");

/**
 * Start the child described by `req`. Throws the OSError of a failed
 * spawn (FileNotFoundError for a missing program or cwd, PermissionError
 * for one we may not run) with nothing left open.
 */
export function spawnChild(req: SpawnRequest): Spawned {
  if (req.cwd !== null) {
    if (!libc.posix_spawn_file_actions_addchdir_np) {
      throw new RuntimeError("cwd needs posix_spawn_file_actions_addchdir_np (glibc 2.29 or later)");
    }
    // posix_spawn reports a bad cwd and a bad program with the same errno: tell them apart first.
    const type = pathType(req.cwd);
    if (type < 0) throw OSError.fromErrno(-type, `'${req.cwd}'`);
    if (type !== 0 && type !== C.S_IFDIR) throw OSError.fromErrno(ENOTDIR, `'${req.cwd}'`);
  }
  let path = req.program;
  let usePathSearch = false;
  if (!path.includes("/")) {
    // posix_spawnp searches our PATH; Python searches the child's when env is given.
    if (req.env !== null) path = searchPath(path, req.env);
    else usePathSearch = true;
  }

  const ours: number[] = []; // our ends of the pipes, returned to the caller
  const theirs: number[] = []; // the child's ends and temporary copies: closed once it runs
  const ends: [number | null, number | null, number | null] = [null, null, null];
  const fa = new Uint8Array(new ArrayBuffer(C.SPAWN_FILE_ACTIONS_SIZE));
  const attr = new Uint8Array(new ArrayBuffer(C.SPAWNATTR_SIZE));
  let faReady = false, attrReady = false;
  const check = (r: number, what: string): void => {
    if (r !== 0) throw OSError.fromErrno(r, what);
  };
  // A source of dup2 below 3 could be overwritten by an earlier dup2 onto 0..2 in
  // the child: give the child a copy above 2 instead.
  const safeSource = (fd: number, target: number): number => {
    if (fd > 2 || fd === target) return fd;
    const copy = libc.fcntl(fd, C.F_DUPFD_CLOEXEC, 3);
    if (copy < 0) throw OSError.fromErrno(native.errno(), `fcntl(${fd}, F_DUPFD_CLOEXEC)`);
    theirs.push(copy);
    return copy;
  };
  try {
    check(libc.posix_spawn_file_actions_init(fa), "posix_spawn_file_actions_init");
    faReady = true;
    check(libc.posix_spawnattr_init(attr), "posix_spawnattr_init");
    attrReady = true;

    const pipeFds = new Int32Array(new ArrayBuffer(8));
    const pipeBytes = new Uint8Array(pipeFds.buffer);
    for (let target = 0; target < 3; target++) {
      const s = req.stdio[target];
      if (s.kind === "inherit") {
        // Our descriptor may be close-on-exec (Node marks its stdio so): dup it onto
        // itself so the child inherits it, as libuv does. A closed one stays closed.
        const fl = libc.fcntl(target, C.F_GETFD, 0);
        if (fl >= 0 && fl & C.FD_CLOEXEC) check(libc.posix_spawn_file_actions_adddup2(fa, target, target), "adddup2");
        continue;
      }
      if (s.kind === "devnull") {
        check(libc.posix_spawn_file_actions_addopen(fa, target, cString("/dev/null"), C.O_RDWR, 0), "addopen");
        continue;
      }
      if (s.kind === "stdout") {
        // Order matters: stdout (fd 1) is already wired when this runs.
        check(libc.posix_spawn_file_actions_adddup2(fa, 1, 2), "adddup2");
        continue;
      }
      let source: number;
      if (s.kind === "pipe") {
        if (makePipe(pipeBytes) < 0) throw OSError.fromErrno(native.errno(), "pipe2()");
        const [r, w] = target === 0 ? [pipeFds[0], pipeFds[1]] : [pipeFds[1], pipeFds[0]];
        theirs.push(r);
        ours.push(w);
        ends[target] = w;
        source = r;
      } else {
        source = checkOpen(s.fd, ["stdin", "stdout", "stderr"][target]);
      }
      check(libc.posix_spawn_file_actions_adddup2(fa, safeSource(source, target), target), "adddup2");
    }
    // dup2 onto itself clears FD_CLOEXEC in the child only (glibc >= 2.29).
    for (const fd of req.passFds) check(libc.posix_spawn_file_actions_adddup2(fa, checkOpen(fd, "passFds"), fd), "adddup2");
    // Close-on-exec covers what we open, not what this process inherited without it:
    // close everything else in the child, as Python's close_fds.
    if (req.closeFds && libc.posix_spawn_file_actions_addclosefrom_np) {
      const top = req.passFds.length ? Math.max(...req.passFds) : 2;
      for (let fd = 3; fd < top; fd++) {
        if (!req.passFds.includes(fd) && libc.fcntl(fd, C.F_GETFD, 0) >= 0) {
          check(libc.posix_spawn_file_actions_addclose(fa, fd), "addclose");
        }
      }
      check(libc.posix_spawn_file_actions_addclosefrom_np(fa, top + 1), "addclosefrom_np");
    }
    if (req.cwd !== null) check(libc.posix_spawn_file_actions_addchdir_np!(fa, cString(req.cwd)), "addchdir_np");

    let flags = C.POSIX_SPAWN_SETSIGMASK;
    const mask = new Uint8Array(new ArrayBuffer(C.SIGSET_SIZE));
    libc.sigemptyset(mask);
    check(libc.posix_spawnattr_setsigmask(attr, mask), "posix_spawnattr_setsigmask");
    if (req.restoreSignals) {
      const defaults = new Uint8Array(new ArrayBuffer(C.SIGSET_SIZE));
      libc.sigemptyset(defaults);
      for (const name of ["SIGPIPE", "SIGXFSZ"]) libc.sigaddset(defaults, C.signals[name]);
      check(libc.posix_spawnattr_setsigdefault(attr, defaults), "posix_spawnattr_setsigdefault");
      flags |= C.POSIX_SPAWN_SETSIGDEF;
    }
    if (req.startNewSession) flags |= C.POSIX_SPAWN_SETSID;
    if (req.processGroup !== null) {
      flags |= C.POSIX_SPAWN_SETPGROUP;
      check(libc.posix_spawnattr_setpgroup(attr, req.processGroup), "posix_spawnattr_setpgroup");
    }
    check(libc.posix_spawnattr_setflags(attr, flags), "posix_spawnattr_setflags");

    // Keep every buffer the pointer arrays point into alive until posix_spawn returns.
    const argv = cStringArray(req.argv);
    const envp = req.env === null ? { ptrs: currentEnviron(), block: null } : cStringArray(envStrings(req.env));
    const file = cString(path);
    const pidBuf = new Int32Array(new ArrayBuffer(4));
    const spawn = usePathSearch ? libc.posix_spawnp : libc.posix_spawn;
    const err = spawn(new Uint8Array(pidBuf.buffer), file, fa, attr, argv.ptrs, envp.ptrs) as number;
    keepAlive(argv.block, envp.block, file);
    if (err !== 0) {
      if (req.cwd !== null && (err === ENOENT || err === ENOTDIR) && pathType(req.cwd) !== C.S_IFDIR) {
        throw OSError.fromErrno(err, `'${req.cwd}'`);
      }
      throw OSError.fromErrno(err, `'${req.program}'`);
    }
    return { pid: pidBuf[0], stdin: ends[0], stdout: ends[1], stderr: ends[2] };
  } catch (e) {
    for (const fd of ours) libc.close(fd);
    throw e;
  } finally {
    for (const fd of theirs) libc.close(fd);
    if (faReady) libc.posix_spawn_file_actions_destroy(fa);
    if (attrReady) libc.posix_spawnattr_destroy(attr);
  }
}

/**
 * A descriptor the caller gave must be open here: otherwise the child's
 * dup2 fails and posix_spawn would blame the program.
 */
function checkOpen(fd: number, what: string): number {
  if (libc.fcntl(fd, C.F_GETFD, 0) < 0) throw OSError.fromErrno(native.errno(), `${what}=${fd}`);
  return fd;
}

/** Linux's F_SETPIPE_SZ: bulk transfers through a child move 4× fewer wake-ups with 256 KiB pipes. */
const F_SETPIPE_SZ = 1031;
const PIPE_SIZE = 256 * 1024;

/** pipe2(O_CLOEXEC); on systems without it (macOS), pipe + FD_CLOEXEC. */
function makePipe(fds: Uint8Array): number {
  if (libc.pipe2) {
    const r = libc.pipe2(fds, C.O_CLOEXEC);
    // Best effort: the size may exceed /proc/sys/fs/pipe-max-size for unprivileged users.
    if (r === 0 && native.os === "linux") libc.fcntl(new Int32Array(fds.buffer, fds.byteOffset, 1)[0], F_SETPIPE_SZ, PIPE_SIZE);
    return r;
  }
  if (libc.pipe(fds) < 0) return -1;
  const v = new Int32Array(fds.buffer, fds.byteOffset, 2);
  for (const fd of v) libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC);
  return 0;
}

function envStrings(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** A no-op the optimizer cannot drop: the buffers stay reachable until here. */
function keepAlive(..._buffers: unknown[]): void {}
