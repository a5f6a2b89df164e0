import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './app.js';

export const DASHBOARDS_DIR = join(ROOT, 'grafana', 'dashboards');

export interface PanelJson {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly { readonly expr: string; readonly refId: string; readonly datasource?: { readonly uid: string } }[];
  readonly fieldConfig?: {
    readonly defaults: { readonly thresholds?: { readonly steps: readonly { value: number | null; color: string }[] }; readonly custom?: { readonly thresholdsStyle?: { readonly mode: string } } };
    readonly overrides: readonly { readonly matcher: { readonly id: string; readonly options: string }; readonly properties: readonly { id: string; value: unknown }[] }[];
  };
}
export interface DashboardJson {
  readonly uid: string;
  readonly title: string;
  readonly editable: boolean;
  readonly panels: readonly PanelJson[];
  readonly templating: { readonly list: readonly { name: string; query: string; datasource: { uid: string } }[] };
}

/** The committed dashboards, by file name. */
export function committedDashboards(): Map<string, DashboardJson> {
  const files = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort();
  return new Map(files.map((f) => [f, JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) as DashboardJson]));
}

/** Every panel query of the committed dashboards, with where it is. */
export function panelQueries(): { dashboard: string; panel: string; refId: string; expr: string }[] {
  return [...committedDashboards().values()].flatMap((d) => d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: d.uid, panel: p.title, refId: t.refId, expr: t.expr }))));
}
