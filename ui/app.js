// SPDX-License-Identifier: Apache-2.0
// Quiver web console. Plain JavaScript, no dependencies. Every data call is the Milvus
// REST API (POST /v2/vectordb/...); node state comes from GET /, /healthz, /readyz,
// /cluster and /metrics. The credentials typed in the header are sent with every
// request as `Authorization: Bearer <value>` (ignored by a node with auth off).
// Int64 values are asked for as strings (Accept-Type-Allow-Int64: false), so primary
// keys above 2^53 survive the round trip through JavaScript numbers.
'use strict';

(function () {
  const V2 = '/v2/vectordb/';
  const NODE_POLL_MS = 5000;
  const METRICS_POLL_MS = 2000;
  const DETAIL_POLL_MS = 3000;
  const MAX_QUERY_WINDOW = 16384;
  const SPARK_POINTS = 60;
  const VECTOR_TYPES = ['FloatVector', 'BinaryVector', 'Float16Vector', 'BFloat16Vector',
    'SparseFloatVector'];
  const WORDS = ['red', 'green', 'blue', 'amber', 'violet', 'teal', 'coral', 'olive'];

  const state = {
    creds: sessionStorage.getItem('quiver.creds') || '',
    db: 'default',
    coll: null, // collections/describe data of the selected collection
    page: 0,
    total: null,
    standalone: false, // GET /cluster: not clustered (or no such endpoint)
    metrics: null, // previous /metrics sample
    spark: [],
  };

  // ---- DOM helpers -----------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  // el('td', {class: 'x', title: 't'}, 'text', childNode, ...): never parses HTML.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) {
      if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function setBadge(id, text, kind) {
    const b = $(id);
    b.textContent = text;
    b.className = 'badge' + (kind ? ' ' + kind : '');
  }

  function notify(msg, kind) {
    const n = $('notice');
    n.textContent = msg;
    n.className = 'notice' + (kind ? ' ' + kind : '');
    n.hidden = !msg;
  }

  // Show failures of an async handler in the notice line instead of the console only.
  function guarded(fn) {
    return async (ev) => {
      if (ev && ev.preventDefault) ev.preventDefault();
      try {
        await fn(ev);
      } catch (e) {
        notify(e.message || String(e));
      }
    };
  }

  // ---- HTTP ------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(path, code, message) {
      super(path + ': ' + (code ? 'code ' + code + ': ' : '') + message);
      this.code = code;
    }
  }

  function headers(extra) {
    const h = Object.assign({}, extra);
    if (state.creds) h.Authorization = 'Bearer ' + state.creds;
    return h;
  }

  const CREDS_NEEDED = 'this node requires credentials: enter user:password or an API key above';

  function needCredentials() {
    if (!$('creds-form').classList.contains('need')) {
      $('creds-form').classList.add('need');
      $('creds').focus(); // once, so that polls do not steal the focus
    }
    notify(CREDS_NEEDED);
  }

  // POST a Milvus v2 call; body is an object or, for exact Int64 literals, JSON text.
  async function api(path, body) {
    const r = await fetch(V2 + path, {
      method: 'POST',
      headers: headers({'Content-Type': 'application/json', 'Accept-Type-Allow-Int64': 'false'}),
      body: typeof body === 'string' ? body : JSON.stringify(body || {}),
    });
    let j = null;
    try {
      j = await r.json();
    } catch (e) {
      throw new ApiError(path, 0, 'HTTP ' + r.status + ' without a JSON body');
    }
    if (r.status === 401 || j.code === 1800) {
      needCredentials();
      throw new ApiError(path, 1800, CREDS_NEEDED + ' (' + (j.message || 'HTTP 401') + ')');
    }
    if (j.code !== 0) throw new ApiError(path, j.code, j.message || 'HTTP ' + r.status);
    return j;
  }

  async function getNative(path) {
    const r = await fetch(path, {headers: headers()});
    if (r.status === 401) needCredentials();
    return r;
  }

  const withDb = (body) => Object.assign({dbName: state.db}, body);
  const inColl = (body) => withDb(Object.assign({collectionName: state.coll.collectionName}, body));

  // ---- node status -----------------------------------------------------------------------
  async function probe(path, id, okText) {
    try {
      const r = await getNative(path);
      setBadge(id, r.ok ? okText : 'HTTP ' + r.status, r.ok ? 'ok' : 'bad');
    } catch (e) {
      setBadge(id, 'down', 'bad');
    }
  }

  // /cluster is asked on every poll only while the node is in a cluster.
  async function refreshNode(withCluster) {
    await Promise.all([probe('/healthz', 'node-health', 'healthy'),
      probe('/readyz', 'node-ready', 'ready')]);
    try {
      const r = await getNative('/');
      const d = (await r.json()).data || {};
      $('node-id').textContent = d.nodeId || '?';
      $('node-version').textContent = d.version || '?';
    } catch (e) { /* the probes above already show the node as down */ }
    if (state.standalone && !withCluster) return;
    try {
      const r = await getNative('/cluster'); // a build without the cluster answers 404
      const d = r.ok ? (await r.json()).data || {} : {};
      state.standalone = r.status === 404 || d.clustered === false;
      if (state.standalone) {
        $('node-cluster').textContent = 'standalone';
      } else if (!r.ok) {
        $('node-cluster').textContent = 'HTTP ' + r.status;
      } else {
        const members = d.members || [];
        const live = members.filter((m) => m.live).length;
        $('node-cluster').textContent = live + '/' + members.length + ' peers live' +
          (d.leader ? ', leader ' + d.leader : '');
        $('node-cluster').title = members.map((m) => m.id + ' ' + m.url + (m.live ? ' live' : ' down')).join('\n');
      }
    } catch (e) {
      $('node-cluster').textContent = '?';
    }
  }

  // ---- /metrics --------------------------------------------------------------------------
  // Prometheus text -> {name: [{labels, value}]}, for the few families the glance uses.
  function parseMetrics(text) {
    const out = {};
    const line = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
    const label = /(\w+)="((?:[^"\\]|\\.)*)"/g;
    for (const ln of text.split('\n')) {
      if (!ln || ln[0] === '#' || !ln.startsWith('quiver_')) continue;
      const m = line.exec(ln);
      if (!m) continue;
      const labels = {};
      for (const l of (m[2] || '').matchAll(label)) labels[l[1]] = l[2];
      (out[m[1]] = out[m[1]] || []).push({labels, value: parseFloat(m[3])});
    }
    return out;
  }

  const IGNORED_ROUTES = new Set(['/metrics']); // the console's own polling

  function sumBy(samples, keyOf) {
    const acc = new Map();
    for (const s of samples || []) {
      if (IGNORED_ROUTES.has(s.labels.route)) continue;
      const k = keyOf(s);
      acc.set(k, (acc.get(k) || 0) + s.value);
    }
    return acc;
  }

  function sample(m) {
    const dur = 'quiver_http_request_duration_seconds';
    return {
      t: performance.now() / 1000,
      reqs: sumBy(m['quiver_http_requests_total'], (s) => s.labels.route),
      sum: sumBy(m[dur + '_sum'], (s) => s.labels.route),
      count: sumBy(m[dur + '_count'], (s) => s.labels.route),
      buckets: sumBy(m[dur + '_bucket'], (s) => s.labels.le),
      inflight: ((m['quiver_http_requests_in_flight'] || [])[0] || {}).value,
      rows: ((m['quiver_rows_inserted_total'] || [])[0] || {}).value,
    };
  }

  const total = (map) => [...map.values()].reduce((a, b) => a + b, 0);
  const delta = (now, prev, k) => (now.get(k) || 0) - (prev.get(k) || 0);

  // histogram_quantile over the interval's bucket increments (linear within a bucket).
  function quantile(q, now, prev) {
    const les = [...now.buckets.keys()].sort((a, b) => parseFloat(a) - parseFloat(b));
    const counts = les.map((le) => delta(now.buckets, prev.buckets, le));
    const n = counts[counts.length - 1];
    if (!n) return null;
    const rank = q * n;
    for (let i = 0; i < les.length; i++) {
      if (counts[i] >= rank) {
        const hi = parseFloat(les[i]);
        if (!isFinite(hi)) return parseFloat(les[i - 1] || '0');
        const lo = i ? parseFloat(les[i - 1]) : 0;
        const below = i ? counts[i - 1] : 0;
        const inBucket = counts[i] - below;
        return lo + (hi - lo) * (inBucket ? (rank - below) / inBucket : 1);
      }
    }
    return null;
  }

  const ms = (s) => (s === null || s === undefined || isNaN(s) ? '–'
    : s < 0.001 ? (s * 1e6).toFixed(0) + ' µs' : (s * 1000).toFixed(s < 0.1 ? 2 : 0) + ' ms');

  function renderSpark() {
    const pts = state.spark;
    const max = Math.max(1, ...pts);
    const step = 120 / (SPARK_POINTS - 1);
    const off = SPARK_POINTS - pts.length;
    $('m-spark').querySelector('polyline').setAttribute('points',
      pts.map((v, i) => ((off + i) * step).toFixed(1) + ',' + (29 - (v / max) * 27).toFixed(1)).join(' '));
  }

  async function refreshMetrics() {
    let now;
    try {
      const r = await getNative('/metrics');
      if (!r.ok) return;
      now = sample(parseMetrics(await r.text()));
    } catch (e) {
      return;
    }
    const prev = state.metrics;
    state.metrics = now;
    $('m-inflight').textContent = now.inflight === undefined ? '–' : now.inflight;
    $('m-rows').textContent = now.rows === undefined ? '–' : now.rows;
    if (!prev) return;
    const dt = now.t - prev.t;
    const reqs = total(now.reqs) - total(prev.reqs);
    const count = total(now.count) - total(prev.count);
    const rate = reqs / dt;
    $('m-rate').textContent = rate.toFixed(1);
    $('m-mean').textContent = count ? ms((total(now.sum) - total(prev.sum)) / count) : '–';
    $('m-quant').textContent = ms(quantile(0.5, now, prev)) + ' / ' + ms(quantile(0.99, now, prev));
    state.spark.push(rate);
    if (state.spark.length > SPARK_POINTS) state.spark.shift();
    renderSpark();
    const routes = [...now.reqs.keys()]
      .map((k) => ({route: k, n: delta(now.reqs, prev.reqs, k), c: delta(now.count, prev.count, k),
        s: delta(now.sum, prev.sum, k)}))
      .filter((x) => x.n > 0).sort((a, b) => b.n - a.n).slice(0, 6);
    $('m-routes').tBodies[0].replaceChildren(...routes.map((x) => el('tr', null,
      el('td', {title: x.route}, x.route.replace(V2, '')), el('td', null, (x.n / dt).toFixed(1)),
      el('td', null, x.c ? ms(x.s / x.c) : '–'))));
  }

  // ---- databases and collections ------------------------------------------------------------
  async function refreshDatabases() {
    const names = (await api('databases/list', {})).data || [];
    if (!names.includes(state.db)) state.db = names.includes('default') ? 'default' : names[0];
    $('db').replaceChildren(...names.map((n) => el('option', {selected: n === state.db}, n)));
  }

  async function refreshCollections() {
    const names = ((await api('collections/list', withDb({}))).data || []).sort();
    const sel = state.coll && state.coll.collectionName;
    $('collections').replaceChildren(...names.map((n) => el('li',
      {class: n === sel ? 'sel' : null, 'data-name': n, onclick: guarded(() => selectCollection(n))}, n)));
    $('no-collections').hidden = names.length > 0;
    return names;
  }

  const vectorFields = () => state.coll.fields.filter((f) => VECTOR_TYPES.includes(f.type));
  const pkField = () => state.coll.fields.find((f) => f.primaryKey);
  const param = (f, key) => ((f.params || []).find((p) => p.key === key) || {}).value;

  async function selectCollection(name) {
    const d = (await api('collections/describe', withDb({collectionName: name}))).data;
    state.coll = d;
    state.page = 0;
    for (const li of $('collections').children) li.classList.toggle('sel', li.dataset.name === name);
    $('empty-detail').hidden = true;
    $('coll').hidden = false;
    $('coll-name').textContent = name;
    $('insert-data').value = '';
    $('insert-result').textContent = '';
    $('browse-filter').value = '';
    $('search-filter').value = '';
    $('search-result').textContent = '';
    $('search-table').tHead.replaceChildren();
    $('search-table').tBodies[0].replaceChildren();
    const vf = vectorFields();
    $('search-field').replaceChildren(...vf.map((f) => el('option', null, f.name)));
    const dim = vf.length ? Number(param(vf[0], 'dim')) : 0;
    $('search-vector').value = dim ? JSON.stringify(Array(dim).fill(0).map((_, i) => (i === 0 ? 1 : 0))) : '';
    renderSchema();
    await Promise.all([refreshDetail(), browse()]);
  }

  function renderSchema() {
    const c = state.coll;
    $('coll-props').textContent = ['shards ' + c.shardsNum, 'partitions ' + c.partitionsNum,
      'dynamic field ' + (c.enableDynamicField ? 'on' : 'off'), 'consistency ' + c.consistencyLevel,
      ...(c.aliases && c.aliases.length ? ['aliases ' + c.aliases.join(', ')] : []),
      ...(c.description ? ['“' + c.description + '”'] : [])].join(' · ');
    $('schema-table').tBodies[0].replaceChildren(...c.fields.map((f) => {
      const params = (f.params || []).map((p) => p.key + '=' + p.value);
      if (f.elementType) params.unshift('element=' + f.elementType);
      const flags = [f.primaryKey && 'primary key', f.autoId && 'autoID', f.partitionKey && 'partition key',
        f.clusteringKey && 'clustering key', f.nullable && 'nullable'].filter(Boolean);
      return el('tr', null, el('td', null, f.name), el('td', null, f.type),
        el('td', null, params.join(', ')), el('td', null, flags.join(', ')));
    }));
  }

  // Row count, load state and index build progress: cheap, refreshed while shown.
  async function refreshDetail() {
    if (!state.coll) return;
    const name = state.coll.collectionName;
    const [stats, load] = await Promise.all([api('collections/get_stats', inColl({})),
      api('collections/get_load_state', inColl({}))]);
    if (!state.coll || state.coll.collectionName !== name) return;
    $('coll-rows').textContent = stats.data.rowCount;
    const ls = load.data.loadState || '';
    setBadge('coll-load', ls.replace('LoadState', '').toLowerCase() || '?',
      ls === 'LoadStateLoaded' ? 'ok' : ls === 'LoadStateLoading' ? 'warn' : 'bad');
    $('load-btn').hidden = ls === 'LoadStateLoaded';
    const idx = await Promise.all((state.coll.indexes || []).map((i) =>
      api('indexes/describe', inColl({indexName: i.indexName})).then((r) => r.data[0] || i, () => i)));
    $('index-table').tBodies[0].replaceChildren(...idx.map((i) => {
      const done = Number(i.indexedRows || 0), all = Number(i.totalRows || 0);
      return el('tr', {'data-index': i.indexName}, el('td', null, i.indexName), el('td', null, i.fieldName),
        el('td', null, i.indexType || ''), el('td', null, i.metricType || ''),
        el('td', {title: i.failReason || null}, i.indexState || ''),
        el('td', null, el('progress', {max: Math.max(all, 1), value: all ? done : 1}), ' ', done + ' / ' + all),
        el('td', null, i.pendingRows === undefined ? '' : i.pendingRows));
    }));
    if (!idx.length) {
      $('index-table').tBodies[0].replaceChildren(el('tr', null,
        el('td', {colspan: 7, class: 'muted'}, 'no index: searches are exact')));
    }
  }

  // ---- sample rows and insert ------------------------------------------------------------
  function sampleValue(type, f, i, seed) {
    const r = Math.random;
    const word = WORDS[Math.floor(r() * WORDS.length)];
    switch (type) {
      case 'Bool': return r() < 0.5;
      case 'Int8': return Math.floor(r() * 100);
      case 'Int16': case 'Int32': return Math.floor(r() * 10000);
      case 'Int64': return f.primaryKey ? seed + i : Math.floor(r() * 1e6);
      case 'Float': case 'Double': return Math.round(r() * 10000) / 100;
      case 'VarChar': case 'String': {
        const s = f.primaryKey ? 'row-' + seed.toString(36) + '-' + i : word + '-' + i;
        return s.slice(0, Number(param(f, 'max_length')) || 64);
      }
      case 'JSON': return {n: i, tag: word};
      case 'Array': {
        const cap = Math.min(3, Number(param(f, 'max_capacity')) || 3);
        return Array.from({length: cap}, () => sampleValue(f.elementType, {params: f.params}, i, seed));
      }
      case 'FloatVector': {
        const dim = Number(param(f, 'dim'));
        return Array.from({length: dim}, () => Math.round((r() * 2 - 1) * 1e4) / 1e4);
      }
      default: return undefined; // a type this console cannot make up
    }
  }

  function sampleRows(n) {
    const seed = Date.now() * 1000; // < 2^53; fresh primary keys on every click
    const rows = [];
    for (let i = 0; i < n; i++) {
      const row = {};
      for (const f of state.coll.fields) {
        if (f.autoId) continue;
        const v = sampleValue(f.type, f, i, seed);
        if (v !== undefined) row[f.name] = v;
      }
      if (state.coll.enableDynamicField) row.tag = WORDS[i % WORDS.length];
      rows.push(row);
    }
    return rows;
  }

  function onSample() {
    const n = Math.max(1, Math.min(1000, Number($('sample-count').value) || 10));
    $('insert-data').value = '[\n' + sampleRows(n).map((r) => JSON.stringify(r)).join(',\n') + '\n]';
  }

  async function onInsert() {
    const text = $('insert-data').value.trim();
    if (!text) throw new Error('nothing to insert: type rows as JSON or generate sample rows');
    let rows;
    try {
      rows = JSON.parse(text);
    } catch (e) {
      throw new Error('insert: the rows are not valid JSON: ' + e.message);
    }
    if (!Array.isArray(rows)) rows = rows && Array.isArray(rows.data) ? rows.data : [rows];
    $('insert-result').textContent = 'inserting…';
    const d = (await api('entities/insert', inColl({data: rows}))).data;
    $('insert-result').textContent = 'inserted ' + d.insertCount + ' rows';
    notify('');
    await Promise.all([refreshDetail(), browse()]);
  }

  // ---- row browser -----------------------------------------------------------------------
  function cell(v) {
    if (Array.isArray(v) && v.length > 8 && v.every((x) => typeof x === 'number')) {
      return el('td', {title: JSON.stringify(v)},
        '[' + v.slice(0, 4).map((x) => +x.toFixed(4)).join(', ') + ', … (' + v.length + ')]');
    }
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return el('td', {title: s && s.length > 40 ? s : null}, s === undefined ? '' : s);
  }

  // Columns: schema fields in order, then dynamic keys, as they appear in the rows.
  function columnsOf(rows, first) {
    const cols = [...first];
    for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
    return cols;
  }

  async function browse() {
    if (!state.coll) return;
    const size = Number($('browse-size').value);
    const filter = $('browse-filter').value.trim();
    const base = filter ? {filter} : {};
    const [page, count] = await Promise.all([
      api('entities/query', inColl(Object.assign({limit: size, offset: state.page * size,
        outputFields: ['*']}, base))),
      api('entities/query', inColl(Object.assign({outputFields: ['count(*)']}, base))),
    ]);
    const rows = page.data || [];
    state.total = Number(((count.data || [])[0] || {})['count(*)'] || 0);
    const pk = pkField().name;
    const cols = columnsOf(rows, state.coll.fields.map((f) => f.name).filter((n) =>
      rows.length === 0 || n in rows[0]));
    const t = $('rows-table');
    t.tHead.replaceChildren(el('tr', null, el('th'), ...cols.map((c) => el('th', null, c))));
    t.tBodies[0].replaceChildren(...rows.map((r) => el('tr', {'data-pk': r[pk]},
      el('td', null, el('button', {type: 'button', class: 'link similar', title: 'search like this row',
        onclick: guarded(() => searchLike(r[pk]))}, 'similar')),
      ...cols.map((c) => cell(r[c])))));
    const last = Math.max(0, Math.ceil(state.total / size) - 1);
    $('page-info').textContent = state.total ? 'page ' + (state.page + 1) + ' of ' + (last + 1) +
      ' · ' + state.total + ' rows' : 'no rows';
    $('prev-btn').disabled = state.page === 0;
    $('next-btn').disabled = state.page >= last || (state.page + 1) * size >= MAX_QUERY_WINDOW;
  }

  // ---- search ----------------------------------------------------------------------------
  // entities/get the row's stored vector, then search with it. The key goes into the
  // request text as typed, so Int64 keys are exact.
  async function searchLike(key) {
    const field = $('search-field').value;
    const pk = pkField();
    const literal = pk.type === 'VarChar' ? JSON.stringify(String(key)) : String(key);
    if (pk.type !== 'VarChar' && !/^-?\d+$/.test(literal)) throw new Error('bad primary key ' + literal);
    const body = JSON.stringify(inColl({outputFields: [field]})).replace(/}$/, ',"id":[' + literal + ']}');
    const rows = (await api('entities/get', body)).data || [];
    if (!rows.length || !Array.isArray(rows[0][field])) throw new Error('row ' + key + ' has no ' + field);
    $('search-vector').value = JSON.stringify(rows[0][field]);
    await runSearch();
    $('search-form').scrollIntoView({behavior: 'smooth', block: 'start'});
  }

  async function runSearch() {
    let vectors;
    try {
      vectors = JSON.parse($('search-vector').value);
    } catch (e) {
      throw new Error('search: the vector is not a JSON array: ' + e.message);
    }
    if (!Array.isArray(vectors) || !vectors.length) throw new Error('search: give a vector as a JSON array');
    if (!Array.isArray(vectors[0])) vectors = [vectors];
    const filter = $('search-filter').value.trim();
    const out = state.coll.fields.filter((f) => !VECTOR_TYPES.includes(f.type)).map((f) => f.name);
    if (state.coll.enableDynamicField) out.push('$meta');
    const body = {data: vectors, annsField: $('search-field').value,
      limit: Number($('search-limit').value) || 10, outputFields: out};
    if (filter) body.filter = filter;
    const t0 = performance.now();
    const j = await api('entities/search', inColl(body));
    const took = performance.now() - t0;
    const hits = j.data || [];
    const topks = j.topks || [hits.length];
    const pk = pkField().name;
    const cols = columnsOf(hits, [pk, 'distance']);
    const rows = [];
    let at = 0;
    topks.forEach((k, q) => {
      for (let i = 0; i < k; i++, at++) {
        rows.push(el('tr', null, el('td', null, vectors.length > 1 ? q + '.' + (i + 1) : i + 1),
          ...cols.map((c) => cell(c === 'distance' ? +Number(hits[at][c]).toFixed(6) : hits[at][c]))));
      }
    });
    const t = $('search-table');
    t.tHead.replaceChildren(el('tr', null, el('th', null, '#'), ...cols.map((c) => el('th', null, c))));
    t.tBodies[0].replaceChildren(...rows);
    $('search-result').textContent = hits.length + ' results in ' + took.toFixed(1) + ' ms';
    notify('');
  }

  // ---- create, load, drop ----------------------------------------------------------------
  async function onCreate() {
    const name = $('create-name').value.trim();
    const body = withDb({collectionName: name, dimension: Number($('create-dim').value),
      metricType: $('create-metric').value, autoID: $('create-autoid').checked,
      idType: $('create-idtype').value});
    if (body.idType === 'VarChar') body.params = {max_length: 64};
    const extra = $('create-extra').value.trim();
    if (extra) {
      try {
        Object.assign(body, JSON.parse(extra));
      } catch (e) {
        throw new Error('create: the extra fields are not a JSON object: ' + e.message);
      }
      if (body.schema) delete body.dimension;
    }
    await api('collections/create', body);
    $('create-name').value = '';
    notify('');
    await refreshCollections();
    await selectCollection(name);
  }

  async function onLoad() {
    await api('collections/load', inColl({}));
    await refreshDetail();
  }

  async function onDrop() {
    const name = state.coll.collectionName;
    if (!confirm('Drop collection ' + name + ' and all its rows?')) return;
    await api('collections/drop', inColl({}));
    state.coll = null;
    $('coll').hidden = true;
    $('empty-detail').hidden = false;
    await refreshCollections();
  }

  // ---- wiring ----------------------------------------------------------------------------
  async function refreshAll() {
    await refreshNode(true);
    await refreshDatabases();
    const names = await refreshCollections();
    if (state.coll && names.includes(state.coll.collectionName)) await selectCollection(state.coll.collectionName);
    else if (state.coll) {
      state.coll = null;
      $('coll').hidden = true;
      $('empty-detail').hidden = false;
    }
  }

  function poll(fn, every) {
    const tick = async () => {
      try {
        await fn();
      } catch (e) { /* shown on the next user action; a poll must not spam the notice */ }
      setTimeout(tick, every);
    };
    setTimeout(tick, every);
  }

  function start() {
    $('creds').value = state.creds;
    $('creds-form').addEventListener('submit', guarded(async () => {
      state.creds = $('creds').value.trim();
      sessionStorage.setItem('quiver.creds', state.creds);
      $('creds-form').classList.remove('need');
      notify('');
      await refreshAll();
    }));
    $('db').addEventListener('change', guarded(async () => {
      state.db = $('db').value;
      state.coll = null;
      $('coll').hidden = true;
      $('empty-detail').hidden = false;
      await refreshCollections();
    }));
    $('create-form').addEventListener('submit', guarded(onCreate));
    $('sample-btn').addEventListener('click', onSample);
    $('insert-form').addEventListener('submit', guarded(onInsert));
    $('browse-form').addEventListener('submit', guarded(() => { state.page = 0; return browse(); }));
    $('browse-size').addEventListener('change', guarded(() => { state.page = 0; return browse(); }));
    $('prev-btn').addEventListener('click', guarded(() => { state.page = Math.max(0, state.page - 1); return browse(); }));
    $('next-btn').addEventListener('click', guarded(() => { state.page++; return browse(); }));
    $('search-form').addEventListener('submit', guarded(runSearch));
    $('load-btn').addEventListener('click', guarded(onLoad));
    $('refresh-btn').addEventListener('click', guarded(() => selectCollection(state.coll.collectionName)));
    $('drop-btn').addEventListener('click', guarded(onDrop));
    guarded(refreshAll)();
    refreshMetrics();
    poll(() => refreshNode(false), NODE_POLL_MS);
    poll(refreshMetrics, METRICS_POLL_MS);
    poll(refreshDetail, DETAIL_POLL_MS);
    document.body.dataset.ready = '1'; // for tests: handlers are wired
  }

  start();
})();
