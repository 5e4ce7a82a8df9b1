"""The blind A/B listening page (ab.html): Note RNN vs tuned pairs in random order.

The choices and the tally live in the browser's localStorage (the paper's user study in
miniature); the page is self-contained like the report.
"""

import hashlib
import os
from typing import Dict, List, Optional

import numpy as np

from rl_tuner.evaluate import scoring
from rl_tuner.report import markup
from rl_tuner.report.markup import esc

NOTE_RNN_NAME = scoring.NOTE_RNN_NAME


def ab_body(samples: Dict[str, List[markup.Sample]], *, seed: int, num_pairs: int,
            audio_problem: Optional[str]) -> str:
  """Pairs of (Note RNN, tuned) compositions in random order, one choice button each."""
  base = samples.get(NOTE_RNN_NAME, [])
  tuned = [n for n in samples if n != NOTE_RNN_NAME and samples[n]]
  parts = ['<h1>Which sounds better?</h1>',
           '<p>Each pair holds one composition of the untuned Note RNN and one of a tuned '
           'model, in random order. Pick the one you prefer; your choices stay in this '
           'browser (localStorage). Reveal the tally when you are done.</p>']
  if audio_problem:
    parts.append('<p class="note">No audio: %s. Use the MIDI links.</p>' % esc(audio_problem))
  if not base or not tuned:
    parts.append('<p class="note">No pairs: the A/B test needs samples of the Note RNN and '
                 'of at least one tuned model.</p>')
    return '\n'.join(parts)
  rng = np.random.default_rng(seed + 7)
  num_pairs = min(num_pairs, len(base))
  digest = hashlib.sha1('|'.join(os.path.abspath(s.midi_file) for s in base).encode())
  page_id = 'rl_tuner_ab_' + digest.hexdigest()[:12]
  parts.append('<div id="pairs" data-page="%s">' % esc(page_id))
  for i in range(num_pairs):
    model = tuned[i % len(tuned)]
    if i >= len(samples[model]):
      break
    pair = [base[i], samples[model][i]]
    if rng.random() < 0.5:
      pair.reverse()
    parts.append('<div class="pair" data-pair="%d">' % i)
    parts.append('<h3>Pair %d</h3>' % (i + 1))
    for label, sample in zip('AB', pair):
      parts.append('<div class="sample"><b>%s</b><br>%s<br>%s<br>'
                   '<button type="button" class="choice" data-model="%s">prefer %s</button>'
                   '</div>' % (label, markup.audio_tag(sample), markup.midi_link(sample.midi_file,
                                                                  'MIDI ' + label),
                               esc(sample.model), label))
    parts.append('</div>')
  parts.append('</div>')
  parts.append('<p><button type="button" id="reveal">Reveal the tally</button> '
               '<button type="button" id="reset">Clear my choices</button></p>'
               '<div id="tally"></div>')
  return '\n'.join(parts)


# The tally logic: choices per pair in localStorage, so a reload keeps them.
AB_SCRIPT = r"""
(function () {
  var root = document.getElementById('pairs');
  if (!root) { return; }
  var key = root.getAttribute('data-page');
  function load() {
    try { return JSON.parse(window.localStorage.getItem(key) || '{}'); }
    catch (e) { return {}; }
  }
  function save(choices) {
    try { window.localStorage.setItem(key, JSON.stringify(choices)); } catch (e) {}
  }
  function paint() {
    var choices = load();
    document.querySelectorAll('.pair').forEach(function (pair) {
      var chosen = choices[pair.getAttribute('data-pair')];
      pair.querySelectorAll('button.choice').forEach(function (b, i) {
        b.classList.toggle('chosen', chosen === i);
      });
    });
  }
  document.querySelectorAll('.pair').forEach(function (pair) {
    pair.querySelectorAll('button.choice').forEach(function (b, i) {
      b.addEventListener('click', function () {
        var choices = load();
        choices[pair.getAttribute('data-pair')] = i;
        save(choices);
        paint();
      });
    });
  });
  document.getElementById('reveal').addEventListener('click', function () {
    var choices = load(), counts = {}, total = 0;
    document.querySelectorAll('.pair').forEach(function (pair) {
      var i = choices[pair.getAttribute('data-pair')];
      if (i === undefined) { return; }
      var model = pair.querySelectorAll('button.choice')[i].getAttribute('data-model');
      counts[model] = (counts[model] || 0) + 1;
      total += 1;
    });
    var out = document.getElementById('tally');
    out.textContent = '';
    var list = document.createElement('ul');
    Object.keys(counts).sort().forEach(function (model) {
      var item = document.createElement('li');
      item.textContent = model + ': preferred ' + counts[model] + ' of ' + total;
      list.appendChild(item);
    });
    out.appendChild(list);
  });
  document.getElementById('reset').addEventListener('click', function () {
    save({});
    paint();
    document.getElementById('tally').textContent = '';
  });
  paint();
})();
"""
