// Plugins: list loaded/disabled plugins and write DISABLED_PLUGINS (takes effect at restart).
import { request } from './api.js';
import { h, view, replace, table, errorBox, toast, toastError } from './ui.js';

const root = view();
async function load() {
  try { render((await request('GET', '/admin/-/plugins')).data); } catch (err) { replace(root, errorBox(err)); }
}
function render(state) {
  const notice = state.restart_required
    ? h('div', { class: 'notice', role: 'status', id: 'restart-notice' }, 'Restart required: plugin changes are saved to instance/config.json and take effect when Contacts Hub restarts.')
    : null;
  const env = state.env_override ? h('div', { class: 'notice' }, 'CONTACTS_HUB_DISABLED_PLUGINS is set in the environment and overrides this setting.') : null;
  const toggle = async (p) => {
    const set = new Set(state.configured_disabled);
    p.disabled_after_restart ? set.delete(p.name) : set.add(p.name);
    try {
      const res = await request('PUT', '/admin/-/plugins', { body: { disabled: [...set] } });
      toast(`${p.name} will be ${p.disabled_after_restart ? 'enabled' : 'disabled'} after a restart`);
      render(res.data);
    } catch (err) { toastError(err); }
  };
  replace(root, notice, env, table('Plugins', [
    { label: 'Plugin', cell: (p) => h('strong', {}, p.name) },
    { label: 'Kind', cell: (p) => (p.builtin ? 'Built-in' : `Third-party (${p.distribution || 'entry point'})`) },
    { label: 'Version', cell: (p) => p.version || '' },
    { label: 'Now', cell: (p) => (p.loaded ? h('span', { class: 'status-active' }, 'Loaded') : h('span', { class: 'muted' }, 'Disabled')) },
    { label: 'After restart', cell: (p) => (p.disabled_after_restart ? 'Disabled' : 'Enabled') },
    { label: 'Hooks', cell: (p) => h('span', { class: 'muted' }, p.hooks.map((x) => x.replace('contacts_hub_', '')).join(', ')) },
    { label: '', cell: (p) => (p.protected ? h('span', { class: 'muted' }, 'Required') : h('button', { type: 'button', 'data-plugin': p.name, onclick: () => toggle(p) },
      p.disabled_after_restart ? 'Enable' : 'Disable')) }], state.plugins.map((p) => ({ ...p, id: p.name }))));
}
load();
