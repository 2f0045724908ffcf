import helmet, { type FastifyHelmetOptions } from "@fastify/helmet";
import Fastify from "fastify";

/**
 * The response headers @fastify/helmet sets with `options`, found once by asking the plugin
 * on a throwaway app. The plugin builds helmet's middleware anew for every request; without
 * CSP nonces its headers never change, so a hook sets them from this list instead.
 */
export async function securityHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = async (withHelmet: boolean) => {
    const app = Fastify();
    if (withHelmet) await app.register(helmet, options);
    app.get("/", async () => "");
    try {
      return (await app.inject({ method: "GET", url: "/" })).headers;
    } finally {
      await app.close();
    }
  };
  const [secured, bare] = await Promise.all([probe(true), probe(false)]);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(secured)) {
    if (name in bare || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return headers;
}
