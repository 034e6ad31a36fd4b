/**
 * A workaround for a defect of @cloudflare/vitest-pool-workers 0.15.1 that the suite would
 * otherwise pay for on every request.
 *
 * The pool exports the Worker and each Durable Object class through a wrapper class whose
 * constructor installs a `Proxy` as its prototype — on every construction, each one around the
 * one before (`createProxyPrototypeClass`; cloudflare/workers-sdk#15092, fixed upstream by
 * installing it once). After N requests through `exports.default` or N Durable Object instances,
 * each property read on the wrapper runs N nested traps: requests get slower one after another,
 * and a long run ends in a stack overflow. Here the same fix is applied from outside: a
 * construction that would wrap one of those prototype proxies again gets that proxy back, which is
 * what it would have been wrapped in (the same trap of the same class).
 */

/** Marks the global as patched, so setup files evaluated once per test file patch only once. */
const PATCHED = Symbol.for("spark-gateway.test.proxy-prototype-once");
/** How many constructions got an existing prototype proxy back (kept on the global, like the patch). */
const REUSES = Symbol.for("spark-gateway.test.proxy-prototype-reuses");

/** Whether `handler` is the prototype trap of the pool's wrapper classes (recognised by its source). */
function isWrapperPrototypeHandler(handler: unknown): boolean {
  if (typeof handler !== "object" || handler === null) return false;
  const keys = Object.keys(handler);
  const get = (handler as { get?: unknown }).get;
  return keys.length === 1 && typeof get === "function" && Function.prototype.toString.call(get).includes("getUnknownPrototypeKey");
}

/**
 * Makes the pool's wrapper classes install their prototype proxy once (see above). Idempotent;
 * every other `new Proxy(…)` is left exactly as it was.
 */
export function installProxyPrototypeOnce(): void {
  const global = globalThis as unknown as Record<symbol, unknown> & { Proxy: ProxyConstructor };
  if (global[PATCHED]) return;
  const NativeProxy = global.Proxy;
  const wrapperPrototypes = new WeakSet<object>();
  global.Proxy = new NativeProxy(NativeProxy, {
    construct(target, args, newTarget) {
      const [wrapped, handler] = args as [object, ProxyHandler<object>];
      const wrapper = isWrapperPrototypeHandler(handler);
      if (wrapper && wrapperPrototypes.has(wrapped)) {
        global[REUSES] = proxyPrototypeReuses() + 1;
        return wrapped;
      }
      const proxy = Reflect.construct(target, args, newTarget) as object;
      if (wrapper) wrapperPrototypes.add(proxy);
      return proxy;
    },
  });
  global[PATCHED] = true;
}

/** How many wrapper constructions reused their class's prototype proxy so far (in this runtime). */
export function proxyPrototypeReuses(): number {
  return ((globalThis as unknown as Record<symbol, unknown>)[REUSES] as number | undefined) ?? 0;
}

/** The part of vitest's per-worker state (`__vitest_worker__`, vitest 4.1) used below. */
interface WorkerState {
  evaluatedModules: {
    fileToModulesMap: Map<string, Set<unknown>>;
    invalidateModule(node: unknown): void;
  };
}

/**
 * Makes the next import of every module under `folders` evaluate it again, as a test file of its
 * own runtime would: helpers keep per-file state (counters, receivers, a `fetch` spy installed
 * once), while the Worker's modules stay loaded for the whole run.
 * @param folders absolute folder paths ending in "/".
 */
export function reloadModulesUnder(folders: readonly string[]): void {
  const state = (globalThis as { __vitest_worker__?: WorkerState }).__vitest_worker__;
  const modules = state?.evaluatedModules;
  if (!modules?.fileToModulesMap || typeof modules.invalidateModule !== "function") {
    throw new Error("vitest's module registry is not where test/pool-workarounds.ts expects it (vitest 4.1): test helpers would keep state across files");
  }
  for (const [file, nodes] of modules.fileToModulesMap) {
    if (folders.some((folder) => file.startsWith(folder))) for (const node of nodes) modules.invalidateModule(node);
  }
}
