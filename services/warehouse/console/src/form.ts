/** The page's forms: fields, refusals beside them, the status region, one submission at a time. */

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
};
export const input = (id: string) => byId<HTMLInputElement>(id);

/** Says a sentence in the status region, which screen readers announce (aria-live). */
export function announce(sentence: string, tone: "ok" | "bad" | "info" = "info"): void {
  const region = byId("status");
  region.className = `status ${tone}`;
  // Emptied first so that the same sentence twice is announced twice.
  region.textContent = "";
  requestAnimationFrame(() => {
    region.textContent = sentence;
  });
}

/** Marks a field wrong, says why beside it and in the status region, and puts the focus on it. */
export function refuse(form: HTMLFormElement, field: HTMLInputElement | undefined, sentence: string): void {
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
export function required(form: HTMLFormElement, field: HTMLInputElement, what: string): string | undefined {
  const value = field.value.trim();
  if (value) return value;
  refuse(form, field, `Enter ${what}.`);
  return undefined;
}

export function quantity(form: HTMLFormElement, field: HTMLInputElement, what: string): number | undefined {
  const n = Number(field.value);
  if (field.value.trim() && Number.isInteger(n) && n >= 1 && n <= 1_000_000_000) return n;
  refuse(form, field, `Enter ${what} as a whole number from 1 to 1,000,000,000.`);
  return undefined;
}

export function date(form: HTMLFormElement, field: HTMLInputElement, what: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(field.value)) return field.value;
  refuse(form, field, `Enter ${what} as a date.`);
  return undefined;
}

/**
 * Runs a form's action on submit (button or Enter), one at a time, without leaving the page:
 * the token never travels in a URL and the page's CSP allows no form submission anyway.
 */
export function onSubmit(id: string, action: (form: HTMLFormElement) => Promise<void>): void {
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
