// A process that uses the embedded PostgreSQL of a folder, as a command does: it joins (or starts)
// the server, prints one JSON line { port, started }, and leaves when its stdin closes or on
// SIGTERM. Killed with SIGKILL, it leaves without a word, as a crashed command does.
//   node --import tsx test/helpers/embeddedUser.ts DIR
import { startEmbedded } from "../../src/db/embedded.ts";

const server = await startEmbedded({ dir: process.argv[2]! }).catch((error: Error & { code?: string }) => {
  process.stdout.write(`${JSON.stringify({ error: error.message, code: error.code })}\n`);
  process.exit(1);
});
process.stdout.write(`${JSON.stringify({ port: server.port, started: server.started })}\n`);
const leave = async () => {
  await server.release();
  process.exit(0);
};
process.stdin.on("end", leave);
process.stdin.resume();
process.on("SIGTERM", leave);
