/**
 * Fills the Worker's static assets with the API reference's files: Swagger UI from the pinned
 * `swagger-ui-dist` package, copied from node_modules into `public/docs/` (never committed).
 * Runs after `npm install`, before `npm test`, at `npm start` and at deploy.
 *
 *   npm run docs:assets
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DOCS_ASSET_FILES } from "../src/routes/docs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** `[assets] directory` in wrangler.toml. */
export const ASSETS_DIR = resolve(ROOT, "public");

/** Copies the files `/docs` serves into the assets folder; throws when the package is not installed. */
export function copyDocsAssets(): void {
  const source = resolve(ROOT, "node_modules/swagger-ui-dist");
  if (!existsSync(source)) throw new Error("node_modules/swagger-ui-dist is missing: run npm install first");
  const target = resolve(ASSETS_DIR, "docs");
  mkdirSync(target, { recursive: true });
  for (const file of DOCS_ASSET_FILES) copyFileSync(resolve(source, file), resolve(target, file));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) copyDocsAssets();
