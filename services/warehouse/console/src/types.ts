import type { Static } from "@sinclair/typebox";
import type { BatchView, DispatchView } from "../../src/http/schemas.js";

// The shapes the warehouse answers, from its own route schemas (types only: nothing of the
// server goes into the bundle).
export type Batch = Static<typeof BatchView>;
export type Dispatch = Static<typeof DispatchView>;
