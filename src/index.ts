import { createApp } from "./routes/app";

export { SessionObject } from "./sessions/session-object";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
