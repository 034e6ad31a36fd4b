/**
 * `GET /docs`: the API reference, rendered by Swagger UI from `/openapi.json`. Swagger UI's files
 * come from the pinned `swagger-ui-dist` package, built into the Worker by `scripts/docs-assets.ts`
 * (at install, start, test and deploy) and served by the Worker itself, so the page needs nothing
 * from any other host.
 */
import { Hono } from "hono";
import type { AppEnv } from "./context";
import { FAVICON_PNG_BASE64, SWAGGER_UI_BUNDLE, SWAGGER_UI_CSS } from "./docs-assets.gen";


/** The reference page may run Swagger UI's own script and styles, and talk to this gateway only. */
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>spark-gateway API reference</title>
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"><noscript>The API reference needs JavaScript; the raw document is at <a href="/openapi.json">/openapi.json</a>.</noscript></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>
`;

/** Starts Swagger UI on this gateway's document; no validator badge (it would call validator.swagger.io). */
const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
});
`;

/** The files the page loads, by name. */
const ASSET_BODIES: Record<string, string | Uint8Array<ArrayBuffer>> = {
  "swagger-ui.css": SWAGGER_UI_CSS,
  "swagger-ui-bundle.js": SWAGGER_UI_BUNDLE,
  "favicon-32x32.png": Uint8Array.from(atob(FAVICON_PNG_BASE64), (ch) => ch.charCodeAt(0)),
};

const TYPES: Record<string, string> = { css: "text/css; charset=utf-8", js: "text/javascript; charset=utf-8", png: "image/png" };

export const docsRoutes = new Hono<AppEnv>()
  .get("/", (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    return c.html(PAGE);
  })
  .get("/assets/init.js", (c) => c.body(INIT, 200, { "Content-Type": TYPES["js"]!, "Cache-Control": "no-cache" }))
  .get("/assets/:file", (c) => {
    const file = c.req.param("file");
    const body = ASSET_BODIES[file];
    if (body === undefined) return c.text("not found", 404);
    return c.body(body, 200, { "Content-Type": TYPES[file.split(".").pop() ?? ""] ?? "application/octet-stream", "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff" });
  });
