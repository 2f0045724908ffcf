import { type Answer, api, type Batch } from "./api.js";
import { type Attempt, day, explain, whereItIs } from "./messages.js";
import { showBatches, showDispatches } from "./render.js";
import { staffToken } from "./token.js";

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
};
const input = (id: string) => byId<HTMLInputElement>(id);

const statusRegion = byId("status");
function announce(sentence: string, tone: "ok" | "bad" | "info" = "info"): void {
  statusRegion.className = `status ${tone}`;
  // Emptied first so that the same sentence twice is announced twice.
  statusRegion.textContent = "";
  requestAnimationFrame(() => {
    statusRegion.textContent = sentence;
  });
}

const units = (n: number) => `${n} ${n === 1 ? "unit" : "units"}`;

/** Marks one field wrong, says why beside it and in the status region, and puts the focus on it. */
function refuse(form: HTMLFormElement, field: HTMLInputElement | undefined, sentence: string): void {
  const error = byId(`${form.id}-error`);
  error.textContent = sentence;
  error.hidden = false;
  if (field) {
    field.setAttribute("aria-invalid", "true");
    const described = new Set((field.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
    described.add(error.id);
    field.setAttribute("aria-describedby", [...described].join(" "));
    field.focus();
    field.select?.();
  }
  announce(sentence, "bad");
}

function clearRefusal(form: HTMLFormElement): void {
  const error = byId(`${form.id}-error`);
  error.hidden = true;
  error.textContent = "";
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

/** A field's text, or a refusal naming it when it is empty. */
function required(form: HTMLFormElement, field: HTMLInputElement, what: string): string | undefined {
  const value = field.value.trim();
  if (value) return value;
  refuse(form, field, `Enter ${what}.`);
  return undefined;
}

function quantity(form: HTMLFormElement, field: HTMLInputElement, what: string): number | undefined {
  const n = Number(field.value);
  if (field.value.trim() && Number.isInteger(n) && n >= 1 && n <= 1_000_000_000) return n;
  refuse(form, field, `Enter ${what} as a whole number from 1 to 1,000,000,000.`);
  return undefined;
}

function date(form: HTMLFormElement, field: HTMLInputElement, what: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(field.value)) return field.value;
  refuse(form, field, `Enter ${what} as a date.`);
  return undefined;
}

/**
 * Runs a form's action on submit (button or Enter), one at a time, without leaving the page:
 * the token never travels in a URL and the page's CSP allows no form submission anyway.
 */
function onSubmit(id: string, action: (form: HTMLFormElement) => Promise<void>): void {
  const form = byId<HTMLFormElement>(id);
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (button?.disabled) return;
    clearRefusal(form);
    if (button) button.disabled = true;
    form.setAttribute("aria-busy", "true");
    action(form).finally(() => {
      if (button) button.disabled = false;
      form.removeAttribute("aria-busy");
    });
  });
}

// ---- signing in and out -------------------------------------------------------------

const signInSection = byId("sign-in-section");
const workspace = byId("workspace");
const signedIn = byId("signed-in");
const tokenField = input("token");

function showSignIn(reason?: string): void {
  staffToken.clear();
  workspace.hidden = true;
  signedIn.hidden = true;
  signInSection.hidden = false;
  tokenField.value = "";
  if (reason) refuse(byId<HTMLFormElement>("sign-in"), tokenField, reason);
  else tokenField.focus();
}

function showWorkspace(actor: string): void {
  signInSection.hidden = true;
  workspace.hidden = false;
  signedIn.hidden = false;
  byId("actor").textContent = `(${actor})`;
}

/** The stored token, or back to the sign-in form when there is none. */
function token(): string | undefined {
  const t = staffToken.get();
  if (!t) showSignIn("Sign in with the staff token first.");
  return t;
}

/** The sentence for a refused request; a refused token also ends the session. */
function refusal(answer: Answer<unknown> & { ok: false }, attempt: Attempt): string {
  const sentence = explain(answer.error, answer.message, attempt);
  if (answer.status === 401) showSignIn(sentence);
  return sentence;
}

onSubmit("sign-in", async (form) => {
  const presented = required(form, tokenField, "the staff token");
  if (!presented) return;
  const answer = await api.whoami(presented);
  if (!answer.ok) {
    const sentence =
      answer.status === 401
        ? "That token was not accepted: it is not the warehouse staff token. Check it and enter it again."
        : explain(answer.error, answer.message);
    refuse(form, tokenField, sentence);
    return;
  }
  staffToken.set(presented);
  tokenField.value = "";
  showWorkspace(answer.body.actor);
  announce("Signed in. You can register batches, report damage and delays, and follow dispatches.", "ok");
  input("register-reference").focus();
});

byId("sign-out").addEventListener("click", () => {
  showSignIn();
  announce("Signed out. The token was removed from this tab.");
});

// ---- registering a batch --------------------------------------------------------------

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
  const shipment = !etaField.disabled;
  const eta = shipment ? date(form, etaField, "the day the shipment arrives") : null;
  if (eta === undefined) return;
  const t = token();
  if (!t) return;
  const answer = await api.registerBatch(t, { reference, sku, qty, eta });
  const target = byId("register-result");
  if (!answer.ok) {
    refuse(
      form,
      answer.error === "batch_exists" ? input("register-reference") : undefined,
      refusal(answer, { reference }),
    );
    return;
  }
  const b = answer.body;
  const sentence = `Registered batch ${b.reference}: ${units(b.qty)} of ${b.sku}, ${whereItIs(b.eta)}.`;
  showBatches(target, sentence, "The new batch", [b], b.reference);
  announce(sentence, "ok");
});

// ---- finding batches ------------------------------------------------------------------

onSubmit("find-sku", async (form) => {
  const sku = required(form, input("find-sku-input"), "a SKU");
  if (!sku) return;
  const answer = await api.batchesOf(sku);
  if (!answer.ok) return refuse(form, input("find-sku-input"), refusal(answer, { sku }));
  const batches = answer.body;
  const sentence =
    batches.length === 0
      ? `There are no batches of ${sku}.`
      : `${sku} has ${batches.length} ${batches.length === 1 ? "batch" : "batches"}, ${units(
          batches.reduce((sum, b) => sum + b.qty, 0),
        )} in all.`;
  showBatches(byId("find-result"), sentence, `Batches of ${sku}, stock on hand first`, batches);
  announce(sentence, "ok");
});

onSubmit("find-batch", async (form) => {
  const reference = required(form, input("find-batch-input"), "a batch reference");
  if (!reference) return;
  const answer = await api.batch(reference);
  if (!answer.ok) return refuse(form, input("find-batch-input"), refusal(answer, { reference }));
  const b = answer.body;
  const sentence = `Batch ${b.reference} holds ${units(b.qty)} of ${b.sku}, ${whereItIs(b.eta)}.`;
  showBatches(byId("find-result"), sentence, `Batch ${b.reference}`, [b]);
  announce(sentence, "ok");
});

/** The batch as it is now, to say why a change was refused; undefined when it cannot be read. */
async function current(reference: string): Promise<Batch | undefined> {
  const answer = await api.batch(reference);
  return answer.ok ? answer.body : undefined;
}

// ---- damage and delays ------------------------------------------------------------------

onSubmit("damage", async (form) => {
  const reference = required(form, input("damage-reference"), "the batch reference");
  const qty = reference && quantity(form, input("damage-qty"), "the number of damaged units");
  if (!reference || !qty) return;
  const reason = input("damage-reason").value.trim() || undefined;
  const t = token();
  if (!t) return;
  const answer = await api.damage(t, reference, qty, reason);
  const target = byId("damage-result");
  if (!answer.ok) {
    const now = answer.error === "damage_exceeds_quantity" ? await current(reference) : undefined;
    const sentence = refusal(answer, { reference, qty, current: now });
    if (now) showBatches(target, `Batch ${now.reference} as it is now:`, `Batch ${now.reference}`, [now]);
    const field = answer.error === "batch_not_found" ? "damage-reference" : "damage-qty";
    refuse(form, answer.status === 401 ? undefined : input(field), sentence);
    return;
  }
  const b = answer.body;
  const sentence = `Recorded ${units(qty)} damaged${reason ? ` (${reason})` : ""}. Batch ${b.reference} now holds ${units(b.qty)}.`;
  showBatches(target, sentence, `Batch ${b.reference} after the damage`, [b], b.reference);
  announce(sentence, "ok");
});

onSubmit("delay", async (form) => {
  const reference = required(form, input("delay-reference"), "the batch reference");
  const eta = reference && date(form, input("delay-eta"), "the new arrival date");
  if (!reference || !eta) return;
  const t = token();
  if (!t) return;
  const answer = await api.delay(t, reference, eta);
  const target = byId("delay-result");
  if (!answer.ok) {
    const now = answer.error === "eta_not_later" ? await current(reference) : undefined;
    const sentence = refusal(answer, { reference, eta, current: now });
    if (now) showBatches(target, `Batch ${now.reference} as it is now:`, `Batch ${now.reference}`, [now]);
    const field = answer.error === "batch_not_found" ? "delay-reference" : "delay-eta";
    refuse(form, answer.status === 401 ? undefined : input(field), sentence);
    return;
  }
  const b = answer.body;
  const sentence = `Shipment ${b.reference} is now due ${b.eta ? day(b.eta) : "on hand"}.`;
  showBatches(target, sentence, `Batch ${b.reference} after the delay`, [b], b.reference);
  announce(sentence, "ok");
});

// ---- dispatches ------------------------------------------------------------------------

onSubmit("dispatches", async (form) => {
  const orderId = required(form, input("dispatch-order"), "an order id");
  if (!orderId) return;
  const answer = await api.dispatchesOf(orderId);
  if (!answer.ok) return refuse(form, input("dispatch-order"), refusal(answer, {}));
  const pending = answer.body.filter((d) => d.status === "pending").length;
  const cancelled = answer.body.length - pending;
  const sentence =
    answer.body.length === 0
      ? `Order ${orderId} has no dispatch instructions yet. An order placed a moment ago may still be being allocated.`
      : `Order ${orderId}: ${pending} to dispatch${cancelled ? `, ${cancelled} cancelled (moved to another batch or the order was cancelled)` : ""}.`;
  showDispatches(byId("dispatches-result"), sentence, orderId, answer.body);
  announce(sentence, "ok");
});

// ---- start -----------------------------------------------------------------------------

async function resume(): Promise<void> {
  const stored = staffToken.get();
  if (!stored) return showSignIn();
  // The token may have been rotated since it was entered: check it again quietly.
  const answer = await api.whoami(stored);
  if (answer.ok) showWorkspace(answer.body.actor);
  else if (answer.status === 401)
    showSignIn("The stored token is no longer accepted. Enter the current staff token.");
  else {
    showSignIn();
    announce(explain(answer.error, answer.message), "bad");
  }
}

void resume();
