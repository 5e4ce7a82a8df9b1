"""The HTML, CSS and JavaScript of ``live.html`` (filled in by ``live_page``).

Placeholders: ``@@TITLE@@`` (escaped HTML), ``@@DATA@@`` (JSON safe inside a script element),
``@@BUNDLE@@`` (the vendored magenta.js file name). The page reads everything from its own
``<script type="application/json">`` element, so it works from ``file://``.
"""

# The fetch shim runs before magenta.js loads: magenta.js binds ``fetch`` when its bundle
# starts, and tfjs calls the global ``fetch`` for the weight shards, so both see the shim.
FETCH_SHIM_JS = r"""
(function () {
  var data = JSON.parse(document.getElementById('rl-tuner-live-data').textContent);
  var files = {};
  data.models.forEach(function (model) {
    Object.keys(model.files).forEach(function (name) {
      files['rl-tuner-models/' + model.id + '/' + name] = model.files[name];
    });
  });
  function bytesOf(entry) {
    if (entry.text !== undefined) return new TextEncoder().encode(entry.text);
    var raw = atob(entry.base64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  var realFetch = window.fetch ? window.fetch.bind(window) : null;
  window.fetch = function (input, init) {
    var url = typeof input === 'string' ? input : input.url;
    var at = url.indexOf('rl-tuner-models/');
    var key = at < 0 ? null : url.slice(at);
    if (key !== null && Object.prototype.hasOwnProperty.call(files, key)) {
      return Promise.resolve(new Response(bytesOf(files[key]), {status: 200}));
    }
    if (key !== null) return Promise.resolve(new Response('not in the page', {status: 404}));
    return realFetch(input, init);
  };
  window.RL_TUNER_LIVE = data;
})();
"""

PAGE_JS = r"""
(function () {
  var data = window.RL_TUNER_LIVE;
  var STEPS_PER_QUARTER = 4, MIN_PITCH = 48, MAX_PITCH = 83;
  var $ = function (id) { return document.getElementById(id); };
  var models = {};
  var player = null, visualizer = null, lastPlay = null, played = 0;

  function status(text) { $('status').textContent = text; }

  function parseEvents(text) {
    var events = JSON.parse(text);
    if (!Array.isArray(events) || !events.length) throw new Error('a non-empty list');
    events.forEach(function (e) {
      if (!(e === -2 || e === -1 || (Number.isInteger(e) && e >= MIN_PITCH && e <= MAX_PITCH))) {
        throw new Error('each event is -2 (hold), -1 (note off) or a MIDI pitch ' +
                        MIN_PITCH + '-' + MAX_PITCH + ', not ' + JSON.stringify(e));
      }
    });
    return events;
  }

  // Melody events -> a quantized NoteSequence whose MelodyConverter events are the same.
  function eventsToSequence(events, qpm) {
    var notes = [], current = null;
    for (var s = 0; s < events.length; s++) {
      if (events[s] !== -2 && current) {
        current.quantizedEndStep = s;
        notes.push(current);
        current = null;
      }
      if (events[s] >= 0) current = {pitch: events[s], velocity: 100, quantizedStartStep: s};
    }
    if (current) { current.quantizedEndStep = events.length; notes.push(current); }
    return mm.NoteSequence.create({
      notes: notes, totalQuantizedSteps: events.length, tempos: [{time: 0, qpm: qpm}],
      quantizationInfo: {stepsPerQuarter: STEPS_PER_QUARTER}});
  }

  function appendShifted(primer, continuation, qpm) {
    var shift = primer.totalQuantizedSteps;
    var notes = primer.notes.map(function (n) {
      return {pitch: n.pitch, velocity: 100, quantizedStartStep: n.quantizedStartStep,
              quantizedEndStep: n.quantizedEndStep};
    });
    continuation.notes.forEach(function (n) {
      notes.push({pitch: n.pitch, velocity: 100, quantizedStartStep: n.quantizedStartStep + shift,
                  quantizedEndStep: n.quantizedEndStep + shift});
    });
    return mm.NoteSequence.create({
      notes: notes, totalQuantizedSteps: shift + continuation.totalQuantizedSteps,
      tempos: [{time: 0, qpm: qpm}], quantizationInfo: {stepsPerQuarter: STEPS_PER_QUARTER}});
  }

  function model(id) {
    if (!models[id]) models[id] = new mm.MusicRNN('rl-tuner-models/' + id);
    var rnn = models[id];
    return rnn.isInitialized() ? Promise.resolve(rnn) : rnn.initialize().then(function () {
      return rnn;
    });
  }

  function randomPitch() {
    return MIN_PITCH + Math.floor(Math.random() * (MAX_PITCH - MIN_PITCH + 1));
  }

  function primerEvents() {
    var choice = $('primer').value;
    if (choice === 'random') return [randomPitch()];
    if (choice === 'custom') return parseEvents($('custom-primer').value);
    return data.primers[Number(choice)].events;
  }

  function draw(sequence, primerSteps, qpm) {
    var svg = $('roll');
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    // The visualizer counts pixels per second: 14 pixels per sixteenth-note step.
    visualizer = new mm.PianoRollSVGVisualizer(sequence, svg, {
      noteHeight: 7, pixelsPerTimeStep: 14 * qpm * STEPS_PER_QUARTER / 60, noteRGB: '30, 90, 200',
      activeNoteRGB: '240, 84, 119'});
    // The continuation appears note by note as the player reaches it.
    sequence.notes.forEach(function (n, i) {
      var rect = svg.querySelector('rect[data-index="' + i + '"]');
      if (rect && n.quantizedStartStep >= primerSteps) rect.style.visibility = 'hidden';
    });
  }

  function reveal(note) {
    played += 1;
    var notes = visualizer.noteSequence.notes;
    for (var i = 0; i < notes.length; i++) {
      if (notes[i].startTime <= note.startTime + 1e-6) {
        var rect = $('roll').querySelector('rect[data-index="' + i + '"]');
        if (rect) rect.style.visibility = 'visible';
      }
    }
    visualizer.redraw(note, true);
  }

  function play() {
    lastPlay = improvise();
    return lastPlay;
  }

  function improvise() {
    var events;
    try { events = primerEvents(); } catch (e) {
      status('Primer: ' + e.message);
      return Promise.resolve();
    }
    var qpm = Number($('qpm').value), steps = Number($('steps').value);
    var temperature = Number($('temperature').value);
    var id = $('model').value;
    if (player && player.isPlaying()) player.stop();
    status('Loading the model…');
    var primer = eventsToSequence(events, qpm);
    return model(id).then(function (rnn) {
      status('Improvising ' + steps + ' steps…');
      // magenta.js takes the argmax when the temperature is 0 (or missing).
      return rnn.continueSequence(primer, steps, temperature > 0 ? temperature : undefined);
    }).then(function (continuation) {
      var full = appendShifted(primer, continuation, qpm);
      draw(full, primer.totalQuantizedSteps, qpm);
      $('notes').textContent = JSON.stringify(continuation.notes.map(function (n) {
        return [n.pitch, n.quantizedStartStep, n.quantizedEndStep];
      }));
      player = new mm.Player(false, {run: reveal, stop: function () {
        // The last note's draw callback can come after the end of the sequence.
        Array.from($('roll').querySelectorAll('rect[data-index]')).forEach(function (r) {
          r.style.visibility = 'visible';
        });
        status('Done.');
      }});
      played = 0;
      status('Playing (primer: the first ' + events.length + ' steps).');
      return player.start(full);
    }).catch(function (e) { status('Error: ' + e.message); });
  }

  // Presses play as a person would and reports what the piano roll shows once it has played.
  function selftestPlay(spec) {
    ['model', 'primer', 'temperature', 'steps', 'qpm'].forEach(function (name) {
      if (spec[name] === undefined) return;
      $(name).value = String(spec[name]);
      $(name).dispatchEvent(new Event(name === 'temperature' ? 'input' : 'change'));
    });
    $('play').click();
    return lastPlay.then(function () {
      var rects = Array.from($('roll').querySelectorAll('rect[data-index]'));
      return {status: $('status').textContent, notes: JSON.parse($('notes').textContent || '[]'),
              rects: rects.length, played: played, visible: rects.filter(function (r) {
                return r.style.visibility !== 'hidden';
              }).length};
    });
  }

  function continueEach(rnn, spec) {
    var results = [], chain = Promise.resolve();
    spec.primers.forEach(function (events) {
      chain = chain.then(function () {
        var primer = eventsToSequence(events, 120);
        var encoded = Array.from(mm.melodies.Melody.fromNoteSequence(
            primer, MIN_PITCH, MAX_PITCH).events);
        var temperature = spec.temperature > 0 ? spec.temperature : undefined;
        return rnn.continueSequenceAndReturnProbabilities(primer, spec.steps, temperature)
          .then(function (r) {
            return r.sequence.then(function (seq) {
              results.push({
                primer: encoded,
                notes: seq.notes.map(function (n) {
                  return [n.pitch, n.quantizedStartStep, n.quantizedEndStep];
                }),
                top2: spec.probs ? r.probs.map(function (p) {
                  var order = Array.from(p.keys()).sort(function (a, b) { return p[b] - p[a]; });
                  return [order[0], order[1], Math.log(p[order[0]]) - Math.log(p[order[1]])];
                }) : null});
            });
          });
      });
    });
    return chain.then(function () { return results; });
  }

  // The tests' hook. {model, primers, steps, temperature, probs}: continues each primer
  // (Melody events) and returns MelodyConverter's encoding of it, the continuation's notes
  // and, with probs, the top two classes and their log-probability gap at every step.
  // {play: {model, primer, temperature, steps, qpm}}: sets the controls, presses Play and,
  // once the player has finished, returns what the piano roll shows.
  window.rlTunerLiveSelftest = function (spec) {
    var ready = spec.backend ? mm.tf.setBackend(spec.backend) : Promise.resolve(true);
    return ready.then(function () {
      return spec.play ? selftestPlay(spec.play) : model(spec.model).then(function (rnn) {
        return continueEach(rnn, spec);
      });
    }).then(function (value) { return {backend: mm.tf.getBackend(), value: value}; });
  };

  function setUp() {
    data.models.forEach(function (m) {
      var option = document.createElement('option');
      option.value = m.id;
      option.textContent = m.label;
      $('model').appendChild(option);
    });
    data.primers.forEach(function (p, i) {
      var option = document.createElement('option');
      option.value = String(i);
      option.textContent = p.label;
      $('primer').insertBefore(option, $('primer').firstChild);
    });
    $('primer').value = '0';
    $('model').addEventListener('change', function () {
      var m = data.models.filter(function (x) { return x.id === $('model').value; })[0];
      $('model-detail').textContent = m ? m.detail : '';
    });
    $('model').dispatchEvent(new Event('change'));
    $('primer').addEventListener('change', function () {
      $('custom-primer').disabled = $('primer').value !== 'custom';
    });
    $('primer').dispatchEvent(new Event('change'));
    $('temperature').addEventListener('input', function () {
      $('temperature-value').textContent = Number($('temperature').value) > 0 ?
          $('temperature').value : '0 (greedy)';
    });
    $('temperature').dispatchEvent(new Event('input'));
    $('play').addEventListener('click', play);
    $('stop').addEventListener('click', function () {
      if (player && player.isPlaying()) player.stop();
      status('Stopped.');
    });
    status('Ready: choose a model, a primer and a temperature, then press play.');
  }

  setUp();
})();
"""

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 60em; color: #222; }
fieldset { border: 1px solid #ccc; margin: 0 0 1em; padding: 0.6em 1em; }
label { display: inline-block; margin: 0.3em 1.2em 0.3em 0; }
#custom-primer { width: 24em; }
button { font-size: 1.1em; padding: 0.3em 1.2em; margin-right: 0.6em; }
#roll-box { overflow-x: auto; border: 1px solid #ddd; min-height: 6em; }
#status { margin: 0.6em 0; font-style: italic; }
#notes { font-family: monospace; font-size: 0.8em; word-break: break-all; }
.muted { color: #666; font-size: 0.9em; }
"""

PAGE_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>@@CSS@@</style>
<script type="application/json" id="rl-tuner-live-data">@@DATA@@</script>
<script>@@SHIM@@</script>
<script src="@@BUNDLE@@"></script>
</head><body>
<h1>@@TITLE@@</h1>
<p class="muted">The model improvises in your browser with magenta.js (<code>MusicRNN</code>),
from a primer you choose; nothing is fetched from the network. Sixteenth-note steps; the
continuation's notes appear on the piano roll as they are played.</p>
<fieldset><legend>Model</legend>
<label>Model <select id="model"></select></label>
<span id="model-detail" class="muted"></span></fieldset>
<fieldset><legend>Primer and sampling</legend>
<label>Primer <select id="primer">
<option value="random">a random pitch (48-83), as the RL Tuner primes</option>
<option value="custom">my own events:</option></select></label>
<label><input id="custom-primer" value="[60, -2, 62, -2, 64, -2, 65, -2]"
title="-2 = hold, -1 = note off, 48-83 = MIDI pitch"></label><br>
<label>Temperature <input id="temperature" type="range" min="0" max="2" step="0.05"
value="1"> <span id="temperature-value"></span></label>
<label>Steps <input id="steps" type="number" min="1" max="512" value="64"></label>
<label>Tempo (qpm) <input id="qpm" type="number" min="20" max="300" value="120"></label>
</fieldset>
<button id="play">&#9654; Play</button><button id="stop">&#9632; Stop</button>
<div id="status">Loading magenta.js…</div>
<div id="roll-box"><svg id="roll"></svg></div>
<p class="muted">Continuation (pitch, start step, end step):</p>
<div id="notes"></div>
<script>@@PAGE_JS@@</script>
</body></html>
"""
