import type { HttpApp } from "@stockflow/service-kit";
import type { UnitOfWork } from "../../app/ports.js";
import { getCustomer } from "../../app/queries.js";
import { answering } from "../errors.js";
import { CustomerParams, CustomerView, ErrorBody } from "../schemas.js";

export function customerRoutes(app: HttpApp, { uow }: { uow: UnitOfWork }): void {
  app.get(
    "/customers/:customerId",
    {
      schema: {
        operationId: "getCustomer",
        summary: "A customer's order count and whether they are VIP (from the third order on)",
        params: CustomerParams,
        response: { 200: CustomerView, 404: ErrorBody },
      },
    },
    async (request) => answering(() => uow.read((repos) => getCustomer(repos, request.params.customerId))),
  );
}
