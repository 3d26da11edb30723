#!/usr/bin/env node
import { Command } from 'commander';
import { setLogLevel } from '../shared/log.js';
import { PACKAGE_VERSION } from '../shared/version.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerHumanLoopCommands } from './commands/humanLoop.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerTradePasswordCommands } from './commands/tradePassword.js';
import { outputOption, runProgram, tolerateClosedStdout } from './output.js';
import { defaultKeysFile } from './paths.js';

/** futucli: the operator's tool for keys, machine binding and the trade password. */
const program = new Command()
  .name('futucli')
  .version(PACKAGE_VERSION)
  .description('futu-mcp operator CLI: API keys, machine binding, trade password, policies, audit log')
  .option('--keys-file <path>', 'keys.json location', defaultKeysFile())
  .addOption(outputOption());

// Operational log lines (JSON on stderr) are for servers; an operator wants them only on request.
// Every failure a command meets reaches the operator as its own `error: …` line instead.
if (!process.env.FUTU_LOG_LEVEL) setLogLevel('error');

tolerateClosedStdout();
registerKeysCommands(program);
registerTradePasswordCommands(program);
registerPolicyCommands(program);
registerAuditCommands(program);
registerHumanLoopCommands(program);

await runProgram(program);
