import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { dashboardJson, dashboards } from '../../tools/dashboards/index.js';
import { ROOT } from '../helpers/app.js';
import { committedDashboards, DASHBOARDS_DIR } from '../helpers/dashboards.js';

const UID = 'vigia-prometheus';

describe('Grafana dashboards and provisioning', () => {
  it('commits exactly the JSON the generator writes (npm run dashboards)', () => {
    const generated = dashboards();
    assert.deepEqual(readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort(), Object.keys(generated).sort());
    for (const [file, d] of Object.entries(generated)) {
      assert.equal(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'), dashboardJson(d), `${file} is not what the generator writes: run npm run dashboards`);
    }
  });

  it('gives each dashboard its stable uid, read-only, with the model variable from vigia_model_info', () => {
    const uids = [...committedDashboards().values()].map((d) => d.uid).sort();
    assert.deepEqual(uids, ['vigia-business', 'vigia-drift', 'vigia-performance', 'vigia-service']);
    for (const d of committedDashboards().values()) {
      assert.equal(d.editable, false, d.uid);
      const model = d.templating.list.find((v) => v.name === 'model');
      assert.equal(model?.query, 'label_values(vigia_model_info, model)', d.uid);
      assert.equal(model?.datasource.uid, UID, d.uid);
    }
  });

  it('gives every panel a title, a description, unique ids and the provisioned datasource', () => {
    for (const d of committedDashboards().values()) {
      const ids = d.panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${d.uid}: panel ids repeat`);
      for (const p of d.panels) {
        assert.ok(p.title.length > 3, `${d.uid}: a panel without a title`);
        assert.ok((p.description ?? '').length > 20, `${d.uid} / ${p.title}: no description`);
        assert.equal(p.datasource?.uid, UID, `${d.uid} / ${p.title}`);
        assert.ok((p.targets ?? []).length > 0, `${d.uid} / ${p.title}: no query`);
        for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, UID, `${d.uid} / ${p.title} / ${t.refId}`);
      }
    }
  });

  it('draws every per-model threshold query dashed, and every service-wide alert threshold as a line', () => {
    const lines = new Set<number>();
    for (const d of committedDashboards().values()) {
      for (const p of d.panels) {
        for (const t of p.targets ?? []) {
          if (!t.expr.includes('vigia_threshold{')) continue;
          const o = p.fieldConfig?.overrides.find((x) => x.matcher.id === 'byFrameRefID' && x.matcher.options === t.refId);
          assert.ok(o?.properties.some((x) => x.id === 'custom.lineStyle'), `${d.uid} / ${p.title}: threshold query ${t.refId} is not drawn dashed`);
        }
        const steps = p.fieldConfig?.defaults.thresholds?.steps ?? [];
        if (p.type === 'timeseries' && steps.length > 0) {
          assert.equal(p.fieldConfig?.defaults.custom?.thresholdsStyle?.mode, 'dashed', `${d.uid} / ${p.title}`);
          for (const s of steps) if (s.value !== null) lines.add(s.value);
        }
      }
    }
    // The literals of service.rules.yml: latency, error ratios, traffic.
    for (const v of [0.15, 0.2, 0.3, 1, 0.05, 0.01, 5]) assert.ok(lines.has(v), `no panel draws the threshold ${v}`);
  });

  it('provisions the datasource with the dashboards\' uid and the dashboards read-only from the mounted folder', () => {
    const ds = parse(readFileSync(join(ROOT, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')) as { datasources: { uid: string; type: string; url: string }[] };
    assert.deepEqual(ds.datasources.map((x) => [x.uid, x.type, x.url]), [[UID, 'prometheus', 'http://prometheus:9090']]);
    const provider = parse(readFileSync(join(ROOT, 'grafana', 'provisioning', 'dashboards', 'vigia.yml'), 'utf8')) as { providers: { allowUiUpdates: boolean; disableDeletion: boolean; options: { path: string } }[] };
    assert.equal(provider.providers.length, 1);
    assert.equal(provider.providers[0]!.allowUiUpdates, false);
    assert.equal(provider.providers[0]!.options.path, '/var/lib/grafana/dashboards');
  });
});
