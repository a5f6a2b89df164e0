// Shared pieces of the Vigia dashboards: the datasource, the model variable, and three
// panel kinds (time series, stat, table) built with @grafana/grafana-foundation-sdk.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export const DATASOURCE = { type: 'prometheus', uid: 'vigia-prometheus' } as const;
/** The label matcher of the model variable. */
export const MODEL = 'model="$model"';

/** A step of a Grafana threshold: from `value` up, the colour (the first step has value null). */
export interface Step { readonly value: number | null; readonly color: string }

/** A Prometheus query of a panel; `refId` names it for overrides and table columns. */
export function prom(expr: string, legend: string, refId: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).refId(refId);
}

/** The model's own thresholds for `signals`, drawn as series: the rules judge against them. */
export function thresholdSeries(signals: readonly string[], refId = 'threshold', sign = ''): DataqueryBuilder {
  return prom(`${sign}vigia_threshold{${MODEL}, signal=~"${signals.join('|')}"}`, `${sign === '' ? '' : '−'}{{signal}} {{severity}} threshold`, refId);
}

const steps = (s: readonly Step[]) => new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(s.map((x) => ({ value: x.value, color: x.color })));
const DASHED: common.LineStyle = { fill: 'dash', dash: [10, 10] };

export interface TimeseriesOptions {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly queries: readonly DataqueryBuilder[];
  /** Service-wide alert thresholds, drawn as lines. */
  readonly lines?: readonly Step[];
  /** Signals of vigia_threshold to draw: the model's own thresholds, dashed in red. */
  readonly modelThresholds?: readonly string[];
  /** refIds of further threshold queries of `queries` (`thresholdSeries`), drawn the same way. */
  readonly thresholdRefIds?: readonly string[];
  readonly stacked?: boolean;
  readonly logScale?: boolean;
  readonly span?: number;
}

export function timeseriesPanel(o: TimeseriesOptions): timeseries.PanelBuilder {
  const queries = o.modelThresholds === undefined ? o.queries : [...o.queries, thresholdSeries(o.modelThresholds)];
  const thresholdRefIds = [...(o.modelThresholds === undefined ? [] : ['threshold']), ...(o.thresholdRefIds ?? [])];
  const p = new timeseries.PanelBuilder()
    .title(o.title).description(o.description).datasource(DATASOURCE).unit(o.unit)
    .span(o.span ?? 12).height(8).targets([...queries]).lineWidth(1).fillOpacity(o.stacked === true ? 30 : 0)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom));
  if (o.stacked === true) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal).group('A'));
  if (o.logScale === true) p.scaleDistribution(new common.ScaleDistributionConfigBuilder().type(common.ScaleDistribution.Log).log(10));
  if (o.lines !== undefined) {
    p.thresholds(steps([{ value: null, color: 'transparent' }, ...o.lines])).thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  }
  for (const refId of thresholdRefIds) {
    p.overrideByQuery(refId, [
      { id: 'custom.lineStyle', value: DASHED },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ]);
  }
  return p;
}

export interface StatOptions {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly query: DataqueryBuilder;
  readonly steps: readonly Step[];
  readonly mappings?: readonly dashboard.ValueMapping[];
}

export function statPanel(o: StatOptions): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(o.title).description(o.description).datasource(DATASOURCE).unit(o.unit)
    .span(6).height(4).withTarget(o.query).thresholds(steps(o.steps));
  if (o.mappings !== undefined) p.mappings([...o.mappings]);
  return p;
}

/** A value mapping: each number shown as a word in its colour (severities, statuses). */
export function valueNames(names: Readonly<Record<string, { text: string; color: string }>>): dashboard.ValueMapping {
  const options: Record<string, dashboard.ValueMappingResult> = {};
  Object.entries(names).forEach(([value, r], index) => { options[value] = { ...r, index }; });
  return { type: dashboard.MappingType.ValueToText, options };
}

export interface TableOptions {
  readonly title: string;
  readonly description: string;
  /** One instant query per column, merged into one row per label set. */
  readonly columns: readonly { readonly name: string; readonly expr: string }[];
  /** Columns coloured by thresholds or mapped to words. */
  readonly coloured?: Readonly<Record<string, { steps?: readonly Step[]; mappings?: readonly dashboard.ValueMapping[] }>>;
  /** Labels left out of the table. */
  readonly hide: readonly string[];
}

export function tablePanel(o: TableOptions): table.PanelBuilder {
  const refId = (i: number) => String.fromCharCode(65 + i);
  const renames: Record<string, string> = {};
  o.columns.forEach((c, i) => { renames[`Value #${refId(i)}`] = c.name; });
  const excluded: Record<string, boolean> = { Time: true };
  for (const label of o.hide) excluded[label] = true;
  const p = new table.PanelBuilder()
    .title(o.title).description(o.description).datasource(DATASOURCE)
    .span(24).height(10)
    .targets(o.columns.map((c, i) => prom(c.expr, '', refId(i)).format(PromQueryFormat.Table).instant()))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({ id: 'organize', options: { excludeByName: excluded, renameByName: renames } });
  for (const [column, c] of Object.entries(o.coloured ?? {})) {
    const props: dashboard.DynamicConfigValue[] = [{ id: 'custom.cellOptions', value: { type: 'color-background' } }];
    if (c.steps !== undefined) props.push({ id: 'thresholds', value: { mode: 'absolute', steps: c.steps } });
    if (c.mappings !== undefined) props.push({ id: 'mappings', value: c.mappings });
    p.overrideByName(column, props);
  }
  return p;
}

/** The `model` variable: every loaded model, from vigia_model_info. */
export function modelVariable(): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder('model')
    .label('model')
    .description('The model to show: every model a Vigia instance has loaded.')
    .datasource(DATASOURCE)
    .query('label_values(vigia_model_info, model)')
    .definition('label_values(vigia_model_info, model)')
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

export interface DashboardOptions {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly panels: readonly (timeseries.PanelBuilder | stat.PanelBuilder | table.PanelBuilder)[];
}

/** A Vigia dashboard: read-only, linked to the others by tag, with the model variable. */
export function vigiaDashboard(o: DashboardOptions): dashboard.Dashboard {
  const d = new dashboard.DashboardBuilder(o.title)
    .uid(o.uid).description(o.description).tags(['vigia']).readonly()
    .time({ from: 'now-6h', to: 'now' }).refresh('30s').timezone('browser')
    .link(new dashboard.DashboardLinkBuilder('Vigia').type(dashboard.DashboardLinkType.Dashboards).tags(['vigia']).asDropdown(true).includeVars(true).keepTime(true))
    .withVariable(modelVariable());
  o.panels.forEach((p, i) => d.withPanel(p.id(i + 1)));
  return d.build();
}
