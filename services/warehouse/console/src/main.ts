import { type Answer, api } from "./api.js";
import { announce, byId, date, input, onSubmit, quantity, refuse, required } from "./form.js";
import { type Attempt, day, whereItIs } from "./messages.js";
import { showBatches, showDispatches } from "./render.js";
import { refusal, startSession, token } from "./session.js";
import type { Batch } from "./types.js";

const units = (n: number) => `${n} ${n === 1 ? "unit" : "units"}`;
type Refused = Answer<unknown> & { ok: false };

// Refusals about what was entered; the others (service down, ...) are no field's fault.
const FIELD_ERRORS = new Set([
  "batch_not_found",
  "batch_exists",
  "damage_exceeds_quantity",
  "eta_not_later",
  "invalid_quantity",
  "validation_failed",
]);
const blames = (error: string) => FIELD_ERRORS.has(error);

/** The batch as it is now, to say why a change was refused; undefined when it cannot be read. */
async function current(reference: string): Promise<Batch | undefined> {
  const answer = await api.batch(reference);
  return answer.ok ? answer.body : undefined;
}

/**
 * Says why a change to a batch was refused, beside the field at fault. When the refusal is
 * about the batch's state (too little stock, an earlier day) the batch is shown as it is now.
 */
async function refuseChange(
  form: HTMLFormElement,
  answer: Refused,
  attempt: Attempt & { reference: string },
  fields: { reference: string; value: string },
): Promise<void> {
  const aboutState = answer.error === "damage_exceeds_quantity" || answer.error === "eta_not_later";
  const now = aboutState ? await current(attempt.reference) : undefined;
  const sentence = refusal(answer, { ...attempt, current: now });
  if (now) {
    showBatches(byId(`${form.id}-result`), `Batch ${now.reference} as it is now:`, `Batch ${now.reference}`, [
      now,
    ]);
  }
  if (answer.status === 401) return; // back at the sign-in form, which says so
  const faulty = answer.error === "batch_not_found" ? fields.reference : fields.value;
  refuse(form, blames(answer.error) ? input(faulty) : undefined, sentence);
}

/** A form of one field that reads something and shows it; refusals are told beside the field. */
function lookup<T>(
  formId: string,
  fieldId: string,
  what: string,
  ask: (value: string) => Promise<Answer<T>>,
  show: (value: string, found: T) => string,
  attempt: (value: string) => Attempt,
): void {
  onSubmit(formId, async (form) => {
    const field = input(fieldId);
    const value = required(form, field, what);
    if (!value) return;
    const answer = await ask(value);
    if (!answer.ok)
      return refuse(form, blames(answer.error) ? field : undefined, refusal(answer, attempt(value)));
    announce(show(value, answer.body), "ok");
  });
}

const etaField = input("register-eta");
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="kind"]')) {
  radio.addEventListener("change", () => {
    const shipment = radio.value === "shipment" && radio.checked;
    etaField.disabled = !shipment;
    etaField.required = shipment;
  });
}

onSubmit("register", async (form) => {
  const reference = required(form, input("register-reference"), "a batch reference");
  const sku = reference && required(form, input("register-sku"), "the SKU");
  const qty = sku && quantity(form, input("register-qty"), "the quantity");
  if (!reference || !sku || !qty) return;
  const eta = etaField.disabled ? null : date(form, etaField, "the day the shipment arrives");
  const t = eta !== undefined ? token() : undefined;
  if (!t) return;
  const answer = await api.registerBatch(t, { reference, sku, qty, eta: eta ?? null });
  if (!answer.ok) {
    const sentence = refusal(answer, { reference });
    if (answer.status !== 401) {
      const faulty = answer.error === "batch_exists" ? input("register-reference") : undefined;
      refuse(form, faulty, sentence);
    }
    return;
  }
  const b = answer.body;
  const sentence = `Registered batch ${b.reference}: ${units(b.qty)} of ${b.sku}, ${whereItIs(b.eta)}.`;
  showBatches(byId("register-result"), sentence, "The new batch", [b], b.reference);
  announce(sentence, "ok");
});

lookup(
  "find-sku",
  "find-sku-input",
  "a SKU",
  api.batchesOf,
  (sku, batches) => {
    const total = units(batches.reduce((sum, b) => sum + b.qty, 0));
    const sentence =
      batches.length === 0
        ? `There are no batches of ${sku}.`
        : `${sku} has ${batches.length} ${batches.length === 1 ? "batch" : "batches"}, ${total} in all.`;
    showBatches(byId("find-result"), sentence, `Batches of ${sku}, stock on hand first`, batches);
    return sentence;
  },
  (sku) => ({ sku }),
);

lookup(
  "find-batch",
  "find-batch-input",
  "a batch reference",
  api.batch,
  (_reference, b) => {
    const sentence = `Batch ${b.reference} holds ${units(b.qty)} of ${b.sku}, ${whereItIs(b.eta)}.`;
    showBatches(byId("find-result"), sentence, `Batch ${b.reference}`, [b]);
    return sentence;
  },
  (reference) => ({ reference }),
);

interface BatchChange<V> {
  /** The form's id; its fields are <id>-reference and <id>-<valueField>, its result <id>-result. */
  formId: string;
  valueField: string;
  read(form: HTMLFormElement, field: HTMLInputElement): V | undefined;
  send(token: string, reference: string, value: V): Promise<Answer<Batch>>;
  attempt(value: V): Attempt;
  told(batch: Batch, value: V): string;
  caption: string;
}

/** A form that changes a batch with the staff token and shows the batch after the change. */
function batchChange<V>(change: BatchChange<V>): void {
  const { formId, valueField } = change;
  const fields = { reference: `${formId}-reference`, value: `${formId}-${valueField}` };
  onSubmit(formId, async (form) => {
    const reference = required(form, input(fields.reference), "the batch reference");
    const value = reference ? change.read(form, input(fields.value)) : undefined;
    const t = reference && value !== undefined ? token() : undefined;
    if (!reference || value === undefined || !t) return;
    const answer = await change.send(t, reference, value);
    if (!answer.ok) return refuseChange(form, answer, { reference, ...change.attempt(value) }, fields);
    const b = answer.body;
    const sentence = change.told(b, value);
    showBatches(
      byId(`${formId}-result`),
      sentence,
      `Batch ${b.reference} ${change.caption}`,
      [b],
      b.reference,
    );
    announce(sentence, "ok");
  });
}

batchChange({
  formId: "damage",
  valueField: "qty",
  read: (form, field) => {
    const qty = quantity(form, field, "the number of damaged units");
    return qty === undefined ? undefined : { qty, reason: input("damage-reason").value.trim() || undefined };
  },
  send: (t, reference, { qty, reason }) => api.damage(t, reference, qty, reason),
  attempt: ({ qty }) => ({ qty }),
  told: (b, { qty, reason }) =>
    `Recorded ${units(qty)} damaged${reason ? ` (${reason})` : ""}. Batch ${b.reference} now holds ${units(b.qty)}.`,
  caption: "after the damage",
});

batchChange({
  formId: "delay",
  valueField: "eta",
  read: (form, field) => date(form, field, "the new arrival date"),
  send: (t, reference, eta) => api.delay(t, reference, eta),
  attempt: (eta) => ({ eta }),
  told: (b) => `Shipment ${b.reference} is now due ${b.eta ? day(b.eta) : "on hand"}.`,
  caption: "after the delay",
});

lookup(
  "dispatches",
  "dispatch-order",
  "an order id",
  api.dispatchesOf,
  (orderId, dispatches) => {
    const pending = dispatches.filter((d) => d.status === "pending").length;
    const cancelled = dispatches.length - pending;
    const moved = cancelled
      ? `, ${cancelled} cancelled (moved to another batch or the order was cancelled)`
      : "";
    const sentence =
      dispatches.length === 0
        ? `Order ${orderId} has no dispatch instructions yet. An order placed a moment ago may still be being allocated.`
        : `Order ${orderId}: ${pending} to dispatch${moved}.`;
    showDispatches(byId("dispatches-result"), sentence, orderId, dispatches);
    return sentence;
  },
  () => ({}),
);

void startSession("register-reference");
