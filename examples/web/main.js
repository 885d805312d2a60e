// The tenure web demo: the wasm client in a page, no framework, no bundler.
// It shows the cluster live (leader, term, locks with holders, tokens and
// waiters, sessions; refreshed every second) and takes and releases a lock.
// Query parameters: endpoints=H:P,... (else /config.json), ttl=<ms> (session TTL).
import { Client, FENCE_HEADER } from 'tenure-wasm';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

/** What the page did, for people and for tests (`window.tenureDemo`). */
const demo = { states: [], events: [], client: null, lock: null };
window.tenureDemo = demo;

let client = null;
let lock = null;
let ticker = null;
let refreshing = false;

function log(text) {
  const line = `${new Date().toLocaleTimeString()}  ${text}`;
  demo.events.push(text);
  const li = document.createElement('li');
  li.textContent = line;
  $('log').prepend(li);
}

function showError(e) {
  const el = $('error');
  if (!e) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  el.textContent = `${e.name ?? 'Error'}${e.code ? ` (${e.code})` : ''}: ${e.message ?? e}`;
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
  return td;
}

function fillTable(tbody, rows, columns, empty) {
  tbody.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    cell(tr, empty, 'muted').colSpan = columns;
    tbody.append(tr);
  }
  for (const row of rows) tbody.append(row);
}

const ms = (v) => `${(v / 1000).toFixed(1)} s`;
const shortId = (id) => `${id.slice(0, 8)}…`;

async function refresh() {
  if (!client || refreshing) return;
  refreshing = true;
  try {
    const [status, locks, sessions] = await Promise.all([client.status(), client.listLocks(''), client.listSessions()]);
    $('leader').textContent = status.leaderId == null ? 'none' : `node ${status.leaderId} (${status.leaderAddr})`;
    $('term').textContent = String(status.term);
    $('commit').textContent = String(status.commitIndex);
    $('next-token').textContent = String(status.nextToken);
    $('members').textContent = status.members.map((m) => `${m.id}@${m.addr}`).join(', ');
    const mySession = lock?.isHeld() ? lock.sessionId : null;

    fillTable($('locks').tBodies[0], locks.map((l) => {
      const tr = document.createElement('tr');
      tr.dataset.lock = l.name;
      if (l.holders.some((h) => h.sessionId === mySession)) tr.className = 'mine';
      cell(tr, l.name, 'mono');
      cell(tr, l.holders.map((h) => `#${h.sessionId} · ${h.token} · ${shortId(h.ownerId)}${h.mode === 'shared' ? ' (shared)' : ''}`).join('\n') || '–', 'mono holders');
      cell(tr, l.waiters.map((w) => `#${w.sessionId}`).join(', ') || '–', 'mono waiters');
      return tr;
    }), 3, 'no lock is held or waited for');

    fillTable($('sessions').tBodies[0], sessions.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.session = String(s.sessionId);
      if (s.sessionId === mySession) tr.className = 'mine';
      cell(tr, `#${s.sessionId}`, 'mono');
      cell(tr, s.label);
      cell(tr, ms(s.ttlMs));
      cell(tr, ms(s.remainingMs));
      cell(tr, s.held.join(', ') || '–', 'mono');
      cell(tr, String(s.waiting));
      cell(tr, s.blacklisted ? 'blacklisted' : '', 'blacklisted');
      return tr;
    }), 7, 'no session');

    $('conn').textContent = 'connected';
    $('conn').className = 'muted';
    $('refreshed').textContent = new Date().toLocaleTimeString();
  } catch (e) {
    $('conn').textContent = `unreachable: ${e.message}`;
    $('conn').className = 'error';
  } finally {
    refreshing = false;
  }
}

function showLock() {
  const held = lock?.isHeld() ?? false;
  $('release').disabled = !held;
  $('remaining').textContent = held ? ms(lock.remaining()) : '–';
}

function setState(state) {
  demo.states.push(state);
  $('state').textContent = state;
  $('state').className = `state ${state}`;
}

async function connect(endpoints) {
  if (lock) await lock.release().catch(() => {});
  if (client) await client.close().catch(() => {});
  lock = null;
  // Lazy: reads open no session; the first "take lock" opens one.
  client = Client.connectLazy(endpoints, { label: 'web demo', ttlMs: Number(params.get('ttl')) || 6_000 });
  demo.client = client;
  client.onSessionState((state) => {
    setState(state);
    log(`session ${state}`);
    client.sessionId().then((id) => { $('session').textContent = id == null ? '' : `#${id}`; });
  });
  log(`connecting to ${endpoints}`);
  await refresh();
}

async function take(event) {
  event.preventDefault();
  showError(null);
  const name = $('lock-name').value.trim();
  const timeout = Number($('wait').value) || 0;
  $('take').disabled = true;
  try {
    if (lock?.isHeld()) await lock.release();
    log(`waiting up to ${timeout} ms for ${name}`);
    lock = await client.lock(name, { timeout });
    demo.lock = lock;
    $('lost').hidden = true;
    $('token').textContent = String(lock.fencingToken);
    $('token').className = 'token';
    $('owner').textContent = lock.ownerId;
    $('fence').textContent = `${FENCE_HEADER}: ${lock.fence.headerValue()}`;
    log(`holding ${name} with fencing token ${lock.fencingToken}`);
    const mine = lock;
    mine.lost.then((reason) => {
      log(`lock ${mine.name} (token ${mine.fencingToken}): ${reason}`);
      if (mine !== lock) return;
      $('token').textContent = `${mine.fencingToken} (not held)`;
      $('token').className = 'token stale';
      if (reason !== 'released') {
        $('lost').hidden = false;
        $('lost').textContent = `lost: ${reason}`;
      }
      showLock();
    });
  } catch (e) {
    showError(e);
    log(`could not take ${name}: ${e.code ?? e.name}`);
  } finally {
    $('take').disabled = false;
    showLock();
    refresh();
  }
}

async function release() {
  showError(null);
  try {
    await lock?.release();
  } catch (e) {
    showError(e);
  }
  showLock();
  refresh();
}

/** Runs the same client in a module Worker: connect, take the lock, release, close. */
function takeInWorker() {
  const worker = new Worker(new URL('worker.js', import.meta.url), { type: 'module' });
  $('worker-result').textContent = 'starting…';
  worker.onmessage = ({ data }) => {
    $('worker-result').textContent = data.text;
    $('worker-result').dataset.outcome = data.kind;
    log(`worker: ${data.text}`);
    if (data.kind !== 'progress') worker.terminate();
  };
  worker.onerror = (e) => {
    $('worker-result').textContent = `worker failed: ${e.message}`;
    $('worker-result').dataset.outcome = 'error';
  };
  worker.postMessage({ endpoints: $('endpoints').value, name: `${$('lock-name').value.trim()}/worker` });
}

async function start() {
  let endpoints = params.get('endpoints');
  if (!endpoints) {
    try {
      endpoints = (await (await fetch('config.json')).json()).endpoints;
    } catch {
      endpoints = '127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102';
    }
  }
  $('endpoints').value = endpoints;
  $('connect').addEventListener('submit', (e) => {
    e.preventDefault();
    connect($('endpoints').value.trim()).catch(showError);
  });
  $('take-form').addEventListener('submit', take);
  $('release').addEventListener('click', release);
  $('worker-take').addEventListener('click', takeInWorker);
  await connect(endpoints);
  ticker = setInterval(() => {
    refresh();
    showLock();
  }, 1_000);
  document.body.dataset.ready = 'true';
}

start().catch((e) => {
  showError(e);
  clearInterval(ticker);
});
