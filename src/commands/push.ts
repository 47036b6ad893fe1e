import { defineCommand } from "citty";
import { UsageError } from "./errors.ts";

export default defineCommand({
  meta: { name: "push", description: "not yet available" },
  async run() {
    throw new UsageError("push is not available yet");
  },
});
