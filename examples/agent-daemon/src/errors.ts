/**
 * Every error the agent daemon makes, from one table (the shape of the rpc plugin's errors.ts):
 * throw sites pass only arguments; messages say what to do next.
 */
import { defineErrors } from '@echostream/kernel'

export const agentdErrors = defineErrors({
  adminOnly: {
    code: 'E_UNAUTHORIZED',
    message: (method: string) => `'${method}' is an admin operation: the runtime API never serves it. Call it on the admin listener (admin.url in the daemon config) with the admin token.`,
    data: () => ({ reason: 'admin-only' }),
  },
  agentExists: {
    code: 'E_CONFLICT',
    message: (id: string) => `An agent '${id}' exists already: change it with admin.agents.update, or remove it first.`,
  },
  agentMissing: {
    code: 'E_NOT_FOUND',
    message: (id: string) => `No agent '${id}': admin.agents.list names the agents there are.`,
  },
  noAgent: {
    code: 'E_NOT_FOUND',
    message: (conversation: string) => `No agent answers in conversation '${conversation}': add one whose conversations match it (admin.agents.add).`,
  },
  draining: {
    code: 'E_CLOSED',
    message: () => 'The daemon is shutting down and takes no new messages: retry once it is back.',
    retryable: true,
  },
  providerUnknown: {
    code: 'E_CONFIG',
    message: (provider: string, known: string[]) => `Provider '${provider}' is not one this daemon has (${known.join(', ')}).`,
  },
  agentsFile: {
    code: 'E_CONFIG',
    message: (file: string, reason: string) => `The agents file ${file} cannot be used: ${reason}. Fix or remove it (the daemon starts with no agents when it is missing).`,
  },
  notRunning: {
    code: 'E_STATE',
    message: (stateFile: string, why: string) => `agentd is not running (${why}; state file ${stateFile}). Start it with: agentd start`,
  },
  alreadyRunning: {
    code: 'E_STATE',
    message: (pid: number, adminUrl: string) => `agentd is already running (pid ${pid}, admin ${adminUrl}): stop it first with: agentd stop`,
  },
  startFailed: {
    code: 'E_STATE',
    message: (why: string, logFile: string) => `agentd did not start: ${why}. Its log is ${logFile}.`,
  },
})
