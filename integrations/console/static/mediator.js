// Mediator console, live part: one WebSocket per page (which also marks the mediator
// online), queue refresh that keeps the focus and the open previews, alerts (sound and
// notification, settings kept in this browser, one alert per mediator whatever the
// number of tabs), live transcript, typing indicators both ways, sending with Enter.
// No library, no build step. Every action also works as a plain form without it.
(function () {
  "use strict";
  var root = document.getElementById("mediator");
  if (!root) { return; }
  var csrf = root.dataset.csrf;
  var page = root.dataset.page;
  var conversationId = root.dataset.conversation ? parseInt(root.dataset.conversation, 10) : null;
  var lastId = root.dataset.after ? parseInt(root.dataset.after, 10) : 0;
  var status = document.getElementById("live-status");
  var baseTitle = document.title;
  var knownWaiting = null;  // ids seen in the previous queue frame
  var socket = null;
  var retryMs = 1000;

  var STORE = "departement-console:";
  var SETTINGS_KEY = STORE + "alerts";
  var ALERTED_KEY = STORE + "alerted";
  var FOCUS_KEY = STORE + "focus:" + window.location.pathname;
  var WHO = { user: "Personne", bot: "Assistant", mediator: "Médiateur", system: "Info" };
  var TYPING_SHOWN_MS = 6000;
  var TYPING_EVERY_MS = 2000;

  function say(text) { if (status) { status.textContent = text; } }

  // ------------------------------------------------------------ storage (may be disabled)

  function load(key, fallback) {
    try {
      var value = JSON.parse(window.localStorage.getItem(key) || "null");
      return value === null ? fallback : value;
    } catch (err) { return fallback; }
  }

  function keep(key, value) {
    try {
      if (value === null) { window.localStorage.removeItem(key); }
      else { window.localStorage.setItem(key, JSON.stringify(value)); }
    } catch (err) { /* nothing to keep */ }
  }

  function loadSession(key) {
    try {
      var value = window.sessionStorage.getItem(key);
      window.sessionStorage.removeItem(key);
      return value;
    } catch (err) { return null; }
  }

  function keepSession(key, value) {
    try { window.sessionStorage.setItem(key, value); } catch (err) { /* nothing */ }
  }

  // ------------------------------------------------------------ alerts

  var settings = load(SETTINGS_KEY, { sound: false, notify: false });
  var audio = null;
  var soundBox = document.getElementById("alert-sound");
  var notifyBox = document.getElementById("alert-notify");

  function audioContext() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !audio) { audio = new Context(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
    return audio;
  }

  // Browsers start sound only after a gesture on the page: the first key or click does it.
  function wakeAudio() {
    if (settings.sound) { audioContext(); }
    document.removeEventListener("keydown", wakeAudio, true);
    document.removeEventListener("pointerdown", wakeAudio, true);
  }
  document.addEventListener("keydown", wakeAudio, true);
  document.addEventListener("pointerdown", wakeAudio, true);

  if (soundBox) {
    soundBox.checked = !!settings.sound;
    soundBox.addEventListener("change", function () {
      settings.sound = soundBox.checked;
      keep(SETTINGS_KEY, settings);
      if (settings.sound) { audioContext(); beep(); }
    });
  }
  if (notifyBox) {
    notifyBox.checked = !!settings.notify && window.Notification && Notification.permission === "granted";
    notifyBox.addEventListener("change", function () {
      settings.notify = notifyBox.checked;
      keep(SETTINGS_KEY, settings);
      if (settings.notify && window.Notification && Notification.permission === "default") {
        Notification.requestPermission().then(function (answer) {
          if (answer !== "granted") {
            notifyBox.checked = false;
            settings.notify = false;
            keep(SETTINGS_KEY, settings);
            say("Le navigateur refuse les notifications : autorisez-les dans ses réglages.");
          }
        });
      }
    });
  }

  // Settings changed in another tab of the console apply here too.
  window.addEventListener("storage", function (event) {
    if (event.key !== SETTINGS_KEY) { return; }
    settings = load(SETTINGS_KEY, { sound: false, notify: false });
    if (soundBox) { soundBox.checked = !!settings.sound; }
    if (notifyBox) { notifyBox.checked = !!settings.notify; }
  });

  function beep() {
    if (!settings.sound || !audio || audio.state !== "running") { return; }
    var oscillator = audio.createOscillator();
    var gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.4);
  }

  // One alert per event for the mediator, whatever the number of tabs open: the tab that
  // gets the event's lock alerts and marks the event in localStorage. It holds the lock a
  // few seconds, so that the other tabs, told of the same event meanwhile, skip it (the
  // mark reaches them with a delay: tabs synchronise localStorage asynchronously); later
  // ones see the mark.
  function alertOnce(eventKey, title, body) {
    var run = function () {
      var alerted = load(ALERTED_KEY, {});
      if (alerted[eventKey]) { return; }
      var now = Date.now();
      Object.keys(alerted).forEach(function (k) { if (now - alerted[k] > 3600000) { delete alerted[k]; } });
      alerted[eventKey] = now;
      keep(ALERTED_KEY, alerted);
      beep();
      if (settings.notify && window.Notification && Notification.permission === "granted") {
        new Notification(title, { body: body, tag: eventKey });
      }
    };
    if (navigator.locks && navigator.locks.request) {
      navigator.locks.request(STORE + "alert:" + eventKey, { ifAvailable: true }, function (lock) {
        if (!lock) { return undefined; }
        run();
        return new Promise(function (resolve) { setTimeout(resolve, 5000); });
      });
    } else {
      run();
    }
  }

  // ------------------------------------------------------------ queue

  function onQueue(frame) {
    var ids = frame.waiting.map(function (w) { return w.id; });
    document.title = (ids.length ? "(" + ids.length + ") " : "") + baseTitle;
    var fresh = knownWaiting === null ? [] : ids.filter(function (id) { return knownWaiting.indexOf(id) < 0; });
    if (fresh.length) {
      alertOnce("waiting:" + fresh.join(","), "Nouvelle demande en attente",
        ids.length === 1 ? "Une personne attend un médiateur." : ids.length + " personnes attendent un médiateur.");
    }
    knownWaiting = ids;
    if (page === "queue") { refreshLists(); }
  }

  function byKey(container, key) {
    var items = container.querySelectorAll("[data-key]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].dataset.key === key) { return items[i]; }
    }
    return null;
  }

  var refreshes = 0;
  function refreshLists() {
    var mine = ++refreshes;
    fetch("/console/queue", { credentials: "same-origin" }).then(function (response) {
      if (response.ok) { return response.text(); }
      throw new Error("HTTP " + response.status);
    }).then(function (html) {
      if (mine !== refreshes) { return; }  // a newer refresh is on its way
      var container = document.getElementById("queue-lists");
      var active = document.activeElement;
      var hadFocus = active && container.contains(active);
      var focusKey = hadFocus ? active.dataset.key || null : null;
      var open = [];
      Array.prototype.forEach.call(container.querySelectorAll("details[open]"), function (d) {
        open.push(d.dataset.key);
      });
      // Server-rendered, autoescaped HTML from our own origin.
      container.innerHTML = html;
      open.forEach(function (key) {
        var details = byKey(container, key);
        if (details) { details.open = true; }
      });
      if (hadFocus) {
        var target = (focusKey && byKey(container, focusKey)) || document.getElementById("waiting-title");
        target.focus({ preventScroll: true });
      }
    }).catch(function () { say("Impossible d'actualiser la file d'attente."); });
  }

  // ------------------------------------------------------------ transcript

  var transcriptBox = document.getElementById("transcript");
  var transcript = transcriptBox ? transcriptBox.querySelector("ol") : null;
  var typingLine = document.getElementById("typing");
  var typingTimer = null;

  function scrollToEnd() {
    if (transcriptBox) { transcriptBox.scrollTop = transcriptBox.scrollHeight; }
  }

  function nearEnd() {
    return !transcriptBox || transcriptBox.scrollHeight - transcriptBox.scrollTop - transcriptBox.clientHeight < 80;
  }

  function clock(iso) {
    var date = iso ? new Date(iso) : new Date();
    return date.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Paris" });
  }

  // The first transcript item whose data-<name> equals value. Frames carry strings the
  // citizen controls (client_id, text): they are compared, never put into a selector or
  // into HTML.
  function itemWith(name, value, onlyPending) {
    if (value === undefined || value === null || value === "") { return null; }
    var wanted = String(value);
    var items = transcript.children;
    for (var i = 0; i < items.length; i++) {
      if (onlyPending && !items[i].classList.contains("pending")) { continue; }
      if (items[i].dataset[name] === wanted) { return items[i]; }
    }
    return null;
  }

  function fill(item, author, name, at, text, label) {
    item.className = "msg msg-" + author;
    item.textContent = "";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = name;
    var time = document.createElement("time");
    if (at) { time.setAttribute("datetime", at); }
    time.textContent = clock(at);
    var body = document.createElement("span");
    body.className = "text";
    if (label) {
      var pressed = document.createElement("span");
      pressed.className = "pressed";
      pressed.textContent = "bouton";
      body.appendChild(pressed);
      body.appendChild(document.createTextNode(" « " + label + " »"));
    } else {
      body.textContent = text || "";
    }
    item.appendChild(who);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(time);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(body);
  }

  function mediatorName(frame) {
    var custom = frame.custom || {};
    return typeof custom.mediator === "string" && custom.mediator ? custom.mediator : WHO.mediator;
  }

  function addMessage(frame) {
    if (!transcript || frame.conversation_id !== conversationId) { return; }
    if (typeof frame.id !== "number" || itemWith("id", frame.id)) { return; }
    var follow = nearEnd();
    // Only this mediator's own pending bubble is replaced by its stored copy.
    var item = itemWith("clientId", frame.client_id, true);
    if (item) { follow = true; }
    else {
      item = document.createElement("li");
      transcript.appendChild(item);
    }
    var author = WHO.hasOwnProperty(frame.author) ? frame.author : "system";
    var name = author === "mediator" ? mediatorName(frame) : WHO[author];
    fill(item, author, name, frame.at, frame.text, typeof frame.label === "string" ? frame.label : null);
    item.dataset.id = String(frame.id);
    lastId = Math.max(lastId, frame.id);
    if (author === "user") { showTyping(false); }
    if (follow) { scrollToEnd(); }
  }

  function showTyping(on) {
    if (!typingLine) { return; }
    clearTimeout(typingTimer);
    typingLine.textContent = on ? "La personne écrit…" : "";
    if (on) { typingTimer = setTimeout(function () { showTyping(false); }, TYPING_SHOWN_MS); }
  }

  // The page is rendered again when who holds the conversation changes; the focus
  // goes back where it was (or to the control the new state offers).
  function reloadKeepingFocus() {
    var active = document.activeElement;
    if (active && active.id) { keepSession(FOCUS_KEY, active.id); }
    window.location.reload();
  }

  // A form of the page is being sent: the page that answers shows the new state.
  var leaving = false;
  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented) { leaving = true; }
  });

  function onConversation(frame) {
    if (frame.conversation_id !== conversationId || leaving) { return; }
    var holder = frame.mediator_id === null || frame.mediator_id === undefined ? "" : String(frame.mediator_id);
    if (frame.owner !== root.dataset.owner || (frame.owner === "mediator" && holder !== root.dataset.mediator)) {
      say("L'état de la conversation a changé : la page se met à jour.");
      reloadKeepingFocus();
    }
  }

  function onRequeued(frame) {
    var count = frame.conversations.length;
    var text = (frame.mediator || "Un médiateur") + " n'est plus en ligne : " +
      (count === 1 ? "sa conversation revient" : "ses " + count + " conversations reviennent") +
      " en tête de la file d'attente.";
    say(text);
    alertOnce("requeued:" + frame.conversations.join(","), "Conversation à reprendre", text);
  }

  function onTransferred(frame) {
    var text = (frame.from || "Un médiateur") + " vous a transmis une conversation" +
      (frame.note ? " : « " + frame.note + " »" : ".");
    say(text);
    alertOnce("transferred:" + frame.conversation_id + ":" + Date.now(), "Conversation transmise", text);
    if (page === "queue") { refreshLists(); }
  }

  // ------------------------------------------------------------ socket

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/console/ws?csrf=" + encodeURIComponent(csrf));
    socket.addEventListener("open", function () {
      retryMs = 1000;
      say("Connecté : vous êtes en ligne pour les personnes qui demandent un médiateur.");
      if (conversationId !== null) {
        send({ action: "watch", conversation_id: conversationId, after: lastId });
      }
    });
    socket.addEventListener("message", function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "queue") { onQueue(frame); }
      else if (frame.type === "presence" && page === "queue") { refreshLists(); }
      else if (frame.type === "tickets" && page === "queue") { refreshLists(); }
      else if (frame.type === "tickets" && page === "tickets") { say("Une nouvelle demande de rappel est arrivée : actualisez la page pour la voir."); }
      else if (frame.type === "message") { addMessage(frame); }
      else if (frame.type === "conversation") { onConversation(frame); }
      else if (frame.type === "typing" && frame.conversation_id === conversationId) { showTyping(true); }
      else if (frame.type === "person_left" && frame.conversation_id === conversationId) {
        showTyping(false);
        say("La personne a fermé la discussion. Elle lira vos messages si elle revient.");
      }
      else if (frame.type === "requeued") { onRequeued(frame); }
      else if (frame.type === "transferred") { onTransferred(frame); }
      else if (frame.type === "error") { say(frame.error); }
    });
    socket.addEventListener("close", function () {
      say("Connexion perdue, nouvelle tentative…");
      window.setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    });
  }

  // ------------------------------------------------------------ writing

  var chat = document.getElementById("chat");
  if (chat) {
    var box = document.getElementById("chat-text");
    var lastTyping = 0;
    chat.addEventListener("submit", function (event) {
      var text = box.value.trim();
      if (!text || !socket || socket.readyState !== WebSocket.OPEN) { return; }  // form post
      event.preventDefault();
      var clientId = "c" + Date.now().toString(36) + Math.random().toString(36).slice(2);
      var pending = document.createElement("li");
      fill(pending, "mediator", WHO.mediator, null, text, null);
      pending.classList.add("pending");
      pending.dataset.clientId = clientId;
      transcript.appendChild(pending);
      scrollToEnd();
      send({ action: "send", conversation_id: conversationId, text: text, client_id: clientId });
      box.value = "";
      box.focus();
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        chat.requestSubmit();
      }
    });
    box.addEventListener("input", function () {
      var now = Date.now();
      if (box.value.trim() && now - lastTyping > TYPING_EVERY_MS) {
        lastTyping = now;
        send({ action: "typing", conversation_id: conversationId });
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll(".canned-reply"), function (button) {
      button.addEventListener("click", function () {
        box.value = button.dataset.text;
        box.focus();
      });
    });
  }

  // ------------------------------------------------------------ start

  scrollToEnd();
  // "?done=" says what the last action did once: a later reload does not repeat it.
  if (window.location.search.indexOf("done=") >= 0 && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  }
  var kept = loadSession(FOCUS_KEY);
  if (kept) {
    // After a live reload: the same control, or the line saying the new state.
    var target = document.getElementById(kept) || document.getElementById("owner-line");
    if (target) { target.focus({ preventScroll: true }); }
  }
  connect();
}());
