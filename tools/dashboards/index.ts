// The Vigia dashboards, by the file they are written to in grafana/dashboards/.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { businessDashboard } from './business.js';
import { driftDashboard } from './drift.js';
import { performanceDashboard } from './performance.js';
import { serviceDashboard } from './service.js';

export function dashboards(): Record<string, dashboard.Dashboard> {
  return {
    'vigia-service.json': serviceDashboard(),
    'vigia-drift.json': driftDashboard(),
    'vigia-performance.json': performanceDashboard(),
    'vigia-business.json': businessDashboard(),
  };
}

/** The text of a dashboard file: what `npm run dashboards` writes and the test compares. */
export const dashboardJson = (d: dashboard.Dashboard): string => `${JSON.stringify(d, null, 2)}\n`;
