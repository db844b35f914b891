// Load generator for bench/run_tls.mjs, on Node with node:tls (OpenSSL):
//   node bench/tls/client.mjs --mode=pingpong --port=P --pid=SERVER_PID [--conns=32] [--size=1024] [--warmup=1] [--seconds=3]
//   node bench/tls/client.mjs --mode=handshake --port=P --pid=SERVER_PID [--conc=16] [--warmup=0.5] [--seconds=3]
//   node bench/tls/client.mjs --mode=resume --port=P --pid=SERVER_PID [--conc=16] [--warmup=0.5] [--seconds=3]
// pingpong: `conns` TLS connections each send `size` bytes and wait for all of
// them back before sending again; round trips/s over the window.
// handshake: `conc` loops of connect → full TLS handshake (no session
// resumption) → 1 byte echoed → destroy; handshakes/s over the window.
// resume: the same, each loop offering the last session (TLS 1.3 ticket) the
// server gave it (node:tls `session`); counts how many the server resumed.
// Both report the server's CPU time over the window (/proc/PID/task/*/schedstat)
// and this client's, and print one JSON line.
import { readdirSync, readFileSync } from "node:fs";
import tls from "node:tls";

const opt = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const MODE = opt("mode", "pingpong");
const PORT = Number(opt("port", 0));
const PID = Number(opt("pid", 0));
const CONNS = Number(opt("conns", 32));
const SIZE = Number(opt("size", 1024));
const CONC = Number(opt("conc", 16));
const WARMUP = Number(opt("warmup", 1));
const SECONDS = Number(opt("seconds", 3));
// The server's certificate is not verified: that is the client's cost, not the server's.
const TLS_OPTS = { host: "127.0.0.1", port: PORT, servername: "localhost", rejectUnauthorized: false };

/** The server's CPU time in ns, all threads (0 when unreadable). */
function serverCpuNs() {
  if (!PID) return 0;
  let sum = 0;
  try {
    for (const t of readdirSync(`/proc/${PID}/task`)) {
      try {
        sum += Number(readFileSync(`/proc/${PID}/task/${t}/schedstat`, "utf8").split(" ")[0]);
      } catch { /* thread gone */ }
    }
  } catch { /* process gone */ }
  return sum;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let count = 0;
let resumed = 0;
let errors = 0;
let lastError = "";
let running = true;

function connect() {
  return new Promise((resolve, reject) => {
    const s = tls.connect(TLS_OPTS, () => resolve(s));
    s.setNoDelay(true);
    s.once("error", reject);
  });
}

async function pingpong() {
  const msg = Buffer.alloc(SIZE, 0x61);
  const socks = await Promise.all(Array.from({ length: CONNS }, connect));
  for (const s of socks) {
    let got = 0;
    s.on("error", (e) => {
      errors++;
      lastError = e.code ?? e.message;
    });
    s.on("data", (d) => {
      got += d.length;
      if (got < SIZE) return;
      got -= SIZE;
      count++;
      if (running) s.write(msg);
    });
    s.write(msg);
  }
  return () => socks.forEach((s) => s.destroy());
}

function handshakeLoop(session) {
  if (!running) return;
  const s = tls.connect(session ? { ...TLS_OPTS, session } : TLS_OPTS, () => s.write("x"));
  s.setNoDelay(true);
  // TLS 1.3 tickets come after the handshake, before the echo: keep the latest for the next connection.
  let next = session;
  if (MODE === "resume") s.on("session", (sess) => (next = sess));
  s.once("data", () => {
    count++;
    if (s.isSessionReused()) resumed++;
    s.destroy();
    handshakeLoop(next);
  });
  s.once("error", (e) => {
    errors++;
    lastError = e.code ?? e.message;
    s.destroy();
    setTimeout(() => handshakeLoop(undefined), 10);
  });
}

const deadline = setTimeout(() => {
  console.log(JSON.stringify({ error: `client timed out (${lastError || "no error"})` }));
  process.exit(1);
}, (WARMUP + SECONDS + 30) * 1000);
let stop = () => {};
try {
  if (MODE === "pingpong") stop = await pingpong();
  else for (let i = 0; i < CONC; i++) handshakeLoop();
  await sleep(WARMUP * 1000);
  const c0 = count, r0 = resumed, cpu0 = serverCpuNs(), me0 = process.cpuUsage(), t0 = performance.now();
  await sleep(SECONDS * 1000);
  const c1 = count, r1 = resumed, cpu1 = serverCpuNs(), me1 = process.cpuUsage(me0), t1 = performance.now();
  running = false;
  const secs = (t1 - t0) / 1000, n = c1 - c0;
  const serverCpu = (cpu1 - cpu0) / 1e9;
  console.log(JSON.stringify({
    mode: MODE, perSec: n / secs, ops: n, resumedFraction: n > 0 ? (r1 - r0) / n : 0, errors, lastError,
    serverCpuUsPerOp: n > 0 ? (serverCpu * 1e6) / n : null, serverCpuFraction: serverCpu / secs,
    clientCpuFraction: (me1.user + me1.system) / 1e6 / secs,
  }));
} catch (e) {
  console.log(JSON.stringify({ error: `${e.code ?? ""} ${e.message}` }));
}
stop();
clearTimeout(deadline);
process.exit(0);
