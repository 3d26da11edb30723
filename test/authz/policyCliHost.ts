/**
 * A minimal futucli host for the policy command tests, so they run as a real child process
 * whether or not the lead has wired registerPolicyCommands into futucli yet. Not a test file.
 */
import { Command } from 'commander';
import { registerPolicyCommands } from '../../src/cli/commands/policy.js';
import { outputOption, runProgram } from '../../src/cli/output.js';
import { setLogLevel } from '../../src/shared/log.js';

setLogLevel('error');
const program = new Command().name('futucli').option('--keys-file <path>', 'keys.json location').addOption(outputOption());
registerPolicyCommands(program);
await runProgram(program);
