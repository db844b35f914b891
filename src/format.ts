/** Short, readable descriptions of callbacks and values for reprs and logs. */

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => unknown;

export function formatCallback(cb: Fn, args: readonly unknown[]): string {
  const name = cb.name || "<anonymous>";
  return `${name}(${args.map(formatValue).join(", ")})`;
}

// The objects being formatted right now: a value that holds itself (a task
// whose result contains the task) is shown as "..." instead of recursing
// without end, as Python's reprlib.recursive_repr does.
const inProgress = new Set<object>();

/** A short description of `v` for reprs and messages; safe on values that contain themselves. */
export function formatValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 37) + "..." : v);
  if (typeof v === "function") return `<function ${v.name || "<anonymous>"}>`;
  if (v instanceof Uint8Array) return `<${v.constructor.name} ${v.length} bytes>`;
  if (v === null || typeof v !== "object") return String(v);
  if (inProgress.has(v)) return "...";
  inProgress.add(v);
  try {
    if (Array.isArray(v)) return `[${v.slice(0, 5).map(formatValue).join(", ")}${v.length > 5 ? ", ..." : ""}]`;
    const s = String(v);
    return s === "[object Object]" ? `<${v.constructor?.name ?? "Object"}>` : s;
  } catch {
    // A value that cannot be shown (no toString, a throwing getter or
    // toString): a message about a bad argument must not fail itself.
    return "<unprintable object>";
  } finally {
    inProgress.delete(v);
  }
}
