// What a repository throws when the library file cannot do what was asked: the row is missing,
// a name is taken, a value is unusable. The service turns it into the API's error with the same code.
export type StoreErrorCode = 'not-found' | 'conflict' | 'bad-request'

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'StoreError'
  }
}
