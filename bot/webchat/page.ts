/**
 * The local web chat page: a persona picker, a banner that says this is a local demo, and
 * botframework-webchat (its prebuilt bundle served by this bot, so it works offline) talking
 * to the bot's own Direct Line endpoint by polling.
 */
import type { Persona } from '../../executor/contract/index.ts';

export const WEBCHAT_BUNDLE_PATH = '/webchat/webchat.js';
export const FAVICON_PATH = '/favicon.svg';
/** Deputy's mark: a shield with a prompt. */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><path d="M32 3 8 12v18c0 15 10 27 24 31 14-4 24-16 24-31V12z" fill="#4f52b2"/><path d="m20 24 10 8-10 8" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/><path d="M34 42h12" stroke="#fff" stroke-width="5" stroke-linecap="round"/></svg>';
/** Where the page remembers the persona chosen last, so a reload continues that conversation. */
const PERSONA_KEY = 'deputy.webchat.persona';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * The page. `bundleVersion` goes into the bundle's URL, so the browser may cache it for good.
 * The persona's name is the label (the catalog's names already say who they are); roles and
 * tenant are the option's tooltip. `runIsolation`: the executor's own line on how runs are
 * isolated, shown in the demo banner.
 */
export function renderPage(personas: Persona[] | undefined, pollingIntervalMs: number, bundleVersion = '', runIsolation?: string): string {
  const options = (personas ?? [])
    .map((persona) => {
      const details = `${persona.roles.join(', ')}; tenant ${persona.tenant}`;
      return `<option value="${escapeHtml(persona.persona)}" title="${escapeHtml(details)}">${escapeHtml(persona.name)}</option>`;
    })
    .join('\n          ');
  const bundleUrl = `${WEBCHAT_BUNDLE_PATH}${bundleVersion ? `?v=${encodeURIComponent(bundleVersion)}` : ''}`;
  const unavailable = personas === undefined
    ? '<p class="problem" role="alert">The executor cannot be reached, so no personas can be listed. Start it and reload this page.</p>'
    : '';
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Deputy web chat (demo)</title>
    <link rel="icon" type="image/svg+xml" href="${FAVICON_PATH}">
    <style>
      html, body { height: 100%; margin: 0; font-family: "Segoe UI", system-ui, sans-serif; background: #f3f2f1; }
      body { display: flex; flex-direction: column; }
      .banner { background: #fff4ce; color: #323130; border-bottom: 1px solid #c8a400; padding: 8px 16px; font-size: 14px; }
      .banner strong { color: #8a6100; }
      header { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; padding: 10px 16px; background: #fff; border-bottom: 1px solid #e1dfdd; }
      header h1 { font-size: 18px; margin: 0 12px 0 0; }
      header label { font-size: 14px; }
      header select { font-size: 14px; padding: 4px; min-width: 0; max-width: 100%; }
      #status { font-size: 13px; color: #605e5c; }
      @media (max-width: 480px) {
        .banner { padding: 6px 10px; font-size: 13px; }
        header { padding: 8px 10px; }
        header h1 { font-size: 16px; margin-right: 4px; }
        header select { flex: 1 1 160px; }
        #status { flex-basis: 100%; }
      }
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
    <script src="${bundleUrl}"></script>
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
          var key = new URLSearchParams(window.location.hash.slice(1)).get('key') || '';
          fetch('/v3/directline/tokens/generate', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-deputy-webchat-key': key },
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
                // The browser's language goes with every activity: forms show help in it when the script has it.
                locale: window.navigator.language || 'en-US',
                styleOptions: { uploadAccept: '.ps1', uploadMultiple: false, sendBoxTextWrap: true, bubbleMaxWidth: 720 },
                overrideLocalizedStrings: { TEXT_INPUT_PLACEHOLDER: 'Type "help" to see what you can run' }
              }, fresh);
              status.textContent = 'Connected as ' + persona;
              var input = fresh.querySelector('input, textarea');
              if (input) input.focus();
            })
            .catch(function (error) { status.textContent = 'Could not connect: ' + error.message; });
        }

        function remember(persona) {
          try { if (persona) localStorage.setItem('${PERSONA_KEY}', persona); else localStorage.removeItem('${PERSONA_KEY}'); } catch (e) { /* storage off: nothing to remember */ }
        }

        picker.addEventListener('change', function () { remember(picker.value); start(picker.value); });

        // The bot keeps one conversation per persona: after a reload, the last persona's
        // conversation comes back with its whole history (and runs still going keep updating).
        var last = null;
        try { last = localStorage.getItem('${PERSONA_KEY}'); } catch (e) { last = null; }
        if (last && Array.prototype.some.call(picker.options, function (option) { return option.value === last; })) {
          picker.value = last;
          start(last);
        }
      })();
    </script>
  </body>
</html>
`;
}
