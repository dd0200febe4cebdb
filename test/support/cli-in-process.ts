/** Runs one CLI command in this process, as cli/main.ts does (errors through reportError), over captured streams. */
import { PassThrough } from 'node:stream';
import { type Command, processContext, reportError } from '../../cli/commands/frame.js';

export interface InProcessRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runInProcess(
  command: Command,
  argv: readonly string[],
  env: Record<string, string>,
): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  const stream = (append: (text: string) => void) =>
    ({
      write: (text: string) => append(text),
      on: () => undefined,
      isTTY: false,
    }) as unknown as NodeJS.WriteStream;
  const stdin = new PassThrough();
  stdin.end();
  const cli = processContext({
    stdout: stream((text) => {
      stdout += text;
    }),
    stderr: stream((text) => {
      stderr += text;
    }),
    stdin,
    env,
  });
  let code: number;
  try {
    code = await command.run(argv, cli);
  } catch (error) {
    code = reportError(error, command.name, cli);
  }
  return { code, stdout, stderr };
}
