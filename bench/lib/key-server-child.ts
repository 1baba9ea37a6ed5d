/**
 * {@link startKeyServer} in a process of its own, for benchmarks whose client must not share a thread (or a
 * heap) with the server: the options come as JSON in argv[2]; it prints `{"url","key"}` as one line on
 * stdout once ready, and closes the server and exits when stdin ends.
 */
import { startKeyServer } from './key-server.js';

const server = await startKeyServer(
  JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof startKeyServer>[0],
);
process.stdout.write(`${JSON.stringify({ url: server.url, key: server.key })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0));
});
