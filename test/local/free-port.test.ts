// freePort: local listener ports that an outgoing connection cannot take meanwhile, never handed
// out twice by one process, and free when handed out.
import { createServer, type Server } from "node:net";
import { describe, expect, test } from "vitest";
import { freePort } from "../../src/local/index.js";

function listen(port: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe("freePort", () => {
  test("ports below the ephemeral range, each free, none handed out twice", async () => {
    const ports: number[] = [];
    for (let index = 0; index < 200; index++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(200);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThanOrEqual(32_767);
    }
    // Handed out free: a listener can bind each (a sample, bound all at once).
    const servers = await Promise.all(ports.slice(0, 20).map(listen));
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });
});
