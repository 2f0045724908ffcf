import { connect, type Socket } from "node:net";

export interface SocketWriteCounter {
  /** For postgres-js's `socket` option (missing from its types): a connection to `url` that counts its writes. */
  readonly options: { socket: () => Socket };
  /** Socket writes so far, over every connection made through `options`. */
  writes(): number;
}

/**
 * Counts a client's socket writes to the server of `url`. On a loopback connection each
 * write is kernel work that wakes the server: what a statement costs beyond building it.
 */
export function countSocketWrites(url: string): SocketWriteCounter {
  const { hostname, port } = new URL(url);
  let writes = 0;
  return {
    options: {
      socket: () => {
        const socket = connect(Number(port || 5432), hostname);
        const write = socket.write.bind(socket);
        socket.write = ((...args: Parameters<typeof write>) => {
          writes++;
          return write(...args);
        }) as typeof socket.write;
        return socket;
      },
    },
    writes: () => writes,
  };
}
