/**
 * The server process of bench/profile-execute.ts: {@link startKeyServer} with the options in argv[2] (JSON),
 * printing `{"url","key"}` on stdout once ready. Its CPU is profiled only between the `start` and `stop`
 * lines its parent writes to stdin (so start-up, migrations and the sign-in are not in the profile); at
 * `stop` it writes the V8 CPU profile (`.cpuprofile`, the format of `node --cpu-prof`) to argv[3] and
 * prints `stopped`. Closing stdin closes the server and exits.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import { startKeyServer } from './key-server.js';

const server = await startKeyServer(
  JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof startKeyServer>[0],
);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
// 100 µs between samples (V8's default is 1 ms): a few hundred executions then give enough samples.
await session.post('Profiler.setSamplingInterval', { interval: 100 });
process.stdout.write(`${JSON.stringify({ url: server.url, key: server.key })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'start') {
    await session.post('Profiler.start');
    process.stdout.write('started\n');
  } else if (line === 'stop') {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(process.argv[3]!, JSON.stringify(profile));
    process.stdout.write('stopped\n');
  }
}
await server.close();
process.exit(0);
