import { createRequire } from 'node:module';

/** This package's version (package.json), for every bin's --version and the MCP server info. */
export const PACKAGE_VERSION: string = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
