// Prometheus metrics of the gateway: updates accepted/rejected by reason, round durations,
// ledger latency.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  readonly contentType: string;
  render(): Promise<string>;
  updateAccepted(): void;
  updateRejected(reason: string): void;
  updateExcluded(reason: string): void;
  roundClosed(seconds: number): void;
  ledgerLatency(fn: string, seconds: number): void;
}

/** A fresh registry (one per gateway, so tests can run several). */
export function newGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fedledger_gateway_' });
  const accepted = new Counter({
    name: 'fedledger_updates_accepted_total',
    help: 'Updates committed to the ledger through this gateway.',
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'fedledger_updates_rejected_total',
    help: 'Uploads refused before reaching the ledger, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const excluded = new Counter({
    name: 'fedledger_updates_excluded_total',
    help: 'Ledger-recorded updates left out of an aggregate, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const rounds = new Histogram({
    name: 'fedledger_round_close_seconds',
    help: 'Time to verify, aggregate and record a round close.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const ledger = new Histogram({
    name: 'fedledger_ledger_seconds',
    help: 'Ledger transaction latency (submit to commit), by function.',
    labelNames: ['fn'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [registry],
  });
  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    updateAccepted: () => accepted.inc(),
    updateRejected: (reason) => rejected.inc({ reason }),
    updateExcluded: (reason) => excluded.inc({ reason }),
    roundClosed: (seconds) => rounds.observe(seconds),
    ledgerLatency: (fn, seconds) => ledger.observe({ fn }, seconds),
  };
}
