import type { CommandModule } from '../lib/command.js';
import account from './account/index.js';
import admin from './admin/index.js';
import agents from './agents/index.js';
import audit from './audit/index.js';
import auth from './auth/index.js';
import billing from './billing/index.js';
import chat from './chat/index.js';
import completion from './completion/index.js';
import doctor from './doctor/index.js';
import executions from './executions/index.js';
import exportCommand from './export/index.js';
import flows from './flows/index.js';
import health from './health/index.js';
import keys from './keys/index.js';
import login from './login/index.js';
import logout from './logout/index.js';
import sessions from './sessions/index.js';
import whoami from './whoami/index.js';

/**
 * Every top-level command, one folder each. A later command (keys, agents, chat, flows, executions,
 * export, audit, account, billing) is its folder plus one entry here.
 */
export const commands: readonly CommandModule[] = [
  login,
  logout,
  auth,
  whoami,
  keys,
  agents,
  flows,
  executions,
  chat,
  exportCommand,
  audit,
  account,
  billing,
  sessions,
  admin,
  health,
  doctor,
  completion,
];
