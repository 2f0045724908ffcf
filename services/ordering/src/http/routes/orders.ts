import { type HttpApp, HttpError } from "@stockflow/service-kit";
import { annotateSpan } from "@stockflow/telemetry";
import { cancelOrder } from "../../app/cancel-order.js";
import type { OrderWaiters } from "../../app/order-waiters.js";
import { placeOrder } from "../../app/place-order.js";
import type { HandlerDeps, UnitOfWork } from "../../app/ports.js";
import { getOrder } from "../../app/queries.js";
import { waitForOrder } from "../../app/wait-for-order.js";
import { answering } from "../errors.js";
import { requestHash } from "../request-hash.js";
import {
  ErrorBody,
  IdempotencyHeaders,
  OrderAccepted,
  OrderCancelled,
  OrderParams,
  OrderQuery,
  OrderView,
  PlaceOrderBody,
} from "../schemas.js";

export interface OrderRoutesDeps {
  uow: UnitOfWork;
  handlers: HandlerDeps;
  waiters: OrderWaiters;
}

/** Set on an answer given at once because too many requests wait already. */
export const WAIT_REFUSED_HEADER = "x-wait-refused";

// The query string arrives as text and the app never coerces types: a plain decimal `wait`
// becomes a number here, anything else stays text and fails the integer schema (400).
function waitAsNumber(query: unknown): void {
  const q = query as { wait?: unknown };
  if (typeof q.wait === "string" && /^\d{1,9}$/.test(q.wait)) q.wait = Number(q.wait);
}

function firstRepeatedSku(lines: readonly { sku: string }[]): string | undefined {
  const seen = new Set<string>();
  for (const { sku } of lines) {
    if (seen.has(sku)) return sku;
    seen.add(sku);
  }
  return undefined;
}

export function orderRoutes(app: HttpApp, { uow, handlers, waiters }: OrderRoutesDeps): void {
  const read = (orderId: string) => uow.read((repos) => getOrder(repos, orderId));
  app.post(
    "/orders",
    {
      config: {
        openapi: {
          headers: {
            202: { Location: { type: "string", description: "/orders/<orderId>: where to read the order" } },
          },
        },
      },
      schema: {
        operationId: "placeOrder",
        summary: "Place an order; allocation answers later (read it back with GET /orders/:orderId)",
        body: PlaceOrderBody,
        headers: IdempotencyHeaders,
        response: { 202: OrderAccepted, 400: ErrorBody, 409: ErrorBody, 413: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const repeated = firstRepeatedSku(body.lines);
      if (repeated !== undefined) {
        throw new HttpError(400, "validation_failed", `body/lines: sku "${repeated}" appears more than once`);
      }
      const key = request.headers["idempotency-key"];
      const accepted = await answering(() =>
        placeOrder(handlers, uow.intake, {
          customerId: body.customerId,
          lines: body.lines,
          ...(key !== undefined ? { idempotency: { key, requestHash: requestHash(body) } } : {}),
        }),
      );
      return reply
        .code(202)
        .header("location", `/orders/${accepted.orderId}`)
        .send({ orderId: accepted.orderId, status: accepted.status });
    },
  );

  app.get(
    "/orders/:orderId",
    {
      schema: {
        operationId: "getOrder",
        summary: "An order with the status of each line and of the whole order",
        description:
          "With `wait`, the answer is held until the order is no longer pending or the time is up. " +
          `When too many requests wait already, it answers at once with the header ${WAIT_REFUSED_HEADER}.`,
        params: OrderParams,
        querystring: OrderQuery,
        response: { 200: OrderView, 400: ErrorBody, 404: ErrorBody },
      },
      preValidation: (request, _reply, done) => {
        waitAsNumber(request.query);
        done();
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const wait = request.query.wait ?? 0;
      if (wait === 0) return answering(() => read(orderId));
      const { order, refused } = await answering(() => waitForOrder(read, waiters, orderId, wait));
      if (refused) reply.header(WAIT_REFUSED_HEADER, "too_many_waiting");
      return order;
    },
  );

  app.post(
    "/orders/:orderId/cancel",
    {
      schema: {
        operationId: "cancelOrder",
        summary: "Cancel an order; allocation then frees its stock",
        params: OrderParams,
        response: { 202: OrderCancelled, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      annotateSpan({ orderId });
      // The route takes no body: any field in one is an unknown field.
      const body = request.body as Record<string, unknown> | undefined;
      if (body !== undefined && Object.keys(body).length > 0) {
        throw new HttpError(400, "validation_failed", "body must be empty: cancel takes no fields");
      }
      const cancelled = await answering(() => uow.run((tx) => cancelOrder(handlers, tx, orderId)));
      return reply.code(202).send(cancelled);
    },
  );
}
