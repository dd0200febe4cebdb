/**
 * Builds what the construct deploys and the package ships: the functions' bundles, bundled once here
 * with these options — the construct deploys this directory as is, the benchmark and the bundled-handler
 * suite load the same build. `npm run build` and `npm pack` (the `prepack` script) run it, so do `cdk synth`
 * (cdk.json) and the infrastructure tests, which therefore always deploy the sources as they are.
 *
 * `tsx scripts/build.ts` builds each function's asset into dist/assets/<name> and the CLI into dist/cli.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The functions the construct deploys: asset name → entry point in lambda/ (each exports `handler`). */
export const HANDLER_ENTRIES = {
  'rotation-handler': 'handler.ts',
  watchdog: 'watchdog.ts',
} as const;
export type HandlerAsset = keyof typeof HANDLER_ENTRIES;

/** Where the assets are built; lib/handler-asset.ts finds them there (or in the installed package). */
export const ASSETS_DIR = join(REPO_ROOT, 'dist', 'assets');

/** How the rotation function is bundled: everything included, minified, CommonJS for the Lambda runtime. */
export const HANDLER_BUILD_OPTIONS = {
  tsconfig: join(REPO_ROOT, 'tsconfig.json'),
  bundle: true,
  // Everything, the AWS SDK included: our pinned versions, not whatever the runtime ships.
  external: [],
  minify: true,
  // Stack traces in the logs must point into the sources, not into one long line.
  sourcemap: true,
  sourcesContent: false,
  format: 'cjs',
  platform: 'node',
  // Node 20 so the same bundle runs on the development machine for tests and benchmarks.
  target: 'node20',
  // ES module builds first: esbuild can tree-shake them (the SDK's CJS builds it cannot): a smaller bundle
  // and a faster cold start (bench/results.md).
  mainFields: ['module', 'main'],
  logLevel: 'error',
} as const satisfies BuildOptions;

/**
 * Bundles a handler (by default the rotation function's) into `outdir`: index.js, its source map, and a
 * package.json marking it CommonJS, as this repository's own package.json says ES modules. `overrides`
 * serve the benchmark's variants only. Returns the bundle's path.
 */
export async function bundleHandler(
  outdir: string,
  overrides: BuildOptions = {},
  asset: HandlerAsset = 'rotation-handler',
): Promise<string> {
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, 'index.js');
  const entryPoints = [join(REPO_ROOT, 'lambda', HANDLER_ENTRIES[asset])];
  const { metafile } = await build({
    ...HANDLER_BUILD_OPTIONS,
    entryPoints,
    outfile,
    ...overrides,
    metafile: true,
  });
  writeFileSync(join(outdir, 'package.json'), '{ "type": "commonjs" }\n');
  writeThirdPartyNotices(outdir, metafile);
  return outfile;
}

/** Where the operator CLI is built; bin/stripe-key-rotator.js imports main.js from here. */
export const CLI_DIR = join(REPO_ROOT, 'dist', 'cli');

/**
 * Builds the operator CLI into dist/cli: plain JavaScript, so it starts with no TypeScript loader; each
 * command a chunk imported only when it runs; every dependency bundled, as in the functions, so the
 * installed package runs its CLI with nothing but Node (its dependencies are this repository's dev ones).
 * `outdir` and `overrides` serve the fault campaign's mutants only.
 */
export async function bundleCli(outdir = CLI_DIR, overrides: BuildOptions = {}): Promise<void> {
  // Chunk names carry content hashes: start empty so no stale chunk is left behind.
  rmSync(outdir, { recursive: true, force: true });
  const { metafile } = await build({
    entryPoints: { main: join(REPO_ROOT, 'cli', 'main.ts') },
    outdir,
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    mainFields: ['module', 'main'],
    // CommonJS dependencies (parts of the SDK) call require() for Node's modules.
    banner: {
      js: "import { createRequire as createRequireForCjs } from 'node:module'; const require = createRequireForCjs(import.meta.url);",
    },
    // Not minified, so a stack trace points into readable code: a source map would add 1.5 MB (half the
    // CLI) to the package for what the bundle already shows.
    sourcemap: false,
    logLevel: 'error',
    ...overrides,
    metafile: true,
  });
  writeThirdPartyNotices(outdir, metafile);
}

/**
 * Writes THIRD-PARTY-NOTICES.md beside a bundle: every package the bundle holds code of, with its licence
 * and NOTICE files, as their licences ask of whoever redistributes that code (the published package, and the
 * deployed function, whose asset is this directory).
 */
function writeThirdPartyNotices(outdir: string, metafile: Metafile): void {
  const roots = new Set<string>();
  // What the bundle holds (tree-shaken inputs contribute no bytes), relative to the working directory.
  const included = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
      .map(([input]) => input),
  );
  for (const input of included) {
    // The last node_modules/ in the path is the package's own.
    const at = input.lastIndexOf('node_modules/');
    if (at === -1) continue;
    const [scope = '', name = ''] = input.slice(at + 'node_modules/'.length).split('/');
    roots.add(
      resolve(input.slice(0, at), 'node_modules', scope.startsWith('@') ? `${scope}/${name}` : scope),
    );
  }
  // Packages sharing the same licence and notice texts (most of the AWS SDK) are listed under one copy.
  const byTexts = new Map<string, string[]>();
  for (const root of [...roots].sort()) {
    const { name, version, license } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const files = readdirSync(root).filter((file) => /^(licen[cs]e|notice|copying)/i.test(file));
    const text = (file: string) =>
      readFileSync(join(root, file), 'utf8')
        .replace(/^\s*\n/, '')
        .trimEnd();
    const texts = files.sort().map((file) => ['```', text(file), '```'].join('\n'));
    const key = texts.join('\n\n') || `(${String(license)}; the package holds no licence file)`;
    byTexts.set(key, [...(byTexts.get(key) ?? []), `- ${name}@${version} (${String(license)})`]);
  }
  const sections = [...byTexts].map(([texts, packages]) => `${packages.join('\n')}\n\n${texts}`);
  const notices = `# Third-party software in this bundle\n\n${sections.join('\n\n---\n\n')}\n`;
  writeFileSync(join(outdir, 'THIRD-PARTY-NOTICES.md'), notices);
}

/** Builds every function's asset into dist/assets/<name>. */
export async function bundleAll(): Promise<void> {
  for (const asset of Object.keys(HANDLER_ENTRIES) as HandlerAsset[]) {
    await bundleHandler(join(ASSETS_DIR, asset), {}, asset);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `--functions`: only the functions' assets (what `cdk synth` needs); otherwise the CLI too.
  await bundleAll();
  if (!process.argv.includes('--functions')) await bundleCli();
}
