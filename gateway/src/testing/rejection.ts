// Test support: the error a promise rejects with, failing the test when it resolves instead.

/** Awaits `promise` and returns what it rejected with. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
