// Mediator console, live part: one WebSocket per page (which also marks the mediator
// online), queue refresh with title counter, sound and notification for a new waiting
// conversation, live transcript and sending. No library, no build step.
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
  var audio = null;
  var socket = null;
  var retryMs = 1000;

  var WHO = { user: "Personne", bot: "Assistant", mediator: "Médiateur", system: "Info" };

  function say(text) { if (status) { status.textContent = text; } }

  function beep() {
    if (!audio) { return; }
    var oscillator = audio.createOscillator();
    var gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.4);
  }

  function notify(count) {
    beep();
    if (window.Notification && Notification.permission === "granted") {
      new Notification("Nouvelle conversation en attente", {
        body: count + " personne(s) en attente d'un médiateur.", tag: "file-attente"
      });
    }
  }

  var alerts = document.getElementById("alerts");
  if (alerts) {
    alerts.addEventListener("click", function () {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context && !audio) { audio = new Context(); }
      if (audio && audio.state === "suspended") { audio.resume(); }
      if (window.Notification && Notification.permission === "default") {
        Notification.requestPermission();
      }
      alerts.textContent = "Alertes activées";
      alerts.disabled = true;
    });
  }

  function onQueue(frame) {
    var ids = frame.waiting.map(function (w) { return w.id; });
    document.title = (ids.length ? "(" + ids.length + ") " : "") + baseTitle;
    var fresh = knownWaiting !== null && ids.some(function (id) { return knownWaiting.indexOf(id) < 0; });
    if (fresh) { notify(ids.length); }
    knownWaiting = ids;
    if (page === "queue") { refreshLists(); }
  }

  function refreshLists() {
    fetch("/console/queue", { credentials: "same-origin" }).then(function (response) {
      if (response.ok) { return response.text(); }
      throw new Error("HTTP " + response.status);
    }).then(function (html) {
      // Server-rendered, autoescaped HTML from our own origin.
      document.getElementById("queue-lists").innerHTML = html;
    }).catch(function () { say("Impossible d'actualiser la file d'attente."); });
  }

  var transcript = document.getElementById("transcript");

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

  function addMessage(frame) {
    if (!transcript || frame.conversation_id !== conversationId) { return; }
    if (typeof frame.id !== "number" || itemWith("id", frame.id)) { return; }
    // Only this mediator's own pending bubble is replaced by its stored copy.
    var item = itemWith("clientId", frame.client_id, true);
    if (!item) {
      item = document.createElement("li");
      transcript.appendChild(item);
    }
    var author = WHO.hasOwnProperty(frame.author) ? frame.author : "system";
    item.className = "msg msg-" + author;
    item.dataset.id = String(frame.id);
    item.textContent = "";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = WHO[author];
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = frame.text || "";
    item.appendChild(who);
    item.appendChild(text);
    lastId = Math.max(lastId, frame.id);
    transcript.scrollTop = transcript.scrollHeight;
  }

  function onConversation(frame) {
    if (frame.conversation_id !== conversationId) { return; }
    if (frame.owner !== root.dataset.owner) {
      say("L'état de la conversation a changé : la page se met à jour.");
      window.location.reload();
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/console/ws?csrf=" + encodeURIComponent(csrf));
    socket.addEventListener("open", function () {
      retryMs = 1000;
      say("Connecté : vous êtes en ligne pour les personnes qui demandent un médiateur.");
      if (conversationId !== null) {
        socket.send(JSON.stringify({ action: "watch", conversation_id: conversationId, after: lastId }));
      }
    });
    socket.addEventListener("message", function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "queue") { onQueue(frame); }
      else if (frame.type === "tickets" && page === "queue") { refreshLists(); }
      else if (frame.type === "message") { addMessage(frame); }
      else if (frame.type === "conversation") { onConversation(frame); }
      else if (frame.type === "error") { say(frame.error); }
    });
    socket.addEventListener("close", function () {
      say("Connexion perdue, nouvelle tentative…");
      window.setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    });
  }

  var chat = document.getElementById("chat");
  if (chat) {
    var box = document.getElementById("chat-text");
    chat.addEventListener("submit", function (event) {
      var text = box.value.trim();
      if (!text || !socket || socket.readyState !== WebSocket.OPEN) { return; }  // form post
      event.preventDefault();
      var clientId = "c" + Date.now().toString(36) + Math.random().toString(36).slice(2);
      var pending = document.createElement("li");
      pending.className = "msg msg-mediator pending";
      pending.dataset.clientId = clientId;
      pending.textContent = text;
      transcript.appendChild(pending);
      socket.send(JSON.stringify({ action: "send", conversation_id: conversationId, text: text, client_id: clientId }));
      box.value = "";
      box.focus();
    });
    Array.prototype.forEach.call(document.querySelectorAll(".canned-reply"), function (button) {
      button.addEventListener("click", function () {
        box.value = button.dataset.text;
        box.focus();
      });
    });
  }

  connect();
}());
