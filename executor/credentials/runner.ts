/**
 * Fills an action's credential-bound parameters just before pwsh gets the job. The run
 * service never sees these values, so they are not in its memory, its run records, the audit
 * or the events; they travel to pwsh on stdin with the other parameters, and every value is
 * added to the runner's mask list so that whatever the script prints, it leaves masked.
 */
import type { Logger } from 'pino';
import { DeputyError } from '../contract/index.ts';
import type { ExecutionHooks, ExecutionRequest, ExecutionResult, Runner } from '../pwsh/types.ts';
import type { AuditLog, CatalogStore, RunStore } from '../store/port.ts';
import type { CredentialVault } from './vault.ts';

export interface CredentialRunnerOptions {
  catalog: Pick<CatalogStore, 'getAction' | 'snapshot'>;
  runs: Pick<RunStore, 'get'>;
  vault: Pick<CredentialVault, 'reveal'>;
  audit: AuditLog;
  logger: Logger;
}

export function withStoredCredentials(runner: Runner, options: CredentialRunnerOptions): Runner {
  return {
    assertModeAvailable: (runAs) => runner.assertModeAvailable(runAs),
    close: () => runner.close(),
    async execute(request: ExecutionRequest, hooks?: ExecutionHooks): Promise<ExecutionResult> {
      const run = options.runs.get(request.runId);
      const bindings = run ? options.catalog.getAction(run.actionId)?.credentials : undefined;
      if (!run || !bindings || Object.keys(bindings).length === 0) return runner.execute(request, hooks);

      const parameters = { ...request.parameters };
      const maskValues = [...(request.maskValues ?? [])];
      const used: Record<string, number> = {};
      const declared = options.catalog.snapshot().credentials ?? [];
      for (const [parameter, credentialId] of Object.entries(bindings)) {
        const reference = declared.find((candidate) => candidate.id === credentialId);
        const stored = await options.vault.reveal(credentialId);
        if (!reference || !stored || stored.tenant !== reference.tenant) {
          options.logger.error({ runId: run.id, credential: credentialId, correlationId: run.correlationId }, 'stored credential missing or of another tenant');
          throw new DeputyError('DEPUTY_E_CONFLICT', {
            message: `The stored credential "${credentialId}" this action needs has no value yet. Ask an administrator to set it.`,
            detail: `credential ${credentialId}: ${!reference ? 'not declared in the catalog' : !stored ? 'no value stored' : `stored for tenant ${stored.tenant}, declared for ${reference.tenant}`}`,
          });
        }
        const secretParameter = request.secretParameters.includes(parameter);
        // A PSCredential parameter gets { username, password }; a SecureString or plain parameter the value alone.
        parameters[parameter] = stored.kind === 'pscredential' && secretParameter ? { username: stored.username ?? '', password: stored.value } : stored.value;
        maskValues.push(stored.value);
        used[credentialId] = stored.version;
      }
      await options.audit.append({
        type: 'credential.use',
        outcome: 'info',
        correlationId: run.correlationId,
        actor: run.principalId,
        subject: run.id,
        detail: { versions: used },
      });
      return runner.execute({ ...request, parameters, maskValues }, hooks);
    },
  };
}
