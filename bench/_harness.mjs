// Shared by the bench orchestrators: option parsing and process bookkeeping
// (every child runs in its own process group and is killed on the way out).

/** `opt("seconds", 3)` reads `--seconds=N` from `args`. */
export function options(args) {
  return (name, dflt) => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    return a ? a.slice(name.length + 3) : dflt;
  };
}

/** Progress lines go to stderr; the tables go to stdout. */
export const log = (s) => process.stderr.write(`${s}\n`);

/** Children spawned detached (their own process group); all killed at exit or on a signal. */
export const live = new Set();

export function killGroup(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch { /* gone */ }
  }
}

process.on("exit", () => {
  for (const c of live) killGroup(c, "SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`\n${sig}: killing the processes under test`);
    process.exit(130);
  });
}
