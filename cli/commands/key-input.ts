/** The key `stage` stages: from a hidden prompt on a terminal, or the first line of stdin; never from argv. */
import { type CliContext, InterruptedError, UsageError } from './frame.js';

/** A Stripe key is about 110 characters; anything much longer on stdin is not a key. */
const MAX_STDIN_BYTES = 4096;

export async function readKey(cli: CliContext): Promise<string> {
  const raw = cli.stdin.isTTY === true ? await hiddenPrompt(cli) : await readStdin(cli);
  const key = raw.trim();
  if (key === '') {
    throw new UsageError(
      cli.stdin.isTTY === true ? 'no key was entered' : 'stdin was empty: pipe the key alone, e.g. < key.txt',
    );
  }
  if (/[\r\n]/.test(key)) throw new UsageError('the input holds more than one line: give the key alone');
  return key;
}

/** How long stdin may stay silent before the command says what it is waiting for. */
const STDIN_HINT_AFTER_MS = 2_000;

/**
 * The first line of stdin (the help promises one line): the command does not wait for the end of a stream
 * that may stay open. More text in what was already read is refused, as a file of several lines is a mistake.
 */
async function readStdin(cli: CliContext): Promise<string> {
  const hint = setTimeout(
    () => cli.progress.write('Waiting for the key on stdin (one line; Ctrl-C to cancel)...\n'),
    STDIN_HINT_AFTER_MS,
  );
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of cli.stdin) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
      size += buffer.byteLength;
      if (size > MAX_STDIN_BYTES) {
        throw new UsageError(`stdin holds more than ${MAX_STDIN_BYTES} bytes: give the key alone`);
      }
      chunks.push(buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\n');
      if (end === -1) continue;
      if (text.slice(end + 1).trim() !== '') {
        throw new UsageError('the input holds more than one line: give the key alone');
      }
      return text.slice(0, end);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    clearTimeout(hint);
  }
}

/** Reads one line from the terminal without echoing it. */
function hiddenPrompt(cli: CliContext): Promise<string> {
  const input = cli.stdin as NodeJS.ReadStream;
  cli.stderr.write('Stripe secret key (input hidden): ');
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (result: () => void) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      cli.stderr.write('\n');
      result();
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done(() => resolve(typed));
        if (char === '\u0003') {
          return done(() =>
            reject(new InterruptedError('SIGINT', 'Cancelled (Ctrl-C): nothing was staged.')),
          );
        }
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}
