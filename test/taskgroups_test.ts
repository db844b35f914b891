/**
 * taskGroup() and TaskGroup: behaviours ported from CPython's
 * test_taskgroups, with async-function and generator bodies and children.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  allTasks, CancelledError, currentTask, eagerTaskFactory, type EventLoop, ExceptionGroup, newEventLoop, RuntimeError,
  sleep, type Task, TaskGroup, taskGroup, timeout, TimeoutError,
} from "../mod.ts";
import { assertClean, loopTest, rejects } from "./_helpers.ts";

/** A test whose body runs as the main task of a fresh loop, checked clean afterwards. */
const inTask = (name: string, fn: (loop: EventLoop) => Promise<void>) => loopTest(name, fn, { inTask: true, clean: true });

class MyExc extends Error {}
class ZeroDivision extends Error {}

/** The names of the classes of the errors in a group. */
function errorTypes(eg: ExceptionGroup): string[] {
  return [...new Set(eg.exceptions.map((e) => (e as Error).constructor.name))].sort();
}

async function crashAfter(delay: number, err: () => Error = () => new ZeroDivision()): Promise<never> {
  await sleep(delay);
  throw err();
}

inTask("the group waits for its tasks; their results, and the body's result", async () => {
  let t1: Task<number> | null = null, t2: Task<number> | null = null, t3: Task<number> | null = null;
  const r = await taskGroup<string>(async (tg) => {
    t1 = tg.createTask(async () => {
      await sleep(0.01);
      return 42;
    });
    t2 = tg.createTask(async () => {
      await sleep(0.02);
      return 11;
    });
    t3 = tg.createTask(function* (): Generator<unknown, number, unknown> {
      yield* sleep(0.005);
      return 7;
    });
    return "body";
  });
  assert.is(r, "body");
  assert.is(t1!.result(), 42);
  assert.is(t2!.result(), 11);
  assert.is(t3!.result(), 7);
});

inTask("a task added later, and a task cancelled explicitly, leave the group working", async () => {
  let t1: Task<number> | null = null, t2: Task<number> | null = null;
  await taskGroup(async (tg) => {
    t1 = tg.createTask(async () => {
      await sleep(1);
      return 42;
    });
    await sleep(0.01);
    t1.cancel();
    t2 = tg.createTask(async () => {
      await sleep(0.01);
      return 11;
    });
  });
  assert.ok(t1!.cancelled());
  assert.is(t2!.result(), 11);
});

inTask("a failing task cancels its siblings and the body; ExceptionGroup; cancelling() is 0 afterwards", async (loop) => {
  const events: string[] = [];
  let sibling: Task<void> | null = null;
  const runner = loop.createTask(async () => {
    try {
      await taskGroup(async (tg) => {
        tg.createTask(() => crashAfter(0.01));
        tg.createTask(() => crashAfter(0.01));
        sibling = tg.createTask(async () => {
          try {
            await sleep(5);
          } catch (e) {
            events.push(`sibling ${(e as Error).name}`);
            throw e;
          }
        });
        try {
          await sleep(10);
        } catch (e) {
          events.push(`body ${(e as Error).name}`);
          throw e;
        }
      });
      events.push("not reached");
    } catch (e) {
      assert.instance(e, ExceptionGroup);
      assert.instance(e, AggregateError);
      assert.equal(errorTypes(e as ExceptionGroup), ["ZeroDivision"]);
      assert.is((e as ExceptionGroup).exceptions, (e as ExceptionGroup).errors);
      events.push(`cancelling=${currentTask()!.cancelling()}`);
    }
    await sleep(0.001);
    return "went on";
  });
  assert.is(await runner, "went on");
  assert.ok(sibling!.cancelled());
  assert.equal(events.sort(), ["body CancelledError", "cancelling=0", "sibling CancelledError"]);
  assert.not.ok(runner.cancelled());
});

inTask("failures of several tasks are all in the ExceptionGroup", async () => {
  const eg = await rejects(
    taskGroup(async (tg) => {
      tg.createTask(async () => {
        throw new MyExc("a");
      });
      tg.createTask(function* (): Generator<unknown, never, unknown> {
        throw new ZeroDivision("b");
      });
      await sleep(1);
    }),
    ExceptionGroup,
  );
  assert.is(eg.exceptions.length, 2);
  assert.equal(errorTypes(eg), ["MyExc", "ZeroDivision"]);
  assert.match(eg.message, /2 sub-exceptions/);
});

inTask("the body raising cancels the tasks; the ExceptionGroup holds the body's error", async () => {
  for (const wait of [true, false]) {
    let t1: Task<number> | null = null, t2: Task<number> | null = null;
    const eg = await rejects(
      taskGroup(async (tg) => {
        t1 = tg.createTask(async () => {
          await sleep(1);
          return 42;
        });
        t2 = tg.createTask(async () => {
          await sleep(2);
          return 11;
        });
        if (wait) await sleep(0.01);
        throw new ZeroDivision();
      }),
      ExceptionGroup,
    );
    assert.equal(errorTypes(eg), ["ZeroDivision"]);
    assert.ok(t1!.cancelled() && t2!.cancelled());
  }
  // A body throwing before any await, without tasks.
  const eg = await rejects(
    taskGroup(() => {
      throw new MyExc();
    }),
    ExceptionGroup,
  );
  assert.equal(errorTypes(eg), ["MyExc"]);
});

inTask("an error of the body and one of a task together", async () => {
  const eg = await rejects(
    taskGroup(async (tg) => {
      tg.createTask(() => crashAfter(0.01));
      try {
        await sleep(10);
      } finally {
        // deno-lint-ignore no-unsafe-finally
        throw new MyExc();
      }
    }),
    ExceptionGroup,
  );
  assert.equal(errorTypes(eg), ["MyExc", "ZeroDivision"]);
});

inTask("a group cancelled from outside: CancelledError, its tasks and its body cancelled", async (loop) => {
  let cancelledChildren = 0;
  let bodySaw = "";
  const children: Task<void>[] = [];
  const r = loop.createTask(() =>
    taskGroup(async (tg) => {
      for (let i = 0; i < 5; i++) {
        children.push(tg.createTask(async () => {
          try {
            await sleep(5);
          } catch (e) {
            if (e instanceof CancelledError) cancelledChildren++;
            throw e;
          }
        }));
      }
      try {
        await sleep(10);
      } catch (e) {
        bodySaw = (e as Error).name;
        throw e;
      }
    })
  );
  await sleep(0.01);
  assert.not.ok(r.done());
  r.cancel();
  await rejects(r, CancelledError);
  assert.is(cancelledChildren, 5);
  assert.is(bodySaw, "CancelledError");
  assert.ok(children.every((c) => c.cancelled()));
  assert.ok(r.cancelled());
});

inTask("a group whose body has ended, cancelled while it waits for its tasks: CancelledError", async (loop) => {
  let cancelled = 0;
  const r = loop.createTask(async () => {
    await taskGroup(async (tg) => {
      for (let i = 0; i < 3; i++) {
        tg.createTask(async () => {
          try {
            await sleep(5);
          } catch (e) {
            cancelled++;
            throw e;
          }
        });
      }
    });
  });
  await sleep(0.01);
  r.cancel();
  await rejects(r, CancelledError);
  assert.is(cancelled, 3);
});

inTask("cancelled from outside while its tasks fail in their cleanup: ExceptionGroup of those failures", async (loop) => {
  const r = loop.createTask(() =>
    taskGroup(async (tg) => {
      for (let i = 0; i < 5; i++) {
        tg.createTask(async () => {
          try {
            await sleep(10);
          } finally {
            // deno-lint-ignore no-unsafe-finally
            throw new ZeroDivision();
          }
        });
      }
      await sleep(10);
    })
  );
  await sleep(0.01);
  r.cancel();
  const eg = await rejects(r, ExceptionGroup);
  assert.is(eg.exceptions.length, 5);
  assert.equal(errorTypes(eg), ["ZeroDivision"]);
  assert.is(r.cancelling(), 1, "the outside request is still counted");
});

inTask("a body that turns the cancellation into an error gives an ExceptionGroup", async (loop) => {
  let num = 0;
  const r = loop.createTask(() =>
    taskGroup(async () => {
      try {
        await sleep(10);
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        num += 10;
        throw new MyExc();
      }
    })
  );
  await sleep(0.01);
  r.cancel();
  const eg = await rejects(r, ExceptionGroup);
  assert.equal(errorTypes(eg), ["MyExc"]);
  assert.is(num, 10);
});

inTask("cancelled from outside while a task fails during the body's cleanup: ExceptionGroup", async (loop) => {
  const body = async (tg: TaskGroup) => {
    tg.createTask(() => crashAfter(0.02));
    try {
      await sleep(10);
    } catch (e) {
      await sleep(0.04);
      throw e;
    }
  };
  const direct = loop.createTask(() => taskGroup(body));
  const nested = loop.createTask(async () => {
    await loop.createTask(() => taskGroup(body));
  });
  await sleep(0.005);
  direct.cancel();
  nested.cancel();
  assert.equal(errorTypes(await rejects(direct, ExceptionGroup)), ["ZeroDivision"]);
  assert.equal(errorTypes(await rejects(nested, ExceptionGroup)), ["ZeroDivision"]);
});

inTask("createTask is a RuntimeError once the group finished or while it shuts down; the function is not called", async () => {
  let called = false;
  let group: TaskGroup | null = null;
  await taskGroup((tg) => (group = tg));
  assert.throws(() =>
    group!.createTask(async () => {
      called = true;
    }), (e: Error) => e instanceof RuntimeError && /is finished/.test(e.message));
  let refused = false;
  const eg = await rejects(
    taskGroup(async (tg) => {
      tg.createTask(() => crashAfter(0.001));
      tg.createTask(async () => {
        try {
          await sleep(1);
        } catch (e) {
          assert.throws(() =>
            tg.createTask(async () => {
              called = true;
            }), (x: Error) => x instanceof RuntimeError && /shutting down/.test(x.message));
          refused = true;
          throw e;
        }
      });
    }),
    ExceptionGroup,
  );
  assert.equal(errorTypes(eg), ["ZeroDivision"]);
  assert.ok(refused);
  await sleep(0.001);
  assert.not.ok(called);
});

inTask("taskGroup checks its arguments at the call", async () => {
  assert.throws(() => taskGroup(42 as never), (e: Error) => e instanceof TypeError);
  await taskGroup(async (tg) => {
    assert.throws(() => tg.createTask(7 as never), (e: Error) => e instanceof TypeError);
    // asyncio's create_task takes no futures either.
    assert.throws(() => tg.createTask(sleep(0) as never), (e: Error) => e instanceof TypeError);
    const t = tg.createTask(async () => await sleep(0), { name: "yolo" });
    assert.is(t.getName(), "yolo");
    assert.match(String(tg), /^<TaskGroup tasks=1 entered>$/);
  });
});

test("taskGroup outside a task is a RuntimeError at the call", async () => {
  assert.throws(() => taskGroup(async () => {}), (e: Error) => e instanceof RuntimeError);
  const loop = newEventLoop();
  try {
    let err: unknown = null;
    let called = false;
    loop.callSoon(() => {
      try {
        taskGroup(async () => {
          called = true;
        });
      } catch (e) {
        err = e;
      }
      loop.stop();
    });
    await loop.runForever();
    assert.instance(err, RuntimeError);
    assert.match((err as Error).message, /parent task/);
    assert.not.ok(called);
    assertClean(loop);
  } finally {
    loop.close();
  }
});

inTask("nested groups: an inner failure is a group inside the outer group", async (loop) => {
  // The outer group's task fails first: its group ends with the ValueError alone.
  const a = await rejects(
    taskGroup(async (g1) => {
      g1.createTask(() => crashAfter(0.01, () => new MyExc("outer")));
      await taskGroup(async (g2) => {
        g2.createTask(() => crashAfter(10));
      });
    }),
    ExceptionGroup,
  );
  assert.equal(errorTypes(a), ["MyExc"]);
  // The inner group's task fails first.
  const b = await rejects(
    taskGroup(async (g1) => {
      g1.createTask(() => crashAfter(10));
      await taskGroup(async (g2) => {
        g2.createTask(() => crashAfter(0.01, () => new MyExc("inner")));
      });
    }),
    ExceptionGroup,
  );
  assert.equal(errorTypes(b), ["ExceptionGroup"]);
  assert.equal(errorTypes(b.exceptions[0] as ExceptionGroup), ["MyExc"]);
  // Cancelled from outside, the inner tasks failing in their cleanup.
  const r = loop.createTask(() =>
    taskGroup(async (g1) => {
      g1.createTask(() => sleep(10));
      await taskGroup(async (g2) => {
        for (let i = 0; i < 5; i++) {
          g2.createTask(async () => {
            try {
              await sleep(10);
            } finally {
              // deno-lint-ignore no-unsafe-finally
              throw new ZeroDivision();
            }
          });
        }
        await sleep(10);
      });
    })
  );
  await sleep(0.01);
  r.cancel();
  const c = await rejects(r, ExceptionGroup);
  assert.equal(errorTypes(c), ["ExceptionGroup"]);
  assert.equal(errorTypes(c.exceptions[0] as ExceptionGroup), ["ZeroDivision"]);
});

inTask("nested groups failing together keep the cancelling() levels", async () => {
  const me = currentTask()!;
  let innerLevel = -1;
  const eg = await rejects(
    taskGroup(async (outer) => {
      const inner = await rejects(
        taskGroup(async (inner) => {
          inner.createTask(() => crashAfter(0, () => new MyExc("inner")));
          outer.createTask(() => crashAfter(0, () => new ZeroDivision("outer")));
          await sleep(1);
        }),
        ExceptionGroup,
      );
      assert.equal(errorTypes(inner), ["MyExc"]);
      innerLevel = me.cancelling();
    }),
    ExceptionGroup,
  );
  assert.equal(errorTypes(eg), ["ZeroDivision"]);
  assert.is(innerLevel, 1, "the outer group's request is still pending after the inner group");
  assert.is(me.cancelling(), 0);
});

inTask("a group failing while its task is cancelled from outside: the outside request survives", async (loop) => {
  const started = loop.createFuture<void>();
  const log: string[] = [];
  const t = loop.createTask(async () => {
    try {
      await taskGroup(async (tg) => {
        tg.createTask(async () => {
          started.setResult(undefined);
          await sleep(0);
          throw new MyExc();
        });
        await sleep(1);
        log.push("not reached: the sleep in the group is cancelled");
      });
    } catch (e) {
      assert.instance(e, ExceptionGroup);
      log.push(`cancelling=${currentTask()!.cancelling()}`);
    }
    await sleep(1);
    log.push("not reached: the sleep after the group is cancelled");
  });
  await started;
  assert.is(t.cancelling(), 0);
  t.cancel();
  assert.is(t.cancelling(), 1);
  await rejects(t, CancelledError);
  assert.ok(t.cancelled());
  assert.equal(log, ["cancelling=1"]);
});

inTask("tasks may add tasks to their group while it runs", async () => {
  let hydras = 0;
  const hydra = (tg: TaskGroup) => async () => {
    hydras++;
    await sleep(0.002);
    tg.createTask(hydra(tg));
    tg.createTask(hydra(tg));
  };
  const eg = await rejects(
    taskGroup(async (tg) => {
      tg.createTask(hydra(tg));
      tg.createTask(async () => {
        while (hydras < 10) await sleep(0.003);
        throw new ZeroDivision();
      });
    }),
    ExceptionGroup,
  );
  assert.equal(errorTypes(eg), ["ZeroDivision"]);
  assert.ok(hydras >= 10);
  let leaves = 0;
  await taskGroup(async (tg) => {
    tg.createTask(async () => {
      await sleep(0.005);
      tg.createTask(async () => void (await sleep(0.005), leaves++));
      tg.createTask(async () => void (await sleep(0.01), leaves++));
    });
  });
  assert.is(leaves, 2, "the group waited for tasks added by its tasks");
});

inTask("generator bodies and a group used from a generator task", async (loop) => {
  const r = await taskGroup(function* (tg): Generator<unknown, number, unknown> {
    const t = tg.createTask(async () => await sleep(0.002, 20));
    yield* sleep(0.001);
    return (yield* t) + 1;
  });
  assert.is(r, 21);
  const eg = await rejects(
    taskGroup(function* (tg): Generator<unknown, void, unknown> {
      tg.createTask(() => crashAfter(0.005));
      yield* sleep(10);
    }),
    ExceptionGroup,
  );
  assert.equal(errorTypes(eg), ["ZeroDivision"]);
  const log: string[] = [];
  const t = loop.createTask(function* (): Generator<unknown, string, unknown> {
    try {
      yield* taskGroup(async (tg) => {
        tg.createTask(() => crashAfter(0.005));
        await sleep(10);
      });
    } catch (e) {
      log.push(`${(e as Error).name} cancelling=${currentTask()!.cancelling()}`);
    }
    yield* sleep(0.001);
    return "went on";
  });
  assert.is(await t, "went on");
  assert.equal(log, ["ExceptionGroup cancelling=0"]);
});

inTask("a timeout around a group whose task fails in its cleanup: the ExceptionGroup comes out", async () => {
  const eg = await rejects(
    timeout(0.01, () =>
      taskGroup(async (tg) => {
        tg.createTask(async () => {
          try {
            await sleep(2);
          } finally {
            // deno-lint-ignore no-unsafe-finally
            throw new ZeroDivision();
          }
        });
        try {
          throw new MyExc();
        } finally {
          await sleep(1);
        }
      })),
    ExceptionGroup,
  );
  assert.is(eg.exceptions.length, 1);
  assert.instance(eg.exceptions[0], ZeroDivision);
  // The group's result when the timeout fires in a quiet body: TimeoutError.
  await rejects(timeout(0.01, () => taskGroup(async (tg) => void tg.createTask(() => sleep(10)))), TimeoutError);
});

inTask("eager tasks in a group start inside createTask; one failing at once aborts the group", async (loop) => {
  loop.setTaskFactory(eagerTaskFactory);
  try {
    const order: number[] = [];
    await taskGroup(async (tg) => {
      for (let i = 0; i < 3; i++) {
        tg.createTask(async () => {
          order.push(i);
          await sleep(0.001);
        });
        order.push(10 + i);
      }
    });
    assert.equal(order, [0, 10, 1, 11, 2, 12]);
    let sibling: Task<void> | null = null;
    const eg = await rejects(
      taskGroup(async (tg) => {
        sibling = tg.createTask(() => sleep(10));
        const bad = tg.createTask(function* (): Generator<unknown, never, unknown> {
          throw new MyExc();
        });
        assert.ok(bad.done(), "failed inside createTask");
        await sleep(10);
      }),
      ExceptionGroup,
    );
    assert.equal(errorTypes(eg), ["MyExc"]);
    assert.ok(sibling!.cancelled());
  } finally {
    loop.setTaskFactory(null);
  }
});

inTask("a task made of () => taskGroup(...) cancelled before the body's first await: body and tasks are cancelled", async (loop) => {
  // asyncio 3.13: the body gets CancelledError at its await, the group cancels its tasks.
  let bodySaw = "";
  let child: Task<void> | null = null;
  const t = loop.createTask(() =>
    taskGroup(async (tg) => {
      child = tg.createTask(() => sleep(10));
      try {
        await sleep(10);
      } catch (e) {
        bodySaw = (e as Error).name;
        throw e;
      }
    })
  );
  loop.callSoon(() => t.cancel());
  await rejects(t, CancelledError);
  await sleep(0.005);
  assert.is(bodySaw, "CancelledError");
  assert.ok(child!.cancelled());
});

test.run();
