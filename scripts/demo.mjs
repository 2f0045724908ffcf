#!/usr/bin/env node
// `pnpm demo`: the reallocation story against a running stack (`pnpm start` or compose),
// step by step, with the trace ids to look up in Jaeger.
import { answers } from "./answers.mjs";

const ORDERING = process.env.ORDERING_URL ?? "http://127.0.0.1:3001";
const ALLOCATION = process.env.ALLOCATION_URL ?? "http://127.0.0.1:3002";
const WAREHOUSE = process.env.WAREHOUSE_URL ?? "http://127.0.0.1:3003";
const TOKEN = process.env.WAREHOUSE_STAFF_TOKEN ?? "dev-staff-token";
const JAEGER = process.env.JAEGER_UI ?? "http://localhost:16686";

const run = Date.now().toString(36);
const sku = `DEMO-SOFA-${run}`;
const onHand = `demo-${run}-warehouse`;
const shipment = `demo-${run}-ship`;
let step = 0;

function say(text) {
  console.log(`\n${++step}. ${text}`);
}
function show(label, value) {
  console.log(`   ${label}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}
const traceIdOf = (res) => res.headers.get("traceresponse")?.split("-")[1];

async function call(method, url, body, staff = false) {
  const res = await fetch(url, {
    method,
    headers: {
      ...(body ? { "content-type": "application/json" } : {}),
      ...(staff ? { authorization: `Bearer ${TOKEN}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
  return { json, traceId: traceIdOf(res) };
}

async function until(what, probe, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const eta = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
  say(`Staff register stock on hand and an incoming shipment of ${sku}`);
  show(
    "POST /batches",
    (await call("POST", `${WAREHOUSE}/batches`, { reference: onHand, sku, qty: 10, eta: null }, true)).json,
  );
  show(
    "POST /batches",
    (await call("POST", `${WAREHOUSE}/batches`, { reference: shipment, sku, qty: 10, eta }, true)).json,
  );

  say("The storefront places an order for 10");
  const placed = await call("POST", `${ORDERING}/orders`, {
    customerId: `demo-${run}`,
    lines: [{ sku, qty: 10 }],
  });
  const { orderId } = placed.json;
  show("202", placed.json);
  if (placed.traceId) show("trace id", placed.traceId);

  say("Allocation prefers stock on hand (the storefront waits for it: GET /orders/:id?wait=10000)");
  const allocated = await until("the order to be allocated", async () => {
    const { json } = await call("GET", `${ORDERING}/orders/${orderId}?wait=10000`);
    return json.status === "allocated" ? json : undefined;
  });
  show("order", { status: allocated.status, lines: allocated.lines });
  show("warehouse dispatches", (await call("GET", `${WAREHOUSE}/dispatches?orderId=${orderId}`)).json);

  say(`Staff report 6 damaged on ${onHand}: 4 left, less than the order`);
  const damage = await call(
    "POST",
    `${WAREHOUSE}/batches/${onHand}/damage`,
    { qty: 6, reason: "forklift" },
    true,
  );
  show("200", damage.json);
  if (damage.traceId) show("trace id", damage.traceId);

  say("Allocation moves the line to the shipment");
  const moved = await until("the order to move to the shipment", async () => {
    const { json } = await call("GET", `${ORDERING}/orders/${orderId}`);
    return json.status === "allocated" && json.lines[0].batchref === shipment ? json : undefined;
  });
  show("order", { status: moved.status, lines: moved.lines });
  const dispatches = await until("the dispatches to follow", async () => {
    const { json } = await call("GET", `${WAREHOUSE}/dispatches?orderId=${orderId}`);
    return json.some((d) => d.status === "pending" && d.batchref === shipment) ? json : undefined;
  });
  show("warehouse dispatches", dispatches);
  show("allocation's view of the product", (await call("GET", `${ALLOCATION}/products/${sku}`)).json);

  const traces = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318";
  const collector = new URL(traces);
  if (!(await answers(collector.hostname, Number(collector.port || 80)))) {
    say(`No trace links: nothing receives traces on ${traces} (start Jaeger, then \`pnpm start\`)`);
    console.log("\ndone.");
    return;
  }
  say("Follow it in Jaeger");
  for (const [what, id] of [
    ["order", placed.traceId],
    ["damage report", damage.traceId],
  ]) {
    if (id) show(what, `${JAEGER}/trace/${id}`);
  }
  show(
    "search",
    `${JAEGER}/search?service=ordering&tags=${encodeURIComponent(JSON.stringify({ "stockflow.order_id": orderId }))}`,
  );
  console.log("\ndone.");
}

main().catch((err) => {
  console.error(`demo failed: ${err.message}`);
  console.error("is the stack running? (`pnpm start` in another terminal)");
  process.exit(1);
});
