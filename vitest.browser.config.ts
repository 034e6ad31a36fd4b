/**
 * The browser suite (`npm run test:browser`): the portal and `/docs` in real Chromium (Debian's
 * `chromium`, driven by playwright-core) against a really running `npm start`, and the README's
 * walkthrough run as written. Node, one file at a time, like the resilience suite.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["browser/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    // Starting `wrangler dev` takes ~15 s on a small machine, and Chromium a few more.
    testTimeout: 150_000,
    hookTimeout: 150_000,
    teardownTimeout: 30_000,
  },
});
