import { parseArgs, type ParseArgsConfig } from 'node:util';
import { providerById, type RegisteredProvider } from '../shared/providers.js';

/** What `send` and `verify` share: `<provider> [options]` on the command line, and usage errors. */

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: O }>>['values'];

export type Command<O extends Options> =
  | { readonly ok: true; readonly values: Values<O>; readonly provider: RegisteredProvider }
  | { readonly ok: false; readonly exitCode: number };

/** The message, then the usage, on stderr; exit code 2. */
export function usageError(message: string, usage: string): number {
  console.error(`${message}\n\n${usage}`);
  return 2;
}

/** Parses `<provider> [options]`: `--help` prints the usage (exit 0); a bad option or provider is a usage error. */
export function readCommand<const O extends Options>(argv: string[], options: O, usage: string): Command<O> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options });
  } catch (error) {
    return { ok: false, exitCode: usageError(error instanceof Error ? error.message : String(error), usage) };
  }
  if ((parsed.values as Record<string, unknown>).help === true) {
    console.log(usage);
    return { ok: false, exitCode: 0 };
  }
  const name = parsed.positionals[0];
  const provider = providerById(name ?? '');
  if (!provider) return { ok: false, exitCode: usageError(name ? `unknown provider "${name}"` : 'which provider?', usage) };
  return { ok: true, values: parsed.values, provider };
}

/** Runs a command's main and sets the exit code; a crash prints its message and exits 2. */
export function runCommand(main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 2;
    },
  );
}
