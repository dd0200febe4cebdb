/**
 * esbuild settings of the rotation handler's bundle beyond the construct's defaults, shared with
 * bench/cold-start.ts and the bundled-handler emulator test so that both measure and run what is deployed.
 */

/**
 * Packages' ES module builds first: esbuild can drop the AWS SDK commands nobody imports from them, not from
 * the CommonJS builds (bench/README.md: 1.41 → 1.07 MB).
 */
export const HANDLER_MAIN_FIELDS: readonly string[] = ['module', 'main'];

/**
 * The AWS SDK credential providers other than the environment one, left out of the bundle. Lambda hands the
 * function its role's credentials in environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), which the SDK's default chain reads first, so it never loads these (they are imported
 * lazily); if it ever did, Node would find them in the Lambda runtime's own SDK (its NODE_PATH includes
 * /var/runtime/node_modules). Everything else, the rest of the SDK included, is bundled at our pinned versions.
 * Saves 138 KB and about 12 ms of every cold start (bench/README.md).
 */
export const CREDENTIAL_PROVIDERS_LEFT_TO_THE_RUNTIME: readonly string[] = [
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@smithy/credential-provider-imds',
];
