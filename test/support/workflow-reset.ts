// A completed run executed again, as "Reset" in the Temporal UI does it: the workflow reset to the
// end of its first workflow task, and the new run's result awaited.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { RunSummary } from '../../src/activities/types.ts';
import { uniqueName } from './services.ts';

/** Resets the workflow of `handle` to its first workflow task (`reason` in its history); the re-run's summary. */
export async function rerunFromFirstTask(
  client: Client,
  handle: WorkflowHandle<() => Promise<RunSummary>>,
  reason: string,
): Promise<RunSummary> {
  const history = await handle.fetchHistory();
  const firstTask = history.events?.find((e) => e.workflowTaskCompletedEventAttributes);
  const { runId } = await client.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId: handle.workflowId, runId: (await handle.describe()).runId },
    workflowTaskFinishEventId: firstTask!.eventId,
    reason,
    requestId: uniqueName('reset'),
  });
  return (await client.workflow.getHandle(handle.workflowId, runId ?? undefined).result()) as RunSummary;
}
