// Limits of the REST API: body sizes and how long a signing session lives.

/** Limits the REST API enforces. */
export interface AppLimits {
  /** Largest update or model upload, bytes. */
  maxUploadBytes: number;
  /** Largest JSON body, bytes. */
  maxJsonBytes: number;
  /** Seconds a signing session stays valid. */
  submissionTtlSeconds: number;
}

export const DEFAULT_LIMITS: AppLimits = {
  maxUploadBytes: 64 * 1024 * 1024,
  maxJsonBytes: 256 * 1024,
  submissionTtlSeconds: 300,
};
