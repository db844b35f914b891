/**
 * TaskGroup: asyncio's structured concurrency (`async with TaskGroup() as
 * tg:` becomes `await taskGroup(async (tg) => ...)`).
 *
 * The group ends when its body and every task it started are done. The
 * first task that fails cancels the others and the body (by cancelling the
 * parent task, with the request taken back at the end so the parent goes
 * on); the group then rejects with an ExceptionGroup of the failures. A
 * cancel of the parent from outside cancels the tasks too and propagates as
 * CancelledError.
 */

import { CancelledError, ExceptionGroup, RuntimeError } from "./errors.ts";
import { Future } from "./futures.ts";
import { getRunningLoop } from "./running.ts";
import { type Awaitable, checkAwaitable } from "./coroutines.ts";
import { checkBody, currentTask, runBodyWith, type Task, type TaskLoop, type TaskOptions } from "./tasks.ts";

/** What a TaskGroup needs of the loop. */
interface GroupLoop extends TaskLoop {
  callExceptionHandler(context: Record<string, unknown>): void;
}

/**
 * A group of tasks that finish together (asyncio's `TaskGroup`). Made and
 * entered by {@link taskGroup}; `createTask` starts a task in it.
 */
export class TaskGroup {
  #entered = false;
  #exiting = false;
  #aborting = false;
  #loop: GroupLoop | null = null;
  #parent: Task<unknown> | null = null;
  #parentCancelRequested = false;
  #tasks = new Set<Task<unknown>>();
  #errors: unknown[] = [];
  #onCompleted: Future<boolean> | null = null;

  /**
   * Start `aw` as a task of the group (asyncio's `TaskGroup.create_task`).
   * RuntimeError before the group is entered, once it has finished, or
   * while it is shutting down after a failure.
   *
   * @param aw a coroutine function (`async () => ...`) or a coroutine; a
   *   Future is a TypeError, as in asyncio (it is already scheduled)
   * @param options the task's `name` and `context`
   */
  createTask<T>(aw: Awaitable<T>, options: TaskOptions = {}): Task<T> {
    checkAwaitable(aw, "TaskGroup.createTask()");
    if (!this.#entered) throw new RuntimeError(`TaskGroup ${this} has not been entered`);
    if (this.#exiting && this.#tasks.size === 0) throw new RuntimeError(`TaskGroup ${this} is finished`);
    if (this.#aborting) throw new RuntimeError(`TaskGroup ${this} is shutting down`);
    const task = this.#loop!.createTask(aw as () => T, options);
    if (task.done()) this.#onTaskDone(task as Task<unknown>);
    else {
      this.#tasks.add(task as Task<unknown>);
      task.addDoneCallback(this.#onTaskDone);
    }
    return task;
  }

  /** asyncio's repr. */
  toString(): string {
    const info = [];
    if (this.#tasks.size) info.push(`tasks=${this.#tasks.size}`);
    if (this.#errors.length) info.push(`errors=${this.#errors.length}`);
    if (this.#aborting) info.push("cancelling");
    else if (this.#entered) info.push("entered");
    return `<TaskGroup${info.length ? " " + info.join(" ") : ""}>`;
  }

  /** @internal asyncio's `__aenter__` */
  _enter(loop: GroupLoop): void {
    if (this.#entered) throw new RuntimeError("TaskGroup has already been entered");
    this.#loop = loop;
    this.#parent = currentTask(loop);
    if (this.#parent === null) throw new RuntimeError("TaskGroup cannot determine the parent task");
    this.#entered = true;
  }

  /** @internal asyncio's `__aexit__`: wait for the tasks, then decide what to throw */
  async _exit(threw: boolean, exc: unknown): Promise<void> {
    this.#exiting = true;
    let propagateCancel: unknown = threw && exc instanceof CancelledError ? exc : null;
    // The body failed, or the parent is being cancelled: the tasks go too.
    if (threw && !this.#aborting) this.#abort();
    while (this.#tasks.size > 0) {
      this.#onCompleted ??= new Future<boolean>({ loop: this.#loop! });
      try {
        await this.#onCompleted;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        // The parent was cancelled while we waited for the tasks.
        if (!this.#aborting) {
          propagateCancel = e;
          this.#abort();
        }
      }
      this.#onCompleted = null;
    }
    const parent = this.#parent!;
    // Our own cancel of the parent is taken back; if it was the only one,
    // the CancelledError it caused does not propagate.
    if (this.#parentCancelRequested && parent.uncancel() === 0) propagateCancel = null;
    if (propagateCancel !== null && this.#errors.length === 0) throw propagateCancel;
    if (threw && !(exc instanceof CancelledError)) this.#errors.push(exc);
    if (this.#errors.length > 0) {
      // A cancel from outside is still pending: keep the count stable.
      if (parent.cancelling() > 0) {
        parent.uncancel();
        parent.cancel();
      }
      const errors = this.#errors;
      this.#errors = [];
      throw new ExceptionGroup("unhandled errors in a TaskGroup", errors);
    }
  }

  #abort(): void {
    this.#aborting = true;
    for (const t of this.#tasks) if (!t.done()) t.cancel();
  }

  #onTaskDone = (task: Task<unknown>): void => {
    this.#tasks.delete(task);
    if (this.#onCompleted !== null && this.#tasks.size === 0 && !this.#onCompleted.done()) {
      this.#onCompleted.setResult(true);
    }
    if (task.cancelled()) return;
    const exc = task.exception();
    if (exc === null) return;
    this.#errors.push(exc);
    const parent = this.#parent!;
    if (parent.done()) {
      this.#loop!.callExceptionHandler({
        message: `Task ${task} has errored out but its parent task ${parent} is already completed`,
        exception: exc,
        task,
      });
      return;
    }
    if (!this.#aborting && !this.#parentCancelRequested) {
      // Interrupt whatever the body awaits; the request is taken back at the end.
      this.#abort();
      this.#parentCancelRequested = true;
      parent.cancel();
    }
  };
}

/**
 * Run `body(tg)` with a new {@link TaskGroup} and wait for every task it
 * started (asyncio's `async with asyncio.TaskGroup() as tg:`). If a task or
 * the body fails, the other tasks are cancelled and the result rejects with
 * an `ExceptionGroup` of the failures. Must be called from a task.
 *
 * @param body `async (tg) => ...` (or a `function*`)
 * @returns a Future of the body's result
 * @example
 * ```ts
 * import { run, sleep, taskGroup } from "tsyncio";
 * await run(async () => {
 *   const [a, b] = await taskGroup<number[]>(async (tg) => {
 *     const x = tg.createTask(async () => { await sleep(0.01); return 1; });
 *     const y = tg.createTask(async () => 2);
 *     return [await x, await y];
 *   });
 *   console.log(a + b); // 3
 * });
 * ```
 */
export function taskGroup<T>(body: (tg: TaskGroup) => T | PromiseLike<T> | Generator<unknown, T, unknown>): Future<T> {
  checkBody(body, "taskGroup()");
  const loop = getRunningLoop() as GroupLoop;
  const tg = new TaskGroup();
  tg._enter(loop);
  return runBodyWith<TaskGroup, T>(loop, body, tg, (threw, exc) => tg._exit(threw, exc));
}
