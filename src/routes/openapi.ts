import { OpenAPIHono } from "@hono/zod-openapi";
import type { z } from "zod";
import { ApiError } from "../lib/errors";
import { isMissing } from "../lib/issues";
import type { AppEnv } from "./context";

function describe(error: z.ZodError) {
  return error.issues.flatMap((issue) => {
    // An unknown field is named itself, not its parent object.
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ field: [...issue.path, key].join("."), message: "is not a known field" }));
    return [{ field: issue.path.join(".") || "body", message: isMissing(issue) ? "is required" : issue.message }];
  });
}

/** An OpenAPIHono whose validation failures are the API's 400 error, naming each field. */
export function openApiRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const details = describe(result.error as z.ZodError);
        const summary = details.map((d) => `${d.field}: ${d.message}`).join("; ");
        throw new ApiError(400, "invalid_request", summary, details);
      }
    },
  });
}
