// sessionStorage: the token lives as long as the tab, is never sent in a URL, and is not
// shared with other tabs or kept after the browser closes.
const KEY = "stockflow.staffToken";

export const staffToken = {
  get: (): string | undefined => sessionStorage.getItem(KEY) ?? undefined,
  set: (token: string): void => sessionStorage.setItem(KEY, token),
  clear: (): void => sessionStorage.removeItem(KEY),
};
