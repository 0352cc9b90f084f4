import { warmFigures, type PeerOptions } from './peer-comparison.js';

/**
 * Section 1's warm figures, ours vs. the peer, in this process: peer-comparison.ts runs this file on
 * Node 22 (Lambda's runtime) and reads the JSON it prints last.
 */
const options = JSON.parse(process.argv[2] ?? '{}') as PeerOptions;
process.stdout.write(`${JSON.stringify(await warmFigures(options))}\n`);
