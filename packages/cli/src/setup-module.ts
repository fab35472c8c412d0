import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CustodyError } from '@custody/core';
import type { ReplaySetup } from '@custody/replay';
import { UsageError } from './usage-error.js';

/** Options of {@link loadReplaySetup}: what tests swap out. */
export interface LoadReplaySetupOptions {
  /** Imports a module by file URL. Default: dynamic `import()`. */
  readonly importModule?: (url: string) => Promise<unknown>;
  /** Whether a TypeScript loader (tsx) is active. Default: read from the process's flags. */
  readonly typescriptLoader?: boolean;
}

const TYPESCRIPT = /\.[cm]?tsx?$/i;

/** The hint printed when node cannot import a TypeScript setup module. */
export const TYPESCRIPT_SETUP_HINT =
  'run custody under tsx so it can import TypeScript: NODE_OPTIONS="--import tsx" custody eval …, ' +
  'or node --import tsx <path to custody> eval …; or point --setup at compiled JavaScript';

function typescriptLoaderActive(): boolean {
  return /\btsx\b/.test([...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '));
}

function isReplaySetup(value: unknown): value is ReplaySetup {
  const setup = value as Partial<ReplaySetup> | null | undefined;
  return typeof setup?.agent === 'function' && Array.isArray(setup.tools);
}

/**
 * Imports the module `--setup` names (relative to the working directory) and returns the replay
 * setup it exports, as its default export or as `replaySetup`. A TypeScript module that node
 * cannot import (no tsx) is a usage error that says how to run custody under tsx.
 */
export async function loadReplaySetup(
  specifier: string,
  options: LoadReplaySetupOptions = {},
): Promise<ReplaySetup> {
  const path = resolve(specifier);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UsageError(
      `--setup ${specifier} does not exist (looked at ${path}); give the module exporting your replay setup`,
    );
  }
  const importModule = options.importModule ?? ((url: string) => import(url));
  let exports: Record<string, unknown>;
  try {
    exports = (await importModule(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    const message = error instanceof Error ? error.message : String(error);
    const loader = options.typescriptLoader ?? typescriptLoaderActive();
    // Plain node refuses the extension, or (with type stripping) fails on the .js specifiers TypeScript uses.
    if (
      TYPESCRIPT.test(path) &&
      (code === 'ERR_UNKNOWN_FILE_EXTENSION' ||
        (!loader && typeof code === 'string' && /^ERR_(MODULE_NOT_FOUND|UNSUPPORTED_)/.test(code)))
    ) {
      throw new UsageError(
        `--setup ${specifier} is TypeScript and node cannot import it (${message}): ${TYPESCRIPT_SETUP_HINT}`,
      );
    }
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `--setup ${specifier} failed to load: ${error instanceof Error ? (error.stack ?? message) : message}`,
      { cause: error },
    );
  }
  const nested = exports.default as Record<string, unknown> | undefined;
  // A CommonJS module arrives as `default` holding its exports.
  const candidates = [exports.default, exports.replaySetup, nested?.default, nested?.replaySetup];
  const setup = candidates.find(isReplaySetup);
  if (setup) return setup;
  const names = Object.keys(exports).sort();
  throw new UsageError(
    `--setup ${specifier} exports no replay setup: export defineReplaySetup({ tools, agent }) as its default export or as "replaySetup" (it exports ${names.length ? names.join(', ') : 'nothing'})`,
  );
}
