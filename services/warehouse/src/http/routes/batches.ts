import { Type } from "@sinclair/typebox";
import { isCalendarDate } from "@stockflow/contracts";
import { HttpError } from "@stockflow/service-kit";
import { annotateSpan } from "@stockflow/telemetry";
import { delayBatchShipment, registerBatch, reportBatchDamage } from "../../app/batch-handlers.js";
import { BatchNotFound } from "../../app/errors.js";
import type { Batch } from "../../domain/index.js";
import { auditor } from "../audit.js";
import { toHttpError } from "../errors.js";
import {
  BatchesQuery,
  BatchView,
  DamageBody,
  DelayBody,
  ErrorView,
  ReferenceParams,
  RegisterBatchBody,
} from "../schemas.js";
import { STAFF_SECURITY } from "../staff-auth.js";
import type { HttpApp, RouteDeps } from "../types.js";

function requireCalendarDate(eta: string | null): void {
  if (eta !== null && !isCalendarDate(eta)) {
    throw new HttpError(400, "validation_failed", `eta ${eta} is not a calendar date`);
  }
}

const view = ({ reference, sku, qty, eta }: Batch) => ({ reference, sku, qty, eta });

export function batchRoutes(app: HttpApp, { uow, queries, auth }: RouteDeps): void {
  const audited = auditor(auth);
  const staff = { onRequest: auth.onRequest };
  // The OpenAPI document says which scheme the writes need (declared in bootstrap).
  const security = [{ [STAFF_SECURITY]: [] }];
  const refusals = { 401: ErrorView, 400: ErrorView };

  app.post(
    "/batches",
    {
      ...staff,
      schema: {
        operationId: "registerBatch",
        security,
        summary: "Register a batch: stock on hand (eta null) or an incoming shipment",
        body: RegisterBatchBody,
        response: { 201: BatchView, 409: ErrorView, ...refusals },
      },
    },
    async (request, reply) => {
      const { reference, sku, qty, eta } = request.body;
      requireCalendarDate(eta);
      annotateSpan({ batchRef: reference, sku });
      const batch = await audited(request, "batch.register", { reference, sku, qty, eta }, () =>
        registerBatch(uow, { reference, sku, qty, eta }),
      );
      return reply.code(201).send(view(batch));
    },
  );

  app.post(
    "/batches/:reference/damage",
    {
      ...staff,
      schema: {
        operationId: "reportBatchDamage",
        security,
        summary: "Report damaged units of a batch; its quantity drops by them",
        params: ReferenceParams,
        body: DamageBody,
        response: { 200: BatchView, 404: ErrorView, 422: ErrorView, ...refusals },
      },
    },
    async (request) => {
      const { reference } = request.params;
      const { qty, reason } = request.body;
      annotateSpan({ batchRef: reference });
      const batch = await audited(request, "batch.damage", { reference, damaged: qty, reason }, () =>
        reportBatchDamage(uow, { reference, qty, reason }),
      );
      annotateSpan({ sku: batch.sku });
      return view(batch);
    },
  );

  app.post(
    "/batches/:reference/delay",
    {
      ...staff,
      schema: {
        operationId: "delayBatchShipment",
        security,
        summary: "Move a shipment's arrival to a later date",
        params: ReferenceParams,
        body: DelayBody,
        response: { 200: BatchView, 404: ErrorView, 422: ErrorView, ...refusals },
      },
    },
    async (request) => {
      const { reference } = request.params;
      const { eta } = request.body;
      requireCalendarDate(eta);
      annotateSpan({ batchRef: reference });
      const batch = await audited(request, "batch.delay", { reference, requestedEta: eta }, () =>
        delayBatchShipment(uow, { reference, eta }),
      );
      annotateSpan({ sku: batch.sku });
      return view(batch);
    },
  );

  app.get(
    "/batches/:reference",
    {
      schema: {
        operationId: "getBatch",
        summary: "A batch and its current quantity",
        params: ReferenceParams,
        response: { 200: BatchView, 404: ErrorView, 400: ErrorView },
      },
    },
    async (request) => {
      const { reference } = request.params;
      annotateSpan({ batchRef: reference });
      const batch = await queries.batch(reference);
      if (!batch) throw toHttpError(new BatchNotFound(reference));
      return view(batch);
    },
  );

  app.get(
    "/batches",
    {
      schema: {
        summary: "The batches of a SKU: stock on hand first, then shipments by eta ([] when none)",
        querystring: BatchesQuery,
        response: { 200: Type.Array(BatchView), 400: ErrorView },
      },
    },
    async (request) => {
      const { sku } = request.query;
      annotateSpan({ sku });
      return (await queries.batchesOf(sku)).map(view);
    },
  );
}
