/* The check-in page: slider read-outs, and voice recording in the browser. The recording
   (MediaRecorder: webm/opus or mp4) is decoded here with Web Audio and re-encoded as 16 kHz mono
   16-bit WAV, the one format the server can analyse without a codec library. Progressive
   enhancement: without JavaScript the sliders still post and a WAV file can be chosen. */
(function () {
  "use strict";
  document.querySelectorAll("input[type=range][data-out]").forEach(function (input) {
    var out = document.getElementById(input.dataset.out);
    var update = function () { if (out) { out.textContent = input.value; } };
    input.addEventListener("input", update);
    update();
  });

  var start = document.getElementById("wl-rec-start");
  var stop = document.getElementById("wl-rec-stop");
  var status = document.getElementById("wl-rec-status");
  var fileInput = document.getElementById("wl-audio");
  if (!start || !stop || !fileInput || !window.MediaRecorder || !navigator.mediaDevices) { return; }
  var minS = parseInt(start.dataset.min, 10) || 10, maxS = parseInt(start.dataset.max, 10) || 120;
  var recorder = null, chunks = [], startedAt = 0, timer = null;

  function say(text) { status.textContent = text; }

  function encodeWav(samples, rate) {
    var buffer = new ArrayBuffer(44 + samples.length * 2), view = new DataView(buffer);
    function str(offset, s) { for (var i = 0; i < s.length; i++) { view.setUint8(offset + i, s.charCodeAt(i)); } }
    str(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); str(8, "WAVE"); str(12, "fmt ");
    view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true);
    view.setUint16(34, 16, true); str(36, "data"); view.setUint32(40, samples.length * 2, true);
    for (var i = 0; i < samples.length; i++) {
      var s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([view], { type: "audio/wav" });
  }

  function toWav(blob) {
    return blob.arrayBuffer().then(function (bytes) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      return ctx.decodeAudioData(bytes).then(function (audio) {
        var rate = 16000, length = Math.ceil(audio.duration * rate);
        var offline = new OfflineAudioContext(1, length, rate);
        var src = offline.createBufferSource();
        src.buffer = audio; src.connect(offline.destination); src.start();
        return offline.startRendering().then(function (rendered) {
          ctx.close();
          return encodeWav(rendered.getChannelData(0), rate);
        });
      });
    });
  }

  function finish() {
    clearInterval(timer);
    stop.disabled = true; start.disabled = false;
    if (recorder && recorder.state !== "inactive") { recorder.stop(); }
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = function (e) { if (e.data && e.data.size) { chunks.push(e.data); } };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        var seconds = (Date.now() - startedAt) / 1000;
        if (seconds < minS) { say("That was " + Math.round(seconds) + " s; please record at least " + minS + " s."); return; }
        say("Preparing your recording…");
        toWav(new Blob(chunks, { type: recorder.mimeType })).then(function (wav) {
          var dt = new DataTransfer();
          dt.items.add(new File([wav], "voice.wav", { type: "audio/wav" }));
          fileInput.files = dt.files;
          say("Recording ready (" + Math.round(seconds) + " s). It will be sent with your check-in.");
        }).catch(function () { say("Sorry, that recording could not be prepared. You can type instead."); });
      };
      recorder.start(1000);
      startedAt = Date.now();
      start.disabled = true; stop.disabled = false;
      timer = setInterval(function () {
        var s = Math.round((Date.now() - startedAt) / 1000);
        say("Recording… " + s + " s" + (s < minS ? " (at least " + minS + ")" : ""));
        if (s >= maxS) { finish(); }
      }, 500);
    }).catch(function () { say("The microphone is not available. You can type instead."); });
  });
  stop.addEventListener("click", finish);
})();
