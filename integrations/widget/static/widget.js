/*
 * Web chat widget of the Département's assistant. Plain JavaScript, no dependency.
 *
 * Embedding: <script src="https://<gateway>/widget/widget.js" defer
 *   data-title="…" data-color="#1d4f91" data-gateway="https://<gateway>"></script>
 *
 * Protocol (integrations/channels/web.py): the first time the person opens the chat, the
 * gateway issues a conversation (POST /webhooks/web/conversations → sender + key), kept in
 * localStorage. The key goes in the X-Conversation-Key header of every request and in the
 * first frame of the WebSocket ({"type": "auth", "key"}), never in a URL. The WebSocket
 * on /webhooks/websocket?sender&after replays the stored messages after the last id seen,
 * then pushes live frames; messages are sent on it with a client_id. When the socket
 * cannot open, messages go through POST /webhooks/rest/webhook and new ones are polled
 * from GET /webhooks/rest/history. Frames without an id (older gateways) are shown all
 * the same. A key the gateway no longer knows (erased, expired) starts a new conversation.
 *
 * With data-agent="true" (the agents' page /console/agent/, same-origin, signed in) the
 * conversation is the signed-in account's own.
 *
 * The UI lives in a shadow root so the host page's CSS cannot break it (nor the reverse).
 */
(() => {
  "use strict";

  // Filled by the gateway: title, council contacts, privacy notice, limits.
  const SERVER = /*SERVER_CONFIG*/ {};

  if (window.__departementAssistant) return;
  window.__departementAssistant = true;

  const script =
    document.currentScript || document.querySelector('script[src*="/widget/widget.js"]');
  const data = (script && script.dataset) || {};
  const scriptUrl = new URL(script ? script.src : location.href, location.href);
  const GATEWAY = (data.gateway || scriptUrl.origin).replace(/\/+$/, "");
  const ASSETS = new URL(".", scriptUrl).href;
  const TITLE = data.title || SERVER.title || "Assistant du Département";
  const COLOR = /^#[0-9a-f]{6}$/i.test(data.color || "") ? data.color : "#1d4f91";
  const COUNCIL = SERVER.council || { name: "Département", phone: "", hours: "", email: "" };
  const PRIVACY = SERVER.privacy || { warning: "", title: "Vos données", paragraphs: [] };
  const MAX_CHARS = SERVER.maxMessageChars || 2000;
  const AGENT = data.agent === "true";
  const LOGIN_URL = GATEWAY + "/console/login?next=" + encodeURIComponent("/console/agent/");

  const KEY = "departement-assistant:" + (AGENT ? "agent:" : "") + GATEWAY;
  const SENDER_KEY = KEY + ":sender"; // localStorage: shared by the tabs of the site
  const CONVERSATION_KEY = KEY + ":key"; // localStorage: the secret that opens it
  const KEY_HEADER = "X-Conversation-Key";
  // Codes of a refused key: the conversation is gone (or another account's), start anew.
  const KEY_REFUSED = ["conversation_key_required", "invalid_conversation_key", "not_your_conversation"];
  const CLOSE_KEY_REFUSED = [4401, 4403];
  const CLOSE_TOO_MANY = 4429;
  // 503 "service_unavailable" (several gateways, Redis away a moment): nothing was stored,
  // the message is sent again after Retry-After, this many times at most.
  const UNAVAILABLE_CODE = "service_unavailable";
  const MAX_RESENDS = 20;
  const MAX_RESETS = 3;
  const CACHE_KEY = KEY + ":log"; // sessionStorage: this tab's copy, for an instant redraw
  const OPEN_KEY = KEY + ":open";
  const MAX_CACHED = 300;
  const TYPING_TIMEOUT_MS = 45000; // the gateway answers "indisponible" itself after 30 s
  const MEDIATOR_TYPING_MS = 6000; // a mediator's "écrit…" lasts this long without news
  const TYPING_EVERY_MS = 2000; // the person's typing is told a mediator at most this often
  const POLL_MS = 5000;
  const SOCKET_ATTEMPTS_BEFORE_POLLING = 3;
  const SOCKET_RETRY_WHILE_POLLING_MS = 60000;
  // Same breakpoint as widget.css: there the window covers the whole page.
  const FULL_SCREEN = window.matchMedia("(max-width: 40em), (max-height: 34em)");
  const HUMAN_PAYLOAD = "/request_human";
  const HUMAN_LABEL = "Parler à un médiateur"; // the bot's buttons say the same
  const WELCOME =
    "Bonjour ! Je suis l'assistant automatique du " +
    COUNCIL.name +
    ". Posez votre question avec vos mots, ou choisissez un sujet.";
  const WELCOME_CHOICES = [
    { title: "Ce que je sais faire", payload: "/ask_capabilities" },
    { title: "Un lieu d'aide près de chez moi", payload: "/find_digital_place" },
  ];
  const CONNECTION_LOST = "Connexion perdue. Nouvelle tentative en cours…";
  const AUTHOR_NAMES = { user: "Vous", bot: "Assistant", system: "Information" };

  // ---------------------------------------------------------------- storage

  const store = {
    get(area, key) {
      try {
        return window[area].getItem(key);
      } catch (err) {
        return null; // storage disabled: the widget still works for this page
      }
    },
    set(area, key, value) {
      try {
        if (value === null) window[area].removeItem(key);
        else window[area].setItem(key, value);
      } catch (err) {
        /* full or disabled: nothing to keep */
      }
    },
  };

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** The kept conversation: its sender and key, or nulls (none, or from before keys). */
  function keptConversation() {
    const sender = store.get("localStorage", SENDER_KEY);
    const key = store.get("localStorage", CONVERSATION_KEY);
    return sender && key ? { sender, key } : { sender: null, key: null };
  }

  // ---------------------------------------------------------------- state

  const kept = keptConversation();
  const state = {
    sender: kept.sender,
    key: kept.key,
    issuing: null, // the pending request for a new conversation
    issueAttempts: 0,
    issueTimer: null,
    resets: 0,
    messages: [], // {id?, author, text, buttons?, image?, clientId?, label?, name?, pending?}
    owner: "bot",
    queuePosition: null,
    mediator: null,
    socket: null,
    socketAttempts: 0,
    reconnectTimer: null,
    pollTimer: null,
    polling: false,
    pollingSince: 0,
    historySupported: true,
    typingTimer: null,
    typingSent: 0,
    open: false,
    unread: 0,
    inert: [], // page elements made inert while the window covers the page
    survey: false, // « Cette réponse vous a-t-elle aidé ? » (SURVEY_ENABLED on the gateway)
  };

  function lastId() {
    return state.messages.reduce((max, m) => (typeof m.id === "number" && m.id > max ? m.id : max), 0);
  }

  function saveCache() {
    const kept = state.messages.slice(-MAX_CACHED).map((m) => ({ ...m, pending: undefined }));
    store.set("sessionStorage", CACHE_KEY, JSON.stringify({ sender: state.sender, messages: kept }));
  }

  function loadCache() {
    try {
      const cached = JSON.parse(store.get("sessionStorage", CACHE_KEY) || "null");
      if (cached && cached.sender === state.sender && Array.isArray(cached.messages)) {
        return cached.messages;
      }
    } catch (err) {
      /* a damaged cache is only a cache */
    }
    return [];
  }

  // ---------------------------------------------------------------- colours

  /** Black or white, whichever reads better on ``hex`` (WCAG contrast >= 4.5 either way). */
  function textColorOn(hex) {
    const channel = (i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#ffffff" : "#000000";
  }

  // ---------------------------------------------------------------- DOM

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  /** A plain button (never a submit): its class, its words and what a click does. */
  function button(className, text, onclick) {
    return el("button", { type: "button", class: className, text, onclick });
  }

  const host = el("div", { id: "departement-assistant", lang: "fr" });
  host.style.setProperty("--da-primary", COLOR);
  host.style.setProperty("--da-on-primary", textColorOn(COLOR));
  const root = host.attachShadow({ mode: "open" });

  const stylesheet = el("link", { rel: "stylesheet", href: ASSETS + "widget.css" });
  const launcherLabel = el("span", { text: "Une question ? Discutons" });
  const launcherBadge = el("span", { class: "badge", hidden: true });
  const launcher = el(
    "button",
    {
      type: "button",
      class: "launcher",
      hidden: true, // until the stylesheet is there
      "aria-expanded": "false",
      "aria-controls": "da-panel",
    },
    icon(),
    launcherLabel,
    launcherBadge,
  );

  const title = el("h2", { id: "da-title", class: "title", text: TITLE });
  const who = el("p", { class: "who", id: "da-who" });
  const closeButton = el(
    "button",
    { type: "button", class: "close", "aria-label": "Fermer la discussion", title: "Fermer" },
    el("span", { "aria-hidden": "true", text: "×" }),
  );
  const connection = el("p", { class: "connection", role: "status" });

  const log = el("div", {
    class: "log",
    role: "log",
    "aria-labelledby": "da-title",
    tabindex: "0",
  });
  const typing = el(
    "p",
    { class: "typing", hidden: true },
    el("span", { class: "dots", "aria-hidden": "true" }, el("span"), el("span"), el("span")),
    el("span", { class: "typing-text", text: "L'assistant écrit…" }),
  );
  const typingText = typing.querySelector(".typing-text");

  const input = el("textarea", {
    id: "da-input",
    rows: "1",
    maxlength: String(MAX_CHARS),
    autocomplete: "off",
    placeholder: "Écrivez votre question…",
  });
  const sendButton = el("button", { type: "submit", class: "send", text: "Envoyer" });
  const form = el(
    "form",
    { class: "composer", onsubmit: onSubmit },
    el("label", { for: "da-input", class: "visually-hidden", text: "Votre message" }),
    input,
    sendButton,
  );

  const humanButton = button("secondary human", HUMAN_LABEL, () => {
    send(HUMAN_PAYLOAD, HUMAN_LABEL);
    input.focus();
  });
  const clearButton = button("secondary", "Effacer la conversation", askClear);
  const privacyButton = button("secondary", PRIVACY.title, () => showPrivacy(true));
  // Agents sign in to the console, whose agents' page gives this widget as an agent.
  const agentLink = AGENT
    ? null
    : el(
        "p",
        { class: "agent-login" },
        "Vous êtes agent ? ",
        el("a", { href: LOGIN_URL, text: "Se connecter" }),
      );
  const actions = el(
    "div",
    { class: "actions" },
    humanButton,
    clearButton,
    privacyButton,
    agentLink,
  );

  const confirmYes = button("danger", "Oui, tout effacer", clearConversation);
  const confirmNo = button("secondary", "Annuler", () => cancelClear(true));
  const confirmBox = el(
    "div",
    { class: "confirm", hidden: true, role: "group", "aria-labelledby": "da-confirm-text" },
    el("p", {
      id: "da-confirm-text",
      text: "Effacer tous les messages de cette conversation, ici et chez nous ?",
    }),
    el("div", { class: "confirm-buttons" }, confirmYes, confirmNo),
  );

  const privacyTitle = el("h3", { id: "da-privacy-title", tabindex: "-1", text: PRIVACY.title });
  const privacyBack = button("secondary", "Retour à la conversation", () => showPrivacy(false));
  const privacy = el(
    "section",
    { id: "da-privacy", class: "privacy", hidden: true, "aria-labelledby": "da-privacy-title" },
    privacyTitle,
    ...PRIVACY.paragraphs.map((p) => el("p", { text: p })),
    privacyBack,
  );

  const conversation = el("div", { class: "conversation" }, log, typing, form, confirmBox, actions);
  const panel = el(
    "section",
    {
      id: "da-panel",
      class: "panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "da-title",
      "aria-describedby": "da-who",
      hidden: true,
      onkeydown: onPanelKey,
    },
    el("header", {}, el("div", { class: "heading" }, title, who), closeButton),
    connection,
    conversation,
    privacy,
  );

  root.append(stylesheet, launcher, panel);

  function icon() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute(
      "d",
      "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    );
    svg.append(path);
    return svg;
  }

  // ---------------------------------------------------------------- text with links

  const LINK = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]{1,2000})\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?»"'])/g;

  /** ``text`` as DOM nodes: Markdown links and bare URLs become links, never HTML. */
  function richText(text) {
    const fragment = document.createDocumentFragment();
    let at = 0;
    for (const match of text.matchAll(LINK)) {
      fragment.append(text.slice(at, match.index));
      const href = match[2] || match[3];
      const label = match[1] || match[3];
      fragment.append(
        el(
          "a",
          { href, target: "_blank", rel: "noopener noreferrer" },
          label,
          el("span", { class: "visually-hidden", text: " (nouvelle fenêtre)" }),
        ),
      );
      at = match.index + match[0].length;
    }
    fragment.append(text.slice(at));
    return fragment;
  }

  // ---------------------------------------------------------------- messages

  /** The words shown for a user's message: a button's title rather than its payload. */
  function userLabel(message) {
    if (message.label) return message.label;
    const text = message.text || "";
    if (!text.startsWith("/")) return text;
    if (text === HUMAN_PAYLOAD) return HUMAN_LABEL;
    for (const other of state.messages) {
      const choice = (other.buttons || []).find((b) => b.payload === text);
      if (choice) return choice.title;
    }
    const welcome = WELCOME_CHOICES.find((b) => b.payload === text);
    return welcome ? welcome.title : text;
  }

  function authorName(message) {
    if (message.author === "mediator") return message.name || "Médiateur";
    return AUTHOR_NAMES[message.author] || AUTHOR_NAMES.bot;
  }

  function renderMessage(message) {
    const author = ["user", "bot", "mediator", "system"].includes(message.author)
      ? message.author
      : "bot";
    const item = el("div", { class: "message " + author });
    if (typeof message.id === "number") item.dataset.id = String(message.id);
    if (message.clientId) item.dataset.clientId = message.clientId;
    const visibleName = author === "mediator";
    item.append(
      el("p", {
        class: visibleName ? "author" : "author visually-hidden",
        text: authorName(message) + (visibleName ? "" : " :"),
      }),
    );
    const text = author === "user" ? userLabel(message) : message.text || "";
    if (text) {
      item.append(el("p", { class: "text" }, author === "user" ? text : richText(text)));
    }
    if (message.image) {
      item.append(el("img", { src: message.image, alt: "Image envoyée par l'assistant" }));
    }
    item.append(timeOf(message));
    if (author === "bot" && typeof message.id === "number" && !message.noFeedback) {
      item.append(state.survey ? surveyQuestion(message) : feedbackButton(message));
    }
    return item;
  }

  /** When the message was written (stored by the gateway, else when shown here). */
  function timeOf(message) {
    if (!message.at) message.at = new Date().toISOString();
    const date = new Date(message.at);
    const shown = date.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
    return el("p", { class: "time" }, el("time", { datetime: message.at, text: shown }));
  }

  function feedbackButton(message) {
    if (message.feedback) {
      return el("p", { class: "feedback-done", text: "Merci, c'est noté." });
    }
    const flag = button("feedback", "Cette réponse ne m'aide pas", () =>
      sendFeedback(message, flag),
    );
    return flag;
  }

  async function sendFeedback(message, flag) {
    flag.disabled = true;
    try {
      const response = await fetch(GATEWAY + "/webhooks/rest/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", [KEY_HEADER]: state.key || "" },
        body: JSON.stringify({ sender: state.sender, message_id: message.id, rating: "down" }),
      });
      if (response.ok) {
        message.feedback = "down";
      } else {
        message.noFeedback = true; // not a rated answer (or an older gateway)
      }
    } catch (err) {
      flag.disabled = false;
      return;
    }
    saveCache();
    const replacement = message.noFeedback ? null : feedbackButton(message);
    if (replacement) flag.replaceWith(replacement);
    else flag.remove();
    input.focus();
  }

  // The optional survey, instead of the feedback button when the gateway enables it.
  // « Non » also tells the administrators which answer did not help (the feedback).
  function surveyQuestion(message) {
    if (message.survey) {
      return el("p", { class: "feedback-done", text: "Merci pour votre réponse." });
    }
    const question = el("p", { class: "survey-question", text: "Cette réponse vous a-t-elle aidé ?" });
    const group = el("div", { class: "survey", role: "group" });
    question.id = "survey-" + message.id;
    group.setAttribute("aria-labelledby", question.id);
    const yes = button("survey-answer", "Oui", () => sendSurvey(message, group, true));
    const no = button("survey-answer", "Non", () => sendSurvey(message, group, false));
    group.append(question, yes, no);
    return group;
  }

  async function sendSurvey(message, group, helpful) {
    for (const b of group.querySelectorAll("button")) b.disabled = true;
    try {
      const response = await fetch(GATEWAY + "/webhooks/rest/survey", {
        method: "POST",
        headers: { "Content-Type": "application/json", [KEY_HEADER]: state.key || "" },
        body: JSON.stringify({ sender: state.sender, message_id: message.id, helpful }),
      });
      if (!response.ok) {
        message.noFeedback = true;
        group.remove();
        return;
      }
      if (!helpful) {
        await fetch(GATEWAY + "/webhooks/rest/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json", [KEY_HEADER]: state.key || "" },
          body: JSON.stringify({ sender: state.sender, message_id: message.id, rating: "down" }),
        });
      }
    } catch (err) {
      for (const b of group.querySelectorAll("button")) b.disabled = false;
      return;
    }
    message.survey = helpful ? "oui" : "non";
    saveCache();
    group.replaceWith(surveyQuestion(message));
    input.focus();
  }

  async function loadSurvey() {
    try {
      const response = await fetch(GATEWAY + "/widget/survey");
      const body = response.ok ? await response.json() : {};
      if (body.enabled === true && !state.survey) {
        state.survey = true;
        renderAll();
      }
    } catch (err) {
      // an older gateway, or unreachable: the feedback button stays
    }
  }

  function renderChoices(buttons) {
    return el(
      "div",
      { class: "choices", role: "group", "aria-label": "Réponses proposées" },
      ...buttons.map((b) =>
        button("choice", b.title, () => {
          send(b.payload, b.title);
          input.focus();
        }),
      ),
    );
  }

  /** Quick replies only under the last message, and only while it is the bot's. */
  function refreshChoices() {
    for (const old of log.querySelectorAll(".choices")) old.remove();
    const last = state.messages[state.messages.length - 1];
    const items = log.querySelectorAll(".message");
    if (!last) {
      const welcome = log.querySelector(".welcome");
      if (welcome) welcome.append(renderChoices(WELCOME_CHOICES));
    } else if (last.author !== "user" && last.buttons && last.buttons.length && items.length) {
      // Above the feedback button: the choices belong to the answer.
      const item = items[items.length - 1];
      item.insertBefore(renderChoices(last.buttons), item.querySelector(".feedback, .feedback-done, .survey"));
    }
  }

  function renderWelcome() {
    return el(
      "div",
      { class: "message bot welcome" },
      el("p", { class: "author visually-hidden", text: AUTHOR_NAMES.bot + " :" }),
      el("p", { class: "text", text: WELCOME }),
      PRIVACY.warning ? el("p", { class: "warning", text: PRIVACY.warning }) : null,
    );
  }

  function renderAll() {
    log.replaceChildren(renderWelcome(), ...state.messages.map(renderMessage));
    refreshChoices();
    scrollToEnd();
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function findMessage(frame) {
    if (typeof frame.id === "number") {
      const index = state.messages.findIndex((m) => m.id === frame.id);
      if (index >= 0) return { index, known: true };
    }
    if (frame.author === "user") {
      // Our own message coming back: same client_id, or the same text still pending.
      const index = state.messages.findIndex(
        (m) =>
          m.author === "user" &&
          m.id === undefined &&
          (frame.client_id
            ? m.clientId === frame.client_id
            : m.pending && m.text === frame.text),
      );
      if (index >= 0) return { index, known: false };
    }
    return null;
  }

  /** One message frame from the socket, the REST answer or the history. */
  function receive(frame) {
    const author = frame.author || "bot";
    const message = {
      id: typeof frame.id === "number" ? frame.id : undefined,
      author,
      text: typeof frame.text === "string" ? frame.text : "",
      buttons: Array.isArray(frame.buttons)
        ? frame.buttons.filter((b) => b && typeof b.title === "string" && b.payload)
        : undefined,
      image: typeof frame.image === "string" ? frame.image : undefined,
      event: frame.custom && typeof frame.custom.event === "string" ? frame.custom.event : undefined,
      clientId: frame.client_id || undefined,
      name: author === "mediator" ? frame.mediator || state.mediator || undefined : undefined,
      at: typeof frame.at === "string" ? frame.at : undefined,
    };
    const found = findMessage(frame);
    if (found && found.known) return;
    if (found) {
      // The server's copy of a message we show already: keep our words, take its id.
      const mine = state.messages[found.index];
      mine.id = message.id;
      mine.pending = false;
      if (message.at) mine.at = message.at;
      const node = log.querySelector(`[data-client-id="${CSS.escape(mine.clientId || "")}"]`);
      if (node && message.id !== undefined) node.dataset.id = String(message.id);
      const time = node && node.querySelector(".time");
      if (time) time.replaceWith(timeOf(mine));
      saveCache();
      return;
    }
    if (!message.text && !message.image && !(message.buttons && message.buttons.length)) return;
    state.messages.push(message);
    if (author !== "user") {
      hideTyping();
      if (!state.open) notifyUnread();
    }
    log.append(renderMessage(message));
    refreshChoices();
    scrollToEnd();
    saveCache();
  }

  function notifyUnread() {
    state.unread += 1;
    launcherBadge.hidden = false;
    launcherBadge.textContent =
      state.unread === 1 ? "1 nouveau message" : state.unread + " nouveaux messages";
  }

  /** A note from the widget itself (not stored by the gateway). */
  function note(text) {
    hideTyping();
    const message = { author: "system", text, local: true };
    state.messages.push(message);
    log.append(renderMessage(message));
    refreshChoices();
    scrollToEnd();
    saveCache();
  }

  function unavailableText() {
    let text = "Le service est momentanément indisponible. Merci de réessayer dans quelques minutes.";
    if (COUNCIL.phone) {
      text += ` Vous pouvez aussi appeler le ${COUNCIL.name} au ${COUNCIL.phone}`;
      text += COUNCIL.hours ? `, ${COUNCIL.hours}.` : ".";
    }
    return text;
  }

  // ---------------------------------------------------------------- who answers

  function applyState(frame) {
    if (!frame || typeof frame.owner !== "string") return;
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 8;
    state.owner = frame.owner;
    state.queuePosition = typeof frame.queue_position === "number" ? frame.queue_position : null;
    state.mediator = typeof frame.mediator === "string" && frame.mediator ? frame.mediator : null;
    if (state.owner === "waiting") {
      // The same words as the gateway's messages (integrations/handoff/texts.py).
      if (state.queuePosition === 1) {
        who.textContent = "En attente d'un médiateur : vous êtes la première personne dans la file.";
      } else if (state.queuePosition !== null) {
        const rank = `${state.queuePosition}e`;
        who.textContent = `En attente d'un médiateur : vous êtes en ${rank} position dans la file.`;
      } else {
        who.textContent = "Aucun médiateur disponible : vous pouvez laisser un message.";
      }
    } else if (state.owner === "mediator") {
      who.textContent = `${state.mediator || "Un médiateur"} vous répond.`;
    } else {
      who.textContent = "Assistant automatique. Un médiateur peut prendre le relais.";
    }
    humanButton.hidden = state.owner === "waiting" || state.owner === "mediator";
    if (state.owner !== "bot" && state.owner !== "closed") hideTyping();
    // The actions row may have grown (the button is back): the newest message stays in view.
    if (atEnd) scrollToEnd();
  }

  // ---------------------------------------------------------------- typing

  function showTyping() {
    if (state.owner === "waiting" || state.owner === "mediator") return;
    typingText.textContent = "L'assistant écrit…";
    typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  /** The mediator is writing (a ``typing`` frame): said for a few seconds. */
  function showMediatorTyping(name) {
    if (state.owner !== "mediator") return;
    typingText.textContent = `${name || state.mediator || "Le médiateur"} écrit…`;
    typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, MEDIATOR_TYPING_MS);
  }

  /** Tell the mediator the person is writing (only to a person, and not too often). */
  function sendTyping() {
    if (state.owner !== "mediator" && state.owner !== "waiting") return;
    const now = Date.now();
    if (now - state.typingSent < TYPING_EVERY_MS || !input.value.trim()) return;
    const socket = state.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      state.typingSent = now;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    typing.hidden = true;
  }

  // ---------------------------------------------------------------- connection

  function wsUrl() {
    const url = new URL(GATEWAY + "/webhooks/websocket");
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("sender", state.sender);
    url.searchParams.set("after", String(lastId()));
    return url.href;
  }

  function connect() {
    if (!state.sender || !state.key || state.socket || state.polling) return;
    clearTimeout(state.reconnectTimer);
    let opened = false;
    let socket;
    try {
      socket = new WebSocket(wsUrl());
    } catch (err) {
      startPolling();
      return;
    }
    state.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "auth", key: state.key }));
      opened = true;
      state.socketAttempts = 0;
      connectionLost(false);
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (state.socket !== socket) return; // replaced on purpose
      state.socket = null;
      if (CLOSE_KEY_REFUSED.includes(event.code)) {
        resetConversation();
        return;
      }
      if (event.code === CLOSE_TOO_MANY) {
        startPolling(); // enough sockets open in other tabs: follow by polling
        return;
      }
      if (!opened) state.socketAttempts += 1;
      if (state.socketAttempts >= SOCKET_ATTEMPTS_BEFORE_POLLING && state.historySupported) {
        startPolling();
        return;
      }
      if (opened) connectionLost(true);
      const delay = Math.min(30000, 1000 * 2 ** state.socketAttempts);
      state.reconnectTimer = setTimeout(connect, delay);
    });
  }

  /** Say when the gateway cannot be reached, and clear only that when it can again. */
  function connectionLost(lost) {
    if (lost) connection.textContent = CONNECTION_LOST;
    else if (connection.textContent === CONNECTION_LOST) connection.textContent = "";
  }

  function disconnect() {
    clearTimeout(state.reconnectTimer);
    clearTimeout(state.pollTimer);
    state.polling = false;
    state.socketAttempts = 0;
    const socket = state.socket;
    state.socket = null;
    if (socket) socket.close();
  }

  function onFrame(frame) {
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "state") applyState(frame);
    else if (frame.type === "typing") showMediatorTyping(typeof frame.mediator === "string" ? frame.mediator : "");
    else if (frame.type === "error" && (KEY_REFUSED.includes(frame.code) || frame.code === "too_many_connections")) {
      return; // the socket closes next, and its close code says what to do
    } else if (frame.type === "error" && frame.code === UNAVAILABLE_CODE && frame.client_id) {
      resendLater(frame.client_id, frame.retry_after);
    } else if (frame.type === "error") note(frame.error || "Votre message n'a pas pu être envoyé.");
    else if (frame.type === "message" || frame.type === undefined) receive(frame);
  }

  /** REST fallback: ask the history for what came after the last id, every few seconds. */
  function startPolling() {
    if (state.polling || !state.historySupported) return;
    state.polling = true;
    state.pollingSince = Date.now();
    const poll = async () => {
      if (!state.polling) return;
      const ok = await catchUp();
      connectionLost(!ok);
      if (!state.polling) return;
      if (ok && Date.now() - state.pollingSince > SOCKET_RETRY_WHILE_POLLING_MS) {
        state.polling = false; // the gateway answers again: give the socket another try
        state.socketAttempts = 0;
        connect();
      } else if (state.historySupported) {
        state.pollTimer = setTimeout(poll, POLL_MS);
      }
    };
    poll();
  }

  async function catchUp() {
    if (!state.sender || !state.key) return false;
    const url = new URL(GATEWAY + "/webhooks/rest/history");
    url.searchParams.set("sender", state.sender);
    url.searchParams.set("after", String(lastId()));
    try {
      const response = await fetch(url.href, { headers: { [KEY_HEADER]: state.key } });
      if (response.status === 401 || response.status === 403) {
        state.polling = false;
        resetConversation();
        return true;
      }
      if (response.status === 404 || response.status === 405) {
        state.historySupported = false; // an older gateway: the socket or REST answers only
        return true;
      }
      if (!response.ok) return false;
      const body = await response.json();
      for (const frame of body.messages || []) receive(frame);
      if (body.state) applyState(body.state);
      return true;
    } catch (err) {
      return false;
    }
  }

  // ---------------------------------------------------------------- sending

  async function send(text, label) {
    if (!text.trim()) return;
    if (connection.textContent !== CONNECTION_LOST) connection.textContent = "";
    const clientId = newId();
    const message = { author: "user", text, clientId, pending: true };
    if (label && label !== text) message.label = label;
    state.messages.push(message);
    log.append(renderMessage(message));
    refreshChoices();
    scrollToEnd();
    saveCache();
    showTyping();
    if (!(await ensureConversation())) {
      note(unavailableText());
      start(); // says the connection is lost, and tries again
      return;
    }
    connect();
    const socket = state.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ message: text, client_id: clientId, metadata: { locale: "fr" } }));
      return;
    }
    await sendRest(text, clientId);
  }

  /** A message the gateway refused for a moment (503): sent again, same client_id. */
  function resendLater(clientId, retryAfter) {
    const mine = state.messages.find((m) => m.clientId === clientId && m.pending);
    if (!mine) return;
    mine.resends = (mine.resends || 0) + 1;
    if (mine.resends > MAX_RESENDS) {
      note(unavailableText());
      return;
    }
    const seconds = Number(retryAfter) > 0 ? Number(retryAfter) : 2;
    setTimeout(() => {
      const socket = state.socket;
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ message: mine.text, client_id: clientId, metadata: { locale: "fr" } }));
      } else {
        sendRest(mine.text, clientId);
      }
    }, seconds * 1000);
  }

  async function sendRest(text, clientId) {
    let response;
    try {
      response = await fetch(GATEWAY + "/webhooks/rest/webhook", {
        method: "POST",
        headers: { "Content-Type": "application/json", [KEY_HEADER]: state.key },
        body: JSON.stringify({ sender: state.sender, message: text, metadata: { locale: "fr" } }),
      });
    } catch (err) {
      note(unavailableText());
      return;
    }
    if (response.status === 503) {
      resendLater(clientId, response.headers.get("Retry-After"));
      return;
    }
    if (response.status >= 500) {
      note(unavailableText());
      return;
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      /* handled below */
    }
    if ((response.status === 401 || response.status === 403) && body && KEY_REFUSED.includes(body.code)) {
      note("Cette conversation n'existe plus : une nouvelle commence. Merci de renvoyer votre message.");
      resetConversation();
      return;
    }
    if (!response.ok || !Array.isArray(body)) {
      note((body && body.error) || "Votre message n'a pas pu être envoyé.");
      return;
    }
    const mine = state.messages.find((m) => m.clientId === clientId);
    if (mine) mine.pending = false;
    for (const element of body) receive({ ...element, author: element.author || "bot" });
    hideTyping();
  }

  function onSubmit(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    input.value = "";
    send(text);
    input.focus();
  }

  input.addEventListener("input", sendTyping);

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // ---------------------------------------------------------------- clearing

  function askClear() {
    confirmBox.hidden = false;
    actions.hidden = true;
    confirmNo.focus();
  }

  function cancelClear(restoreFocus) {
    confirmBox.hidden = true;
    actions.hidden = false;
    if (restoreFocus) clearButton.focus();
  }

  async function clearConversation() {
    confirmYes.disabled = true;
    let ok = true;
    if (state.sender && state.key) {
      const url = new URL(GATEWAY + "/webhooks/rest/conversation");
      url.searchParams.set("sender", state.sender);
      try {
        const response = await fetch(url.href, {
          method: "DELETE",
          headers: { [KEY_HEADER]: state.key },
        });
        // 404: an older gateway without the route; 401 / 403: the key is gone already.
        ok = response.ok || [401, 403, 404].includes(response.status);
      } catch (err) {
        ok = false;
      }
    }
    confirmYes.disabled = false;
    cancelClear(false);
    if (!ok) {
      note("La conversation n'a pas pu être effacée pour le moment. Merci de réessayer plus tard.");
      input.focus();
      return;
    }
    forgetConversation();
    start();
    connection.textContent = "La conversation a été effacée.";
    input.focus();
  }

  /** Drop the conversation here (its id, key, messages); the next one is issued anew. */
  function forgetConversation() {
    disconnect();
    hideTyping();
    state.messages = [];
    state.sender = null;
    state.key = null;
    store.set("localStorage", SENDER_KEY, null);
    store.set("localStorage", CONVERSATION_KEY, null);
    store.set("sessionStorage", CACHE_KEY, null);
    applyState({ owner: "bot", queue_position: null, mediator: null });
    renderAll();
  }

  /** The gateway refused the key (conversation erased or expired, another account). */
  function resetConversation() {
    state.resets += 1;
    if (state.resets > MAX_RESETS) {
      note(unavailableText());
      return;
    }
    forgetConversation();
    if (state.open) start();
  }

  // ---------------------------------------------------------------- privacy notice

  function showPrivacy(show) {
    privacy.hidden = !show;
    conversation.hidden = show;
    if (show) privacyTitle.focus();
    else privacyButton.focus();
  }

  // ---------------------------------------------------------------- open / close

  /** Covering the whole page, the window is modal: the page behind leaves the Tab order. */
  function updateModality() {
    const modal = state.open && FULL_SCREEN.matches;
    panel.setAttribute("aria-modal", String(modal));
    if (modal && !state.inert.length) {
      for (const child of document.body.children) {
        if (child !== host && !child.inert) {
          child.inert = true;
          state.inert.push(child);
        }
      }
    } else if (!modal) {
      for (const child of state.inert) child.inert = false;
      state.inert = [];
    }
  }

  FULL_SCREEN.addEventListener("change", updateModality);

  /**
   * The conversation (sender and key), issued by the gateway the first time it is needed:
   * when the person opens the chat (CNIL: nothing is stored before). False when the
   * gateway cannot be reached.
   */
  function ensureConversation() {
    if (state.sender && state.key) return Promise.resolve(true);
    if (!state.issuing) {
      state.issuing = issueConversation().finally(() => {
        state.issuing = null;
      });
    }
    return state.issuing;
  }

  async function issueConversation() {
    try {
      const response = await fetch(GATEWAY + "/webhooks/web/conversations", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(AGENT ? { agent: true } : {}),
      });
      if (AGENT && response.status === 401) {
        location.assign(LOGIN_URL); // signed out meanwhile
        return false;
      }
      const body = response.ok ? await response.json() : null;
      if (!body || typeof body.sender !== "string" || typeof body.key !== "string") return false;
      state.sender = body.sender;
      state.key = body.key;
      store.set("localStorage", SENDER_KEY, body.sender);
      store.set("localStorage", CONVERSATION_KEY, body.key);
      saveCache();
      return true;
    } catch (err) {
      return false;
    }
  }

  /**
   * A conversation exists from the first opening on: connect and catch up. While the
   * gateway cannot issue one, say so and try again, as a lost socket does.
   */
  async function start() {
    clearTimeout(state.issueTimer);
    if (await ensureConversation()) {
      state.issueAttempts = 0;
      connect();
      return;
    }
    connectionLost(true);
    state.issueAttempts += 1;
    const delay = Math.min(30000, 1000 * 2 ** state.issueAttempts);
    state.issueTimer = setTimeout(() => {
      if (state.open || state.messages.length) start();
    }, delay);
  }

  function open(moveFocus) {
    state.open = true;
    store.set("sessionStorage", OPEN_KEY, "1");
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    state.unread = 0;
    launcherBadge.hidden = true;
    start();
    updateModality();
    scrollToEnd();
    if (moveFocus) input.focus();
  }

  function close() {
    state.open = false;
    store.set("sessionStorage", OPEN_KEY, null);
    if (!privacy.hidden) showPrivacy(false);
    cancelClear(false);
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    updateModality();
    launcher.focus();
  }

  function onPanelKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      if (!confirmBox.hidden) cancelClear(true);
      else close();
    }
  }

  launcher.addEventListener("click", () => open(true));
  closeButton.addEventListener("click", close);

  // ---------------------------------------------------------------- boot

  function boot() {
    const wasOpen = store.get("sessionStorage", OPEN_KEY) === "1";
    stylesheet.addEventListener("load", () => {
      if (wasOpen && state.sender) open(false); // after a navigation: open, without taking focus
      else launcher.hidden = false;
    });
    stylesheet.addEventListener("error", () => {
      launcher.hidden = false; // unstyled but usable
    });
    document.body.append(host);
    state.messages = loadCache();
    applyState({ owner: "bot" });
    renderAll();
    loadSurvey();
    // A conversation under way in this tab keeps receiving (a mediator may answer).
    if (state.sender && state.messages.length) connect();
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
