import { it } from "vitest";
import { exports } from "cloudflare:workers";
import { call } from "./helpers";

it("probe", async () => {
  for (let round = 0; round < 6; round++) {
    let s = Date.now();
    for (let i = 0; i < 50; i++) await call("/health");
    const a = Date.now() - s;
    s = Date.now();
    for (let i = 0; i < 50; i++) await (exports as any).default.fetch(new Request("http://x/health"));
    console.error("ROUND", round, a, Date.now() - s);
  }
});
