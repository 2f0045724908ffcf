import { connect } from "node:net";

/** True when something accepts a TCP connection on host:port within a second. */
export function answers(host, port) {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
