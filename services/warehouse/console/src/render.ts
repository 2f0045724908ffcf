import { day } from "./messages.js";
import type { Batch, Dispatch } from "./types.js";

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

interface Column<T> {
  title: string;
  cell(row: T): string | Node;
  numeric?: boolean;
}

function table<T>(caption: string, columns: Column<T>[], rows: T[], highlight?: (row: T) => boolean) {
  const t = el("table");
  t.append(el("caption", caption));
  const head = el("tr");
  for (const c of columns)
    head.append(el("th", c.title, { scope: "col", ...(c.numeric ? { class: "num" } : {}) }));
  t.appendChild(el("thead")).append(head);
  const body = t.appendChild(el("tbody"));
  for (const row of rows) {
    const tr = body.appendChild(el("tr", undefined, highlight?.(row) ? { class: "changed" } : {}));
    for (const c of columns) {
      const td = tr.appendChild(el("td", undefined, c.numeric ? { class: "num" } : {}));
      td.append(c.cell(row));
    }
  }
  return t;
}

const batchColumns: Column<Batch>[] = [
  { title: "Reference", cell: (b) => b.reference },
  { title: "SKU", cell: (b) => b.sku },
  { title: "Quantity", cell: (b) => String(b.qty), numeric: true },
  { title: "Arrives", cell: (b) => (b.eta === null ? "on hand" : `${day(b.eta)} (${b.eta})`) },
];

/** Replaces what `target` shows with a sentence and, when there are any, a table of batches. */
export function showBatches(
  target: HTMLElement,
  sentence: string,
  caption: string,
  batches: Batch[],
  changed?: string,
) {
  target.replaceChildren(el("p", sentence));
  if (batches.length > 0) {
    target.append(table(caption, batchColumns, batches, (b) => b.reference === changed));
  }
}

const statusTag = (d: Dispatch) =>
  el("span", d.status === "pending" ? "pending: to dispatch" : "cancelled", { class: `tag ${d.status}` });

export function showDispatches(
  target: HTMLElement,
  sentence: string,
  orderId: string,
  dispatches: Dispatch[],
) {
  target.replaceChildren(el("p", sentence));
  if (dispatches.length === 0) return;
  // Pending instructions first: they are the ones to act on.
  const rows = [...dispatches].sort((a, b) => (a.status === b.status ? 0 : a.status === "pending" ? -1 : 1));
  target.append(
    table(
      `Dispatch instructions of order ${orderId}`,
      [
        { title: "SKU", cell: (d) => d.sku },
        { title: "Quantity", cell: (d) => String(d.qty), numeric: true },
        { title: "From batch", cell: (d) => d.batchref },
        { title: "Status", cell: statusTag },
      ],
      rows,
    ),
  );
}
