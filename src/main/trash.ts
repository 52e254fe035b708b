// "Move the others to the trash", the desktop app's only way to remove a photo file. The keeper is
// given the albums of every copy first (in one transaction), then each copy goes to the OS trash
// (recoverable there) and leaves the library. A copy the OS would not trash stays where it is and
// in the library, and the answer says why.
import { desktopContract } from '../shared/contract.ts'
import type { TrashResult } from '../shared/types.ts'
import type { LookalikeService } from '../core/service.ts'

/** Electron's `shell.trashItem`, or a fake in tests. */
export type TrashItem = (file: string) => Promise<void>

export async function trashDuplicates(service: LookalikeService, input: unknown, trashItem: TrashItem): Promise<TrashResult> {
  const { keeperId, photoIds } = desktopContract.trashDuplicates.input.parse(input)
  const copies = await service.removal.handOver(keeperId, photoIds)
  const trashed: number[] = []
  const failed: TrashResult['failed'] = []
  for (const { id, file } of copies) {
    try {
      await trashItem(file)
      trashed.push(id)
    } catch (err) {
      failed.push({ path: file, reason: err instanceof Error ? err.message : String(err) })
    }
  }
  await service.removal.forget(trashed)
  return { trashed: trashed.length, failed }
}
