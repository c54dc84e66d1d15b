"""The server's pages: sign-in, the app (textual-serve's terminal client), and their two small scripts.

No inline script anywhere (the Content-Security-Policy allows scripts from the
server only), no third-party font or script (the page loads nothing from
elsewhere), and every value put into HTML is escaped.
"""

from __future__ import annotations

from html import escape

__all__ = ["sign_in_page", "app_page", "SIGN_IN_JS", "APP_JS", "security_headers"]

STYLE = """
body { margin: 0; background: #0c181f; color: #e8eef2; font: 16px/1.5 system-ui, sans-serif; }
main.card { max-width: 34em; margin: 12vh auto; padding: 2em; background: #12232d; border-radius: 8px; }
h1 { font-size: 1.4em; margin-top: 0; }
input[type=password] { width: 100%; box-sizing: border-box; padding: .6em; font: inherit;
  background: #0c181f; color: inherit; border: 1px solid #3b5566; border-radius: 4px; }
button { margin-top: 1em; padding: .6em 1.6em; font: inherit; color: #fff; background: #5e0ba7;
  border: none; border-radius: 4px; cursor: pointer; }
button:hover { background: #ac5af4; }
.problem { color: #ffb4a9; }
.hint { color: #9fb3c0; font-size: .9em; }
"""


def security_headers(connect: str = "'self'") -> dict[str, str]:
    """Headers every response carries: no framing, no referrer, no caching, scripts from here only."""
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:; font-src 'self'; connect-src {connect}; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",  # no-referrer would make browsers send `Origin: null`
        "Cache-Control": "no-store",
    }


def sign_in_page(problem: str | None = None) -> str:
    note = f'<p class="problem" id="problem">{escape(problem)}</p>' if problem else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>quiz · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style><script src="/signin.js" defer></script></head>
<body><main class="card">
<h1>quiz · sign in</h1>
{note}
<p>Open the sign-in link your instructor gave you, or paste its token here.
A token signs in once; then this browser stays signed in for the day.</p>
<form method="post" action="/signin" id="signin">
<input type="password" name="token" id="token" autocomplete="off" aria-label="sign-in token"
 placeholder="sign-in token" required>
<button type="submit">Sign in</button>
</form>
<p class="hint">Lost it, or it was already used? Ask your instructor for a new one.</p>
</main></body></html>
"""


def app_page(profile: str, static_url: str = "/static/") -> str:
    """The terminal page: textual-serve's client (textual.js, xterm.js) with a sign-out bar."""
    s = escape(static_url)
    who = escape(profile)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>quiz · {who}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{s}css/xterm.css">
<link rel="preload" href="{s}fonts/RobotoMono-VariableFont_wght.ttf" as="font" type="font/ttf" crossorigin>
<style>
@font-face {{ font-family: "Roboto Mono"; src: url("{s}fonts/RobotoMono-VariableFont_wght.ttf"); }}
html, body {{ margin: 0; height: 100%; background: #0c181f; color: #e8eef2;
  font: 14px system-ui, sans-serif; overflow: hidden; }}
#bar {{ height: 28px; display: flex; align-items: center; gap: 1em; padding: 0 .8em; background: #12232d; }}
#bar .who {{ flex: 1; }}
#bar form {{ margin: 0; }}
#bar button {{ font: inherit; color: #fff; background: #3b5566; border: none; border-radius: 3px;
  padding: 2px 10px; cursor: pointer; }}
/* textual.js sizes .textual-terminal to the whole window (100vw × 100vh): here it is below the bar. */
#terminal {{ position: absolute; top: 28px; left: 0; right: 0; bottom: 0; width: auto; height: auto;
  overflow: hidden; }}
.textual-terminal {{ opacity: 0; transition: opacity .3s ease-out; }}
body.-first-byte .textual-terminal {{ opacity: 1; }}
#starting {{ position: absolute; top: 40%; width: 100%; text-align: center; color: #9fb3c0; }}
body.-first-byte #starting {{ display: none; }}
#ended {{ display: none; position: absolute; left: 0; right: 0; bottom: 0; padding: .6em;
  text-align: center; background: #5e0ba7; z-index: 10; }}
body.-closed #ended {{ display: block; }}
#ended button {{ font: inherit; margin-left: 1em; }}
#start {{ display: none; }}
</style>
<script src="/app.js" defer></script>
<script src="{s}js/textual.js"></script>
</head>
<body>
<div id="bar"><span class="who">quiz · signed in as <b>{who}</b></span>
<form method="post" action="/signout"><button type="submit">Sign out</button></form></div>
<div id="starting">Starting your quiz…</div>
<div id="ended">This session has ended. <button type="button" id="reload">Start again</button></div>
<button type="button" id="start">Start</button>
<div id="terminal" class="textual-terminal" data-session-websocket-url="" data-font-size="16"></div>
</body></html>
"""


# Fills the token in from the link's #fragment (never sent to any server, so in no log),
# takes it off the address bar and history, and signs in.
SIGN_IN_JS = """\
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var m = /^#t=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
  history.replaceState(null, "", "/signin");
  if (m && !document.getElementById("problem")) {
    document.getElementById("token").value = m[1];
    document.getElementById("signin").submit();
  }
});
"""

# textual.js (a plain script, run first) sets window.onload to start the terminal; this deferred
# script holds that start until Roboto Mono is loaded, since xterm.js measures its cells once, at
# start, and a late font leaves the bottom rows off the page. The websocket goes to this page's
# own host, as wss: behind TLS, whatever proxy is in front.
APP_JS = """\
"use strict";
(function () {
  var start = window.onload;
  window.onload = null;
  var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  document.getElementById("terminal").dataset.sessionWebsocketUrl =
    scheme + "//" + window.location.host + "/ws";
  document.getElementById("reload").addEventListener("click", function () {
    window.location.replace("/");
  });
  var font = document.fonts.load('16px "Roboto Mono"');
  var late = new Promise(function (done) { setTimeout(done, 3000); });
  Promise.race([font, late]).catch(function () {}).then(function () {
    if (start) { start.call(window, new Event("load")); }
  });
})();
"""
