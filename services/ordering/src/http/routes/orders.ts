import { type HttpApp, HttpError } from "@stockflow/service-kit";
import { annotateSpan } from "@stockflow/telemetry";
import { cancelOrder } from "../../app/cancel-order.js";
import { placeOrder } from "../../app/place-order.js";
import type { HandlerDeps, UnitOfWork } from "../../app/ports.js";
import { getOrder } from "../../app/queries.js";
import { answering } from "../errors.js";
import { requestHash } from "../request-hash.js";
import {
  ErrorBody,
  IdempotencyHeaders,
  OrderAccepted,
  OrderCancelled,
  OrderParams,
  OrderView,
  PlaceOrderBody,
} from "../schemas.js";

export interface OrderRoutesDeps {
  uow: UnitOfWork;
  handlers: HandlerDeps;
}

function firstRepeatedSku(lines: readonly { sku: string }[]): string | undefined {
  const seen = new Set<string>();
  for (const { sku } of lines) {
    if (seen.has(sku)) return sku;
    seen.add(sku);
  }
  return undefined;
}

export function orderRoutes(app: HttpApp, { uow, handlers }: OrderRoutesDeps): void {
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
        params: OrderParams,
        response: { 200: OrderView, 404: ErrorBody },
      },
    },
    async (request) => answering(() => uow.read((repos) => getOrder(repos, request.params.orderId))),
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
