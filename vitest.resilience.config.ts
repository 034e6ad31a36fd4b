/**
 * The resilience suite (`npm run test:resilience`): black-box tests against a really running
 * gateway (`scripts/start.ts` as a child process), in Node, one file at a time.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["resilience/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    // Starting `wrangler dev` takes ~15 s on a small machine; a restart case needs two.
    testTimeout: 150_000,
    hookTimeout: 150_000,
    teardownTimeout: 30_000,
  },
});
