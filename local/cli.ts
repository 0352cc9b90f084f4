import { parseArgs, type ParseArgsConfig } from 'node:util';
import { providerById, type RegisteredProvider } from '../shared/providers.js';

/** What the commands share (`send`, `verify`, `replay`, `smoke`): their command lines, and usage errors. */

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: O }>>['values'];

/** Options read, or: `--help` was asked for, or what is wrong with them. */
export type OptionsRead<O extends Options> =
  | { readonly ok: true; readonly values: Values<O>; readonly positionals: readonly string[] }
  | { readonly ok: false; readonly help: boolean; readonly error?: string };

/** Reads the command line; parseArgs' exception for an unknown or malformed option becomes a value. `help` is `--help`. */
export function readOptions<const O extends Options>(argv: readonly string[], options: O): OptionsRead<O> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options });
  } catch (error) {
    return { ok: false, help: false, error: error instanceof Error ? error.message : String(error) };
  }
  if ((parsed.values as Record<string, unknown>).help === true) return { ok: false, help: true };
  return { ok: true, values: parsed.values, positionals: parsed.positionals };
}

/** `--help`: the usage on stdout, exit 0; otherwise the error and the usage on stderr, exit 2. */
export function usageExit(failure: { readonly help: boolean; readonly error?: string }, usage: string): number {
  if (!failure.help) return usageError(failure.error ?? 'invalid arguments', usage);
  console.log(usage);
  return 0;
}

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
  const parsed = readOptions(argv, options);
  if (!parsed.ok) return { ok: false, exitCode: usageExit(parsed, usage) };
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
