/*! Email validator widget v1: checks an <input type="email" data-validator-key="pk_..."> as it is
 * filled in. No framework, no build step. Fails open: only a verdict whose action is "block"
 * stops the form; a timeout, a network error or an "unknown" verdict never does.
 * Docs: docs/widget.md. Styles: the --evw-* CSS variables. Messages: window.emailValidatorMessages. */
(function () {
  "use strict";
  if (window.EmailValidatorWidget) return;
  var script = document.currentScript;
  var base = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var DEFAULTS = {
    checking: "",
    suggestion: "Did you mean {suggestion}?",
    blocked: "This address cannot receive email. Please use another one.",
    disposable: "Disposable addresses cannot be used here. Please use a permanent one.",
    invalid: "This does not look like an email address.",
    confirm: "Please check this address: it looks unusual.",
    confirmButton: "Use it anyway",
    confirmed: ""
  };
  var PAUSE_MS = 700; // validate after typing pauses this long
  var TIMEOUT_MS = 2500; // then give up and let the form submit (fail open)

  function messages() {
    var custom = window.emailValidatorMessages || {};
    var out = {};
    for (var name in DEFAULTS) out[name] = custom[name] != null ? custom[name] : DEFAULTS[name];
    return out;
  }

  function addStyle() {
    if (document.getElementById("evw-style")) return;
    var style = document.createElement("style");
    style.id = "evw-style";
    style.textContent =
      ".evw-msg{min-height:calc(var(--evw-line,1.5em)*var(--evw-lines,2));font-size:var(--evw-font-size,.875em);line-height:var(--evw-line,1.5em);" +
      "color:var(--evw-text,inherit);margin:var(--evw-margin,.25em 0 0)}" +
      ".evw-msg[data-state=block]{color:var(--evw-error,#b00020)}" +
      ".evw-msg[data-state=confirm]{color:var(--evw-warn,#8a5300)}" +
      ".evw-msg button{font:inherit;color:var(--evw-link,#0645ad);background:none;border:0;padding:0;" +
      "text-decoration:underline;cursor:pointer}" +
      ".evw-msg button:focus-visible{outline:2px solid var(--evw-focus,#0645ad);outline-offset:2px}";
    document.head.appendChild(style);
  }

  function attach(input) {
    if (input.evw) return input.evw;
    var key = input.getAttribute("data-validator-key");
    var endpoint = input.getAttribute("data-validator-endpoint") || base + "/v1/validate";
    var text = messages();
    var region = document.createElement("div");
    region.className = "evw-msg";
    region.id = (input.id || "evw" + Math.random().toString(36).slice(2)) + "-validator-msg";
    region.setAttribute("aria-live", "polite");
    region.setAttribute("role", "status");
    input.insertAdjacentElement("afterend", region);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + region.id);

    var verdicts = {}; // address -> verdict, so blur after a pause asks once
    var pending = null; // {email, controller, promise}
    var timer = null;
    var confirmedFor = null;
    var state = { verdict: null, email: null };

    function emit(name, detail) {
      input.dispatchEvent(new CustomEvent(name, { bubbles: true, detail: detail }));
    }

    function show(verdict, email, submitting) {
      state.verdict = verdict;
      state.email = email;
      region.textContent = "";
      var action = verdict ? verdict.action : "accept";
      region.setAttribute("data-state", verdict ? action : "none");
      input.removeAttribute("aria-invalid");
      if (action === "block") input.setAttribute("aria-invalid", "true");
      // A suggestion says it all while typing; the reason for a block comes when it stops the form.
      if (action === "block" && (submitting || !verdict.suggestion)) {
        var reasons = verdict.reasons || [];
        region.textContent = (reasons.indexOf("disposable") >= 0 ? text.disposable
          : reasons.indexOf("invalid_syntax") >= 0 ? text.invalid : text.blocked) + (verdict.suggestion ? " " : "");
      } else if (action === "confirm" && !verdict.suggestion) {
        region.textContent = confirmedFor === email ? text.confirmed : text.confirm;
      }
      if (verdict && verdict.suggestion) {
        var parts = text.suggestion.split("{suggestion}");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "evw-suggestion";
        button.textContent = verdict.suggestion;
        button.addEventListener("click", function () { accept(verdict.suggestion); });
        region.appendChild(document.createTextNode(parts[0]));
        region.appendChild(button);
        region.appendChild(document.createTextNode(parts[1] || ""));
      }
      if (email) emit("validator:verdict", { email: email, verdict: verdict });
    }

    function accept(suggestion) {
      input.value = suggestion;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
      input.focus();
      check();
    }

    function ask(email) {
      if (verdicts[email]) return Promise.resolve(verdicts[email]);
      if (pending && pending.email === email) return pending.promise;
      if (pending) pending.controller.abort(); // a stale question: its answer would be ignored anyway
      var controller = new AbortController();
      var timeout = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
      var mine = { email: email, controller: controller };
      mine.promise = fetch(endpoint, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: { "Authorization": "Bearer " + key, "Content-Type": "application/json" },
        body: JSON.stringify({ email: email, timeout_ms: 1500 }),
        signal: controller.signal
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (verdict) {
        if (verdict && verdict.status !== "unknown") verdicts[email] = verdict;
        return verdict;
      }, function () {
        return null; // network error, refusal or timeout: fail open
      }).then(function (verdict) {
        clearTimeout(timeout);
        if (pending === mine) pending = null;
        return verdict;
      });
      pending = mine;
      return mine.promise;
    }

    function check() {
      clearTimeout(timer);
      var email = input.value.trim();
      if (!email) { show(null, email); return Promise.resolve(null); }
      if (state.email === email && state.verdict) return Promise.resolve(state.verdict);
      return ask(email).then(function (verdict) {
        var shown = verdict && verdict.status !== "unknown" ? verdict : null;
        // Shown once: a pause and a blur may both be waiting for the same answer.
        if (input.value.trim() === email && !(state.email === email && state.verdict === shown)) show(shown, email);
        return verdict;
      });
    }

    input.addEventListener("blur", function () { check(); });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      if (state.email !== input.value.trim()) { state.verdict = null; state.email = null; }
      timer = setTimeout(check, PAUSE_MS);
    });

    var form = input.form;
    if (form) {
      form.addEventListener("submit", function (event) {
        var email = input.value.trim();
        var known = state.email === email ? state.verdict : verdicts[email];
        if (!email) return;
        if (!known && pending && pending.email === email) {
          event.preventDefault(); // the answer is on its way (at most TIMEOUT_MS): decide then
          pending.promise.then(function (verdict) { if (verdict && verdict.status !== "unknown") show(verdict, email); resubmit(); });
          return;
        }
        var action = known ? known.action : "accept";
        if (action === "block") {
          event.preventDefault();
          show(known, email, true);
          input.focus();
        } else if (action === "confirm" && confirmedFor !== email) {
          event.preventDefault();
          confirmedFor = email; // a second submit is the confirmation
          show(known, email);
          region.textContent = text.confirm + " ";
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = text.confirmButton;
          button.addEventListener("click", resubmit);
          region.appendChild(button);
        }
      });
    }

    function resubmit() {
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }

    input.evw = { check: check, element: region };
    return input.evw;
  }

  function attachAll() {
    addStyle();
    var inputs = document.querySelectorAll("input[data-validator-key]");
    for (var i = 0; i < inputs.length; i++) attach(inputs[i]);
  }

  window.EmailValidatorWidget = { attach: function (input) { addStyle(); return attach(input); }, attachAll: attachAll };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", attachAll);
  else attachAll();
})();
