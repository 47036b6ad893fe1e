import { defineCommand } from "citty";
import { UsageError } from "./errors.ts";

export default defineCommand({
  meta: { name: "pull", description: "not yet available" },
  async run() {
    throw new UsageError("pull is not available yet");
  },
});
