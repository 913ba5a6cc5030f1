/**
 * The local web chat page: a persona picker, a banner that says this is a local demo, and
 * botframework-webchat (its prebuilt bundle served by this bot, so it works offline) talking
 * to the bot's own Direct Line endpoint by polling.
 */
import type { Persona } from '../../executor/contract/index.ts';

export const WEBCHAT_BUNDLE_PATH = '/webchat/webchat.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** `runIsolation`: the executor's own line on how runs are isolated, shown in the demo banner. */
export function renderPage(personas: Persona[] | undefined, pollingIntervalMs: number, runIsolation?: string): string {
  const options = (personas ?? [])
    .map((persona) => {
      const label = `${persona.name} (${persona.roles.join(', ')}; ${persona.tenant})`;
      return `<option value="${escapeHtml(persona.persona)}">${escapeHtml(label)}</option>`;
    })
    .join('\n          ');
  const unavailable = personas === undefined
    ? '<p class="problem" role="alert">The executor cannot be reached, so no personas can be listed. Start it and reload this page.</p>'
    : '';
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Deputy web chat (demo)</title>
    <style>
      html, body { height: 100%; margin: 0; font-family: "Segoe UI", system-ui, sans-serif; background: #f3f2f1; }
      body { display: flex; flex-direction: column; }
      .banner { background: #fff4ce; color: #323130; border-bottom: 1px solid #c8a400; padding: 8px 16px; font-size: 14px; }
      .banner strong { color: #8a6100; }
      header { display: flex; gap: 12px; align-items: center; padding: 10px 16px; background: #fff; border-bottom: 1px solid #e1dfdd; }
      header h1 { font-size: 18px; margin: 0 12px 0 0; }
      header label { font-size: 14px; }
      header select { font-size: 14px; padding: 4px; }
      .problem { color: #a4262c; margin: 0 16px; }
      main { flex: 1; min-height: 0; display: flex; justify-content: center; }
      #webchat { width: 100%; max-width: 880px; height: 100%; background: #fff; }
    </style>
  </head>
  <body>
    <div class="banner" id="demo-banner" role="status">
      <strong>Demo mode: local only.</strong> The persona picker lets you act as anyone in the catalog;
      it exists only in demo mode on this machine's loopback address.
      ${runIsolation ? `<br><span id="run-isolation">Run isolation: ${escapeHtml(runIsolation)}.</span>` : ''}
    </div>
    <header>
      <h1>Deputy</h1>
      <label for="persona">Chat as</label>
      <select id="persona">
          <option value="">Choose a persona…</option>
          ${options}
      </select>
      <span id="status" aria-live="polite"></span>
    </header>
    ${unavailable}
    <main><div id="webchat" role="main"></div></main>
    <script src="${WEBCHAT_BUNDLE_PATH}"></script>
    <script>
      (function () {
        var picker = document.getElementById('persona');
        var status = document.getElementById('status');
        var current;

        function start(persona) {
          if (current) current.end();
          var host = document.getElementById('webchat');
          var fresh = host.cloneNode(false);
          host.parentNode.replaceChild(fresh, host);
          if (!persona) { status.textContent = ''; return; }
          status.textContent = 'Connecting…';
          fetch('/v3/directline/tokens/generate', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user: { id: persona } })
          })
            .then(function (response) {
              if (!response.ok) throw new Error('token request failed: ' + response.status);
              return response.json();
            })
            .then(function (grant) {
              current = window.WebChat.createDirectLine({
                domain: window.location.origin + '/v3/directline',
                token: grant.token,
                webSocket: false,
                pollingInterval: ${pollingIntervalMs}
              });
              window.WebChat.renderWebChat({
                directLine: current,
                userID: persona,
                username: persona,
                styleOptions: { hideUploadButton: true, sendBoxTextWrap: true, bubbleMaxWidth: 720 },
                overrideLocalizedStrings: { TEXT_INPUT_PLACEHOLDER: 'Type "help" to see what you can run' }
              }, fresh);
              status.textContent = 'Connected as ' + persona;
              var input = fresh.querySelector('input, textarea');
              if (input) input.focus();
            })
            .catch(function (error) { status.textContent = 'Could not connect: ' + error.message; });
        }

        picker.addEventListener('change', function () { start(picker.value); });
      })();
    </script>
  </body>
</html>
`;
}
