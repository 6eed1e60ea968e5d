// The video call inside the staff and resident pages (see docs/media.md).
//
// Each side connects to the server, which relays the other side: one POST of the offer
// (made after ICE gathering completes, so the answer needs no trickle ICE), the answer
// back whole. A connection that fails (or stays "disconnected" for a moment) first tries
// an ICE restart on the same RTCPeerConnection, through the same offer endpoint: tracks,
// transceivers and the page stay as they are, so audio is back in about a second. Only if
// that does not connect within a few seconds is the connection re-made with a fresh offer,
// after a growing pause (1 s, 2 s, 4 s … up to 30 s) so a restarting server is not hammered.
// ICE servers (TURN credentials minted per connection, short-lived) are fetched each time.
// Staff also scan codes from the resident's video and take document stills.
(function () {
  "use strict";
  const root = document.getElementById("call");
  if (!root || !window.RTCPeerConnection) {
    if (root) setText(root.querySelector('[data-call="state"]'), "このブラウザはビデオ通話に対応していません", "error");
    return;
  }
  const $ = (name) => root.querySelector(`[data-call="${name}"]`);
  const csrf =
    root.dataset.csrf || (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const staff = root.dataset.role === "staff";
  const STATES = {
    idle: "通話していません",
    connecting: "接続中…",
    connected: "通話中",
    lost: "切断—再接続しています",
    ended: "通話を終了しました",
    refused: "通話に入れません。ページを開き直してください",
    nodevice: "カメラ・マイクが使えません。ブラウザの設定で許可してから、ページを開き直してください",
    elsewhere: "別の画面（タブ）で通話を始めたため、この画面の通話は終了しました",
  };
  // The resident's page has an English interface (body.lang-en) and says who it connects to.
  const RESIDENT_STATES = {
    ja: { idle: "職員と接続中", connecting: "職員と接続中" },
    en: {
      idle: "Connecting to the staff member",
      connecting: "Connecting to the staff member",
      connected: "In the call",
      lost: "Connection lost — reconnecting",
      ended: "The call has ended",
      refused: "Cannot join the call. Please reopen the page",
      nodevice: "No microphone or camera can be used. You can still read and check the forms on this screen",
      elsewhere: "The call moved to another tab of this browser",
    },
  };
  const MIC = { ja: ["マイクを切る", "マイクを入れる"], en: ["Mute microphone", "Unmute microphone"] };
  const CAMERA = { ja: ["カメラを切る", "カメラを入れる"], en: ["Turn camera off", "Turn camera on"] };
  const lang = () => (!staff && document.body.classList.contains("lang-en") ? "en" : "ja");
  function stateText(state) {
    if (staff) return STATES[state];
    return (RESIDENT_STATES[lang()] || {})[state] || STATES[state];
  }
  const DISCONNECT_GRACE_MS = 1500; // "disconnected" often recovers by itself within a second
  const RESTART_TIMEOUT_MS = 5000; // an ICE restart that has not connected by then: rebuild
  // The server sends media all the time (video at 5 fps or more even when the other side
  // is away), so nothing received for this long means the path is gone; the browser itself
  // says "disconnected" only after about 5 s.
  const SILENCE_MS = 2000;
  const MAX_BACKOFF_MS = 30000;

  let stream = null;
  let pc = null;
  let wanted = false;
  let attempt = 0;
  let retryTimer = null;
  let graceTimer = null;
  let restartTimer = null;
  let restartTried = false; // one ICE restart per trouble; then a full reconnect
  let connections = 0;
  let restarts = 0;
  let watchdog = null;
  let qualityTimer = null;
  let videoMode = "full"; // what this page's camera sends: paused, capped, full, sharp
  let modeChangedAt = 0;
  let previousOwn = null;
  let micOn = true;
  let cameraOn = true;

  function setText(el, text, state) {
    if (!el) return;
    el.textContent = text;
    if (state) el.dataset.state = state;
  }

  function setState(state) {
    setText($("state"), stateText(state), state);
    root.dataset.state = state;
    const toggle = $("toggle");
    if (toggle) toggle.textContent = wanted ? "通話を終了" : "通話を開始";
  }

  async function localMedia() {
    if (stream) return stream;
    // Audio matters more than picture: keep the camera at VGA and ~20 fps to spare the
    // server (it decodes every stream) and the uplink; clean the voice in the browser.
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: audio,
        video: {
          width: { ideal: 640, max: 640 },
          height: { ideal: 480, max: 480 },
          frameRate: { ideal: 20, max: 20 },
        },
      });
    } catch (error) {
      // No camera (or it is refused): the call goes on with the voice only, which is not
      // an error for the person; without a microphone either, connect() says so.
      stream = await navigator.mediaDevices.getUserMedia({ audio: audio });
      root.classList.add("audio-only");
    }
    $("self").srcObject = stream;
    applyTracks();
    $("mic").disabled = false;
    $("camera").disabled = false;
    return stream;
  }

  function applyTracks() {
    if (!stream) return;
    stream.getAudioTracks().forEach((t) => (t.enabled = micOn));
    stream.getVideoTracks().forEach((t) => (t.enabled = cameraOn));
    const mic = $("mic");
    mic.setAttribute("aria-pressed", String(!micOn));
    mic.textContent = MIC[lang()][micOn ? 0 : 1];
    mic.classList.toggle("off", !micOn);
    const camera = $("camera");
    camera.setAttribute("aria-pressed", String(!cameraOn));
    camera.textContent = CAMERA[lang()][cameraOn ? 0 : 1];
    camera.hidden = stream.getVideoTracks().length === 0;
    camera.classList.toggle("off", !cameraOn);
    root.classList.toggle("camera-off", !cameraOn);
  }

  function iceGathered(conn) {
    return new Promise((resolve) => {
      if (conn.iceGatheringState === "complete") return resolve();
      const done = () => {
        if (conn.iceGatheringState !== "complete") return;
        conn.removeEventListener("icegatheringstatechange", done);
        resolve();
      };
      conn.addEventListener("icegatheringstatechange", done);
      // Host candidates gather in milliseconds; an unreachable STUN server must not hold
      // the call: send what there is after 5 s.
      setTimeout(resolve, 5000);
    });
  }

  function closePeer() {
    clearTimeout(graceTimer);
    clearTimeout(restartTimer);
    clearInterval(watchdog);
    clearInterval(qualityTimer);
    watchdog = null;
    qualityTimer = null;
    restartTimer = null;
    restartTried = false;
    if (pc) {
      const old = pc;
      pc = null;
      old.close();
    }
  }

  class Refused extends Error {}

  function refused() {
    // The session ended (resident left, staff logged out): retrying cannot help.
    wanted = false;
    closePeer();
    setState("refused");
  }

  async function freshIceServers() {
    // TURN credentials are minted for each connection and expire: never reuse old ones.
    if (!root.dataset.iceUrl) return [];
    const response = await fetch(root.dataset.iceUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (response.status === 401 || response.status === 403) throw new Refused();
    if (!response.ok) throw new Error("ice servers: " + response.status);
    return (await response.json()).iceServers || [];
  }

  // Offer (after ICE gathering), POST it, apply the answer; for a new connection and an
  // ICE restart alike (the server answers both at the same endpoint).
  async function negotiate(conn, options) {
    await conn.setLocalDescription(await conn.createOffer(options));
    await iceGathered(conn);
    if (pc !== conn) return;
    const response = await fetch(root.dataset.offerUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      credentials: "same-origin",
      body: JSON.stringify({ sdp: conn.localDescription.sdp, type: conn.localDescription.type }),
    });
    if (response.status === 401 || response.status === 403) throw new Refused();
    if (!response.ok) throw new Error("offer refused: " + response.status);
    const answer = await response.json();
    if (pc !== conn) return;
    await conn.setRemoteDescription(answer);
  }

  async function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    closePeer();
    setState(attempt ? "lost" : "connecting");
    let media;
    try {
      media = await localMedia();
    } catch (error) {
      wanted = false;
      setState("nodevice");
      return;
    }
    if (!wanted) return;
    let servers;
    try {
      servers = await freshIceServers();
    } catch (error) {
      if (error instanceof Refused) return refused();
      return retry();
    }
    if (!wanted || pc) return;
    const conn = new RTCPeerConnection({ iceServers: servers });
    pc = conn;
    videoMode = "full";
    previousOwn = null;
    connections += 1;
    root.dataset.connections = String(connections);
    // For the quality indicator and the tests: the live connection, never a stale one.
    root.peerConnection = conn;
    const remote = new MediaStream();
    $("remote").srcObject = remote;
    media.getTracks().forEach((track) => conn.addTrack(track, media));
    conn.addEventListener("track", (event) => remote.addTrack(event.track));
    conn.addEventListener("connectionstatechange", () => watch(conn));
    try {
      await negotiate(conn);
    } catch (error) {
      if (error instanceof Refused) return refused();
      if (pc === conn) retry();
    }
  }

  // ICE restart on the same connection: new ICE credentials (and fresh TURN ones), the same
  // tracks. The server cannot restart ICE on its side (aiortc), so it answers from a new
  // connection of its own, which the browser takes as a DTLS restart; the other side of the
  // call notices nothing.
  async function restartIce(conn) {
    restartTried = true;
    restarts += 1;
    root.dataset.iceRestarts = String(restarts);
    setState("lost");
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      if (pc === conn && conn.connectionState !== "connected") retry();
    }, RESTART_TIMEOUT_MS);
    try {
      conn.setConfiguration({ ...conn.getConfiguration(), iceServers: await freshIceServers() });
      if (pc !== conn) return;
      await negotiate(conn, { iceRestart: true });
    } catch (error) {
      if (error instanceof Refused) return refused();
      if (pc === conn) retry();
    }
  }

  function recover(conn) {
    if (!wanted || pc !== conn || retryTimer) return;
    if (!restartTried && conn.signalingState === "stable") restartIce(conn);
    else if (restartTried && restartTimer) return; // the restart is still under way
    else retry();
  }

  function connected() {
    attempt = 0;
    restartTried = false;
    clearTimeout(graceTimer);
    clearTimeout(restartTimer);
    restartTimer = null;
    setState("connected");
    if (!qualityTimer && pc) {
      const conn = pc;
      qualityTimer = setInterval(() => pollQuality(conn), QUALITY_MS);
    }
  }

  // Notice a dead path within SILENCE_MS from the bytes received; after an ICE restart that
  // kept the connection "connected" throughout, bytes arriving again mean it worked.
  function watchBytes(conn) {
    clearInterval(watchdog);
    let lastBytes = -1;
    let lastChange = Date.now();
    watchdog = setInterval(async () => {
      if (pc !== conn) return;
      let bytes = 0;
      try {
        (await conn.getStats()).forEach((s) => {
          if (s.type === "transport") bytes += s.bytesReceived || 0;
        });
      } catch (error) {
        return;
      }
      const now = Date.now();
      if (bytes !== lastBytes) {
        lastBytes = bytes;
        lastChange = now;
        if (restartTimer && conn.connectionState === "connected" && conn.signalingState === "stable") connected();
      } else if (now - lastChange > SILENCE_MS && conn.connectionState === "connected") {
        lastChange = now;
        recover(conn);
      }
    }, 500);
  }

  function watch(conn) {
    if (pc !== conn) return;
    const state = conn.connectionState;
    if (state === "connected") {
      connected();
      if (!watchdog) watchBytes(conn);
    } else if (state === "disconnected") {
      setState("lost");
      clearTimeout(graceTimer);
      graceTimer = setTimeout(() => {
        if (pc === conn && conn.connectionState !== "connected") recover(conn);
      }, DISCONNECT_GRACE_MS);
    } else if (state === "failed") {
      recover(conn);
    } else if (state === "closed") {
      retry();
    }
  }

  function retry() {
    if (!wanted || retryTimer) return;
    closePeer();
    attempt += 1;
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempt - 1));
    const delay = base * (0.75 + Math.random() * 0.5); // spread many pages' retries
    setState("lost");
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (wanted) connect();
    }, delay);
  }

  // The server keeps one connection per case and side: a second tab of the same case
  // would take the call over, and the first would take it back on reconnecting, for ever.
  // The newest tab wins; the others stop and say why.
  const tabId = Math.random().toString(36).slice(2);
  const tabs = window.BroadcastChannel ? new BroadcastChannel("kakanai-call") : null;
  if (tabs) {
    tabs.addEventListener("message", (event) => {
      const msg = event.data || {};
      if (wanted && msg.offerUrl === root.dataset.offerUrl && msg.tab !== tabId) stop("elsewhere");
    });
  }

  function start() {
    wanted = true;
    attempt = 0;
    if (tabs) tabs.postMessage({ offerUrl: root.dataset.offerUrl, tab: tabId });
    connect();
  }

  function stop(reason) {
    wanted = false;
    clearTimeout(retryTimer);
    retryTimer = null;
    closePeer();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("self").srcObject = null;
    $("remote").srcObject = null;
    $("mic").disabled = true;
    $("camera").disabled = true;
    setState(reason === "elsewhere" ? "elsewhere" : "ended");
  }

  $("mic").addEventListener("click", () => {
    micOn = !micOn;
    applyTracks();
  });
  $("camera").addEventListener("click", () => {
    cameraOn = !cameraOn;
    applyTracks();
  });
  const toggle = $("toggle");
  if (toggle) toggle.addEventListener("click", () => (wanted ? stop("ended") : start()));
  window.addEventListener("pagehide", () => closePeer());
  // A laptop waking up or a network coming back: try at once instead of waiting out the pause.
  window.addEventListener("online", () => {
    if (wanted && retryTimer) connect();
    else if (wanted && pc && pc.connectionState !== "connected") recover(pc);
  });
  if (root.dataset.autostart) start();
  // The resident's page starts the call when staff have started theirs (resident.js).
  root.addEventListener("kakanai:call-start", () => {
    if (!wanted) start();
  });
  document.addEventListener("kakanai:lang", () => {
    setState(root.dataset.state || "idle");
    applyTracks();
  });

  // ---- audio first, and staff's quality indicator ------------------------------------------
  //
  // Every QUALITY_MS the page asks the server what its camera should send (the bandwidth
  // its video has, from the server's estimate and the other side's feedback): full, capped
  // (half resolution, 10 fps, 250 kbit/s), paused (the other side keeps the last picture)
  // or, while staff scan, sharp. Audio is never touched. Lower at once; higher one step
  // per STEP_UP_MS, so a link at the edge does not flap.

  const QUALITY_MS = 2000;
  const STEP_UP_MS = 10000;
  const MODE_RANK = { paused: 0, capped: 1, full: 2, sharp: 3 };
  const STEP_UP = { paused: "capped", capped: "full" };
  const qualityUrl = (root.dataset.offerUrl || "").replace(/offer$/, "quality");
  const NOTICE = staff
    ? "回線が不安定です（音声を優先しています）"
    : "通信が混み合っているため、映像を控えめにしています。声はそのまま届いています。";
  const LEVELS = { green: "良好", amber: "やや不安定", red: "不安定" };
  const AMBER = { loss_pct: 3, jitter_ms: 30, rtt_ms: 300 }; // as app/media/quality.py
  const RED = { loss_pct: 10, jitter_ms: 60, rtt_ms: 800 };

  function part(name, className) {
    let node = $(name);
    if (!node) {
      node = document.createElement("p");
      node.dataset.call = name;
      node.className = className;
      node.hidden = true;
      $("state").after(node);
    }
    return node;
  }

  function nextMode(target) {
    if (!(target in MODE_RANK)) return videoMode;
    if (target === "sharp" || videoMode === "sharp" || MODE_RANK[target] < MODE_RANK[videoMode]) return target;
    if (target !== videoMode && Date.now() - modeChangedAt >= STEP_UP_MS) return STEP_UP[videoMode] || target;
    return videoMode;
  }

  async function applyVideoMode(conn, mode) {
    const sender = conn.getSenders().find((s) => s.track && s.track.kind === "video");
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) return;
    const encoding = params.encodings[0];
    encoding.active = mode !== "paused";
    encoding.scaleResolutionDownBy = mode === "capped" ? 2 : 1;
    if (mode === "capped") {
      encoding.maxBitrate = 250000;
      encoding.maxFramerate = 10;
    } else {
      delete encoding.maxBitrate;
      delete encoding.maxFramerate;
    }
    // A scan wants every pixel of the card: keep the resolution, give up frames instead.
    params.degradationPreference = mode === "sharp" ? "maintain-resolution" : "balanced";
    await sender.setParameters(params);
  }

  function rate(n) {
    const keys = Object.keys(AMBER).filter((k) => n[k] !== null && n[k] !== undefined);
    if (keys.some((k) => n[k] >= RED[k])) return "red";
    if (keys.some((k) => n[k] >= AMBER[k])) return "amber";
    return "green";
  }

  async function ownNumbers(conn) {
    let received = 0, lost = 0, bytes = 0, jitter = null, rtt = null, level = null;
    (await conn.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        received += s.packetsReceived || 0;
        lost += s.packetsLost || 0;
        if (s.jitter !== undefined) jitter = Math.round(s.jitter * 1000);
        if (s.audioLevel) level = Math.round(20 * Math.log10(s.audioLevel));
      } else if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) {
        rtt = Math.round(s.currentRoundTripTime * 1000);
      } else if (s.type === "transport") {
        bytes += s.bytesReceived || 0;
      }
    });
    const now = performance.now();
    const numbers = { loss_pct: null, jitter_ms: jitter, rtt_ms: rtt, bitrate_kbps: null, audio_level_dbov: level };
    if (previousOwn) {
      const expected = received + lost - previousOwn.received - previousOwn.lost;
      if (expected > 0) {
        const got = received - previousOwn.received;
        numbers.loss_pct = Math.round(Math.max(0, (1000 * (expected - got)) / expected)) / 10;
      }
      numbers.bitrate_kbps = Math.round((8 * (bytes - previousOwn.bytes)) / (now - previousOwn.at));
    }
    previousOwn = { received: received, lost: lost, bytes: bytes, at: now };
    return numbers;
  }

  function describe(who, n) {
    const show = (v, unit) => (v === null || v === undefined ? "—" : `${v}${unit}`);
    return `${who}: 音声の欠落 ${show(n.loss_pct, "%")}・ゆらぎ ${show(n.jitter_ms, "ms")}・往復 ${show(n.rtt_ms, "ms")}・受信 ${show(n.bitrate_kbps, "kbps")}・音量 ${show(n.audio_level_dbov, "dBov")}`;
  }

  function showIndicator(server, own) {
    const node = part("quality", "call-quality");
    const serverLevel = !server ? "green" : server.state === "absent" ? null : server.level;
    const levels = [rate(own), serverLevel].filter(Boolean);
    const level = ["red", "amber", "green"].find((l) => levels.includes(l)) || "green";
    node.dataset.level = level;
    node.textContent = `通話品質: ${LEVELS[level]}`;
    const lines = [describe("この端末（受信）", own)];
    if (server && server.state !== "absent") lines.unshift(describe("住民側（サーバーで測定）", server));
    node.title = lines.join("\n");
    node.setAttribute("aria-label", `通話品質: ${LEVELS[level]}。${lines.join("。")}`);
    node.hidden = false;
  }

  async function pollQuality(conn) {
    if (pc !== conn || !qualityUrl) return;
    try {
      const response = await fetch(qualityUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!response.ok || pc !== conn) return;
      const data = await response.json();
      const target = nextMode(data.you.send_video);
      if (target !== videoMode) {
        videoMode = target;
        modeChangedAt = Date.now();
        root.dataset.videoMode = target;
        await applyVideoMode(conn, target);
      }
      const notice = part("notice", "call-notice");
      notice.textContent = NOTICE;
      notice.hidden = !(data.you.notice || videoMode === "paused" || videoMode === "capped");
      if (staff) showIndicator(data.resident, await ownNumbers(conn));
    } catch (error) {
      // the next poll tries again; the call itself does not depend on this
    }
  }

  if (!staff) return;

  // ---- staff: scan a code held up to the resident's camera, then confirm -----------------

  async function postJSON(url, body) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(body || {}),
      });
      const data = await response.json();
      return { ok: response.ok, data: data };
    } catch (error) {
      return { ok: false, data: { error: { message: "サーバーに接続できませんでした。もう一度お試しください。" } } };
    }
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function say(box, text, kind) {
    box.replaceChildren(el("p", { class: "scan-msg " + (kind || "") }, text));
  }

  const KIND_TITLES = { pre_entry: "事前入力QRコード", my_number: "マイナンバーカード", other: "コード", rejected: "使えないコード" };

  function showResult(box, item, confirmUrl) {
    const card = el("div", { class: "scan-card scan-" + item.kind });
    card.append(el("h3", {}, `${KIND_TITLES[item.kind] || "コード"}（${item.symbology}）`));
    if (item.kind === "rejected") {
      card.append(el("p", { class: "error", role: "alert" }, item.message));
      card.append(el("p", { class: "hint" }, "何も保存していません。"));
      return card;
    }
    if (item.kind === "other") {
      card.append(el("pre", { class: "scan-text" }, item.display));
      return card;
    }
    const table = el("table", { class: "scan-facts" });
    (item.facts || []).forEach((f) => {
      const row = el("tr");
      row.append(el("th", { scope: "row" }, f.label));
      const cell = el("td", {}, f.value);
      if (f.current) cell.append(el("div", { class: "hint" }, `現在の値: ${f.current}（上書きします）`));
      if (f.locked) cell.append(el("div", { class: "error" }, "住民記録から取り込んだ値のため変更できません"));
      row.append(cell);
      table.append(row);
    });
    card.append(table);
    (item.notes || []).forEach((n) => card.append(el("p", { class: "warning" }, n)));
    const actions = el("div", { class: "call-controls" });
    const ok = el("button", { type: "button", class: "primary", "data-call": "confirm" }, `この内容で入力する（${item.provenance}）`);
    const cancel = el("button", { type: "button", class: "secondary" }, "使わない");
    ok.addEventListener("click", async () => {
      ok.disabled = true;
      const result = await postJSON(confirmUrl, { token: item.token });
      if (!result.ok) {
        ok.disabled = false;
        card.append(el("p", { class: "error", role: "alert" }, result.data.error.message));
        return;
      }
      const questions = document.getElementById("questions");
      const panel = document.getElementById("panel");
      if (questions && result.data.questions_html) questions.innerHTML = result.data.questions_html;
      if (panel && result.data.panel_html) panel.innerHTML = result.data.panel_html;
      const status = document.getElementById("case-status");
      if (status && result.data.status_label) status.textContent = result.data.status_label;
      say(box, result.data.message, "ok");
    });
    cancel.addEventListener("click", () => say(box, "読み取った内容は使いませんでした。", ""));
    actions.append(ok, cancel);
    card.append(actions);
    return card;
  }

  $("scan").addEventListener("click", async () => {
    const box = $("scan-result");
    const button = $("scan");
    button.disabled = true;
    say(box, "読み取っています…（QRコードをカメラに向けてもらってください）");
    const person = Number(($("person") || {}).value || 0);
    const result = await postJSON(root.dataset.scanUrl, { person: person });
    button.disabled = false;
    if (!result.ok) return say(box, result.data.error.message, "error");
    if (!result.data.results.length) return say(box, result.data.message, "error");
    box.replaceChildren(...result.data.results.map((item) => showResult(box, item, result.data.confirm_url)));
  });

  $("still").addEventListener("click", async () => {
    const box = $("scan-result");
    const button = $("still");
    button.disabled = true;
    say(box, "撮影しています…");
    const result = await postJSON(root.dataset.stillUrl, {});
    button.disabled = false;
    if (!result.ok) return say(box, result.data.error.message, "error");
    say(box, result.data.message, "ok");
    const list = root.querySelector(".thumbs");
    const link = el("a", { href: result.data.url, target: "_blank", rel: "noopener" });
    link.append(el("img", { src: result.data.url, alt: `撮影した書類 ${result.data.number}` }));
    const item = el("li");
    item.append(link);
    list.append(item);
    $("attachment-count").textContent = `${list.children.length}件`;
  });
})();
