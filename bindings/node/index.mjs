// ES module entry of tenure: re-exports the CommonJS wrapper (index.js).
import tenure from './index.js';

export const {
  Client,
  Lock,
  Semaphore,
  Subscription,
  Watcher,
  Election,
  Observer,
  Fence,
  FenceValidator,
  FENCE_HEADER,
  LostReason,
  SessionState,
  ErrorCode,
  TenureError,
  UnavailableError,
  TenureTimeoutError,
  LockHeldError,
  LockLostError,
  SessionExpiredError,
  SessionBlacklistedError,
  NotHolderError,
  InvalidArgumentError,
  PermissionDeniedError,
  ResourceExhaustedError,
  CancelledError,
  AlreadyHeldError,
  InternalError,
  errorClassFor,
  validateLockName,
  asyncDispose,
  dispose,
  LockMode,
} = tenure;

export default tenure;
