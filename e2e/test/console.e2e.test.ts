import { randomBytes } from "node:crypto";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserSession, openBrowser } from "../support/browser.js";
import { eventually } from "../support/eventually.js";
import { type Stack, startStack } from "../support/stack.js";

// A warehouse staff member's session in the console, in Debian's chromium at a tablet's
// width, against the three services running as processes. The steps run in order and share
// the page, as one person's session would. Screenshots: e2e/.output/console/.

// Functions given to page.evaluate run in the browser; e2e compiles without the DOM library,
// so these are the few browser globals they use.
declare const document: { activeElement: { id: string } | null; documentElement: { scrollWidth: number } };
declare const window: { innerWidth: number };
declare const sessionStorage: { getItem(key: string): string | null };

let stack: Stack;
let browser: BrowserSession;
let page: Page;

const run = randomBytes(3).toString("hex");
const sku = `CONSOLE-LAMP-${run}`;
const onHand = `console-stock-${run}`;
const shipment = `console-ship-${run}`;
let orderId: string;

beforeAll(async () => {
  stack = await startStack({ label: "console" });
  browser = await openBrowser({ folder: "console" });
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await stack?.dispose();
});

const section = (heading: string) => page.getByRole("region", { name: heading });
const status = () => page.getByRole("status");

/** Submits with the form's button and waits until the page has dealt with the answer. */
async function submit(region: Locator, button: string): Promise<void> {
  await region.getByRole("button", { name: button }).click();
  await expect.poll(() => region.locator("form[aria-busy]").count()).toBe(0);
}

async function expectStatus(text: string | RegExp): Promise<void> {
  await expect.poll(() => status().textContent()).toMatch(text);
}

const focusedId = () => page.evaluate(() => document.activeElement?.id ?? "");

/** The dispatch rows the console shows for the order: "<batch> <status>". */
async function dispatchRows(): Promise<string[]> {
  const region = section("Dispatches of an order");
  await submit(region, "Show the dispatches");
  return region.locator("tbody tr").evaluateAll((rows) =>
    rows.map((r) => {
      const cells = [...r.querySelectorAll("td")].map((td) => td.textContent ?? "");
      return `${cells[2]} ${cells[3]?.startsWith("pending") ? "pending" : "cancelled"}`;
    }),
  );
}

describe("a staff member's session in the warehouse console", () => {
  it("refuses a wrong token in words, then accepts the staff token", async () => {
    await page.goto(`${stack.urls.warehouse}/console`);
    const signIn = section("Sign in");
    await expect.poll(() => focusedId()).toBe("token");
    // Nothing but the sign-in form until a token is accepted.
    expect(await section("Register a batch").isVisible()).toBe(false);
    await signIn.getByLabel("Staff token").fill("not-the-staff-token");
    await submit(signIn, "Sign in");
    const error = signIn.locator("#sign-in-error");
    await expect.poll(() => error.textContent()).toContain("That token was not accepted");
    await expectStatus(/not accepted/);
    expect(await focusedId()).toBe("token");
    expect(await signIn.getByLabel("Staff token").getAttribute("aria-invalid")).toBe("true");
    expect(await section("Register a batch").isVisible()).toBe(false);
    await browser.screenshot("wrong-token");

    await signIn.getByLabel("Staff token").fill(stack.staffToken);
    await page.keyboard.press("Enter");
    await expect.poll(() => section("Register a batch").isVisible()).toBe(true);
    await expectStatus(/^Signed in/);
    expect(await signIn.isVisible()).toBe(false);
    expect(await focusedId()).toBe("register-reference");
    // Kept in sessionStorage only: not in the URL, not in the page, not in a cookie.
    expect(await page.evaluate(() => sessionStorage.getItem("stockflow.staffToken"))).toBe(stack.staffToken);
    expect(page.url()).not.toContain(stack.staffToken);
    expect(await page.content()).not.toContain(stack.staffToken);
    expect(await browser.context.cookies()).toEqual([]);
    await browser.screenshot("signed-in");
  });

  it("registers stock on hand and shows the new batch", async () => {
    const region = section("Register a batch");
    await region.getByLabel("Batch reference").fill(onHand);
    await region.getByLabel("SKU").fill(sku);
    await region.getByLabel("Quantity").fill("10");
    await region.getByLabel("Stock on hand").check();
    await submit(region, "Register the batch");
    const said = `Registered batch ${onHand}: 10 units of ${sku}, on hand.`;
    await expectStatus(said);
    expect(await region.locator(".result").textContent()).toContain(said);
    await browser.screenshot("registered-stock");
  });

  it("finds the batch by its SKU", async () => {
    const region = section("Find batches");
    await region.getByLabel("SKU").fill(sku);
    await submit(region, "Show the SKU's batches");
    await expectStatus(`${sku} has 1 batch, 10 units in all.`);
    const row = region.locator("tbody tr");
    expect(await row.count()).toBe(1);
    expect(await row.first().textContent()).toContain(onHand);
    await browser.screenshot("found-by-sku");
  });

  it("shows the pending dispatch of an order placed through the storefront API", async () => {
    const placed = await stack.api.placeOrder({ customerId: `console-${run}`, lines: [{ sku, qty: 4 }] });
    expect(placed.status).toBe(202);
    orderId = placed.body.orderId;
    await section("Dispatches of an order").getByLabel("Order id").fill(orderId);
    const rows = await eventually(stack, "the console to show the order's pending dispatch", async () => {
      const shown = await dispatchRows();
      return shown.includes(`${onHand} pending`) ? shown : undefined;
    });
    expect(rows).toEqual([`${onHand} pending`]);
    await expectStatus(`Order ${orderId}: 1 to dispatch.`);
    await browser.screenshot("pending-dispatch");
  });

  it("registers a shipment as a second batch with the keyboard alone", async () => {
    const region = section("Register a batch");
    await region.getByLabel("Batch reference").focus();
    const type = (text: string) => page.keyboard.type(text);
    await page.keyboard.press("ControlOrMeta+a");
    await type(shipment);
    await page.keyboard.press("Tab");
    await page.keyboard.press("ControlOrMeta+a");
    await type(sku);
    await page.keyboard.press("Tab");
    await page.keyboard.press("ControlOrMeta+a");
    await type("10");
    await page.keyboard.press("Tab"); // the checked radio button: stock on hand
    await page.keyboard.press("ArrowDown"); // an incoming shipment
    await page.keyboard.press("Tab"); // the arrival date, enabled by the choice
    expect(await focusedId()).toBe("register-eta");
    await type("01102031"); // 01/10/2031 in the en-US date field
    await page.keyboard.press("Enter");
    await expect.poll(() => region.locator("form[aria-busy]").count()).toBe(0);
    await expectStatus(`Registered batch ${shipment}: 10 units of ${sku}, arriving Fri 10 Jan 2031.`);
    await browser.screenshot("registered-shipment");
  });

  it("refuses damage beyond what the batch holds, in words, and changes nothing", async () => {
    const region = section("Report damage");
    await region.getByLabel("Batch reference").fill(onHand);
    await region.getByLabel("Damaged units").fill("50");
    await region.getByLabel("Reason (optional)").fill("water leak");
    await submit(region, "Report the damage");
    const said = `Nothing was changed: batch ${onHand} holds only 10 units, so 50 units cannot be reported damaged.`;
    await expectStatus(said);
    expect(await region.locator("#damage-error").textContent()).toBe(said);
    expect(await focusedId()).toBe("damage-qty");
    expect((await stack.api.getBatch(onHand)).body).toMatchObject({ qty: 10 });
    await browser.screenshot("damage-refused");
  });

  it("reports damage within the stock and shows the new quantity", async () => {
    const region = section("Report damage");
    await region.getByLabel("Damaged units").fill("8");
    await region.getByLabel("Reason (optional)").fill("forklift accident");
    await submit(region, "Report the damage");
    await expectStatus(`Recorded 8 units damaged (forklift accident). Batch ${onHand} now holds 2 units.`);
    const row = region.locator("tbody tr");
    expect(await row.first().locator("td").nth(2).textContent()).toBe("2");
    await browser.screenshot("damage-recorded");
  });

  it("shows the order's dispatch moved to the shipment", async () => {
    const rows = await eventually(stack, "the console to show the dispatch on the shipment", async () => {
      const shown = await dispatchRows();
      return shown.includes(`${shipment} pending`) ? shown : undefined;
    });
    expect(rows).toEqual([`${shipment} pending`, `${onHand} cancelled`]);
    await expectStatus(/1 to dispatch, 1 cancelled/);
    await browser.screenshot("dispatch-moved");
  });

  it("refuses a delay to an earlier day in words, then delays the shipment and shows its new date", async () => {
    const region = section("Delay a shipment");
    await region.getByLabel("Batch reference").fill(shipment);
    await region.getByLabel("New arrival date").fill("2031-01-05");
    await submit(region, "Delay the shipment");
    await expectStatus(
      "Nothing was changed: a delay must move the shipment to a day after the one it has now, Fri 10 Jan 2031.",
    );
    expect(await focusedId()).toBe("delay-eta");
    await browser.screenshot("delay-refused");

    await region.getByLabel("New arrival date").fill("2031-03-15");
    await submit(region, "Delay the shipment");
    await expectStatus(`Shipment ${shipment} is now due Sat 15 Mar 2031.`);
    expect(await region.locator("tbody tr").first().textContent()).toContain("2031-03-15");
    expect((await stack.api.getBatch(shipment)).body).toMatchObject({ eta: "2031-03-15" });
    await browser.screenshot("delayed");
  });

  it("stayed readable at a tablet's width, within its CSP, without an error in the page", async () => {
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    expect(innerWidth).toBe(768);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    expect(browser.problems).toEqual([]);
    // The same session on a wider screen, for the README (docs/console.png).
    await page.setViewportSize({ width: 1280, height: 900 });
    await browser.screenshot("wide");
  });
});
