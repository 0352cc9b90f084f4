import { writeFileSync } from 'node:fs';
import { describeMachine, errorText, skippedSection, type Machine, type SectionResult, type Table } from './support.js';

/**
 * `npm run bench`: prints, in one run, the four figures the project promises (warm handler cost vs.
 * the Powertools peer, cold start of the shipped bundles on Node 22, Secrets Manager calls, local
 * throughput), each next to its target with `ok` or `MISSED`. Always exits 0 when it could measure: a missed target is
 * a finding, not a crash. The test suite never checks timings; this does, and only prints them.
 *
 *   npm run bench                         all four sections
 *   npm run bench -- --only 1,3           some of them
 *   npm run bench -- --quick              fewer iterations and runs (a smoke run; figures are noisier)
 *   npm run bench -- --markdown docs/performance.md   also write the results as Markdown
 */

interface Args {
  readonly only: ReadonlySet<string>;
  readonly quick: boolean;
  readonly markdown?: string;
}

function parseArgs(argv: readonly string[]): Args {
  let only = new Set(['1', '2', '3', '4']);
  let quick = false;
  let markdown: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--only') only = new Set((argv[++i] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    else if (arg.startsWith('--only=')) only = new Set(arg.slice(7).split(',').map((s) => s.trim()).filter(Boolean));
    else if (arg === '--markdown') markdown = argv[++i];
    else if (arg.startsWith('--markdown=')) markdown = arg.slice(11);
    else {
      console.error(`unknown argument ${arg}; use --only 1,2,3,4, --quick, --markdown <file>`);
      process.exit(2);
    }
  }
  return { only, quick, ...(markdown ? { markdown } : {}) };
}

const TITLES: Record<string, string> = {
  '1': 'Warm handler cost per invocation, and ours vs. the Powertools peer',
  '2': 'Cold start of the shipped bundles on Node 22',
  '3': 'Secrets Manager calls per 10,000 invocations',
  '4': 'Local server throughput and latency (`npm start`)',
};

/** Runs one section; a section that cannot run (a module missing, a stand-in not starting) is reported as skipped. */
async function section(id: string, run: () => Promise<SectionResult>): Promise<SectionResult> {
  try {
    return await run();
  } catch (error) {
    return skippedSection(id, TITLES[id] ?? id, errorText(error));
  }
}

function textTable(table: Table): string {
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [...(table.caption ? [table.caption] : []), line(table.headers), line(widths.map((w) => '-'.repeat(w))), ...table.rows.map(line)].join('\n');
}

function printSection(result: SectionResult): void {
  console.log(`\n== ${result.id}. ${result.title}`);
  if (result.skipped) {
    console.log(`skipped: ${result.skipped}`);
    return;
  }
  for (const table of result.tables) console.log(`\n${textTable(table)}`);
  for (const note of result.notes) console.log(`\n${note}`);
}

function markdownTable(table: Table): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    ...(table.caption ? [`${table.caption}:`, ''] : []),
    `| ${table.headers.map(escape).join(' | ')} |`,
    `|${table.headers.map(() => '---').join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

function markdown(results: readonly SectionResult[], machine: Machine, command: string, date: string): string {
  const out = [
    '# Performance',
    '',
    `Figures from one run of \`${command}\` on ${date}. They are measured, not asserted: the test suite checks`,
    'behaviour and never wall-clock time; `npm run bench` prints these tables with `ok` or `MISSED` next to each',
    'target. Ratios compare against a baseline measured in the same run, so they carry over between machines',
    'better than the absolute numbers do.',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}.`,
  ];
  for (const result of results) {
    out.push('', `## ${result.id}. ${result.title}`, '');
    if (result.skipped) {
      out.push(`Skipped: ${result.skipped}`);
      continue;
    }
    for (const line of result.method) out.push(`- ${line}`);
    for (const table of result.tables) out.push('', markdownTable(table));
    for (const note of result.notes) out.push('', note);
  }
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = describeMachine();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  console.log(`${command}`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}`);
  if (args.quick) console.log('quick mode: fewer iterations and runs; figures are noisier');

  const results: SectionResult[] = [];
  const add = async (id: string, run: () => Promise<SectionResult>) => {
    if (!args.only.has(id)) return;
    const result = await section(id, run);
    printSection(result);
    results.push(result);
  };

  await add('1', async () => {
    const { handlerCost } = await import('./handler-cost.js');
    return handlerCost(args.quick ? { iterations: 2_000, rounds: 3, warmup: 1_000, coldRounds: 3 } : { iterations: 10_000, rounds: 11, warmup: 5_000, coldRounds: 11 });
  });
  await add('2', async () => {
    const { coldStartSection } = await import('./cold-start.js');
    return coldStartSection({ rounds: args.quick ? 3 : 11 });
  });
  await add('3', async () => {
    const { secretsCalls } = await import('./secrets-calls.js');
    return secretsCalls({ invocations: 10_000 });
  });
  await add('4', async () => {
    const { localLoad } = await import('./load.js');
    return localLoad({ connections: 10, durationSeconds: args.quick ? 2 : 10 });
  });

  if (args.markdown) {
    writeFileSync(args.markdown, markdown(results, machine, command, new Date().toISOString().slice(0, 10)));
    console.log(`\nwrote ${args.markdown}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${errorText(error)}`);
    process.exit(1);
  },
);
