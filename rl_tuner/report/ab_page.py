"""The blind A/B listening page (ab.html): Note RNN vs tuned pairs in random order.

The choices and the tally live in the browser's localStorage (the paper's user study in
miniature); the page is self-contained like the report.

Blind means no model name anywhere in the page before the reveal: not in a text node, an
attribute, a download name (`pair03_a.mid`) or the script. Which sample is which is stored
as JSON XOR-ed with a random key made for each page, both base64 (`data-key`,
`data-mapping`); only the reveal button decodes it. It keeps honest listeners honest: the
key is on the page, so it is not a secret from someone who decodes it on purpose.
"""

import base64
import hashlib
import json
import os
from typing import Dict, List, Optional, Sequence

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
  pairs = []
  for i in range(num_pairs):
    model = tuned[i % len(tuned)]
    if i >= len(samples[model]):
      break
    pair = [base[i], samples[model][i]]
    if rng.random() < 0.5:
      pair.reverse()
    pairs.append(pair)
  key = os.urandom(16)
  parts.append('<div id="pairs" data-page="%s" data-key="%s" data-mapping="%s">' % (
      esc(page_id), base64.b64encode(key).decode('ascii'),
      encode_mapping([[s.model for s in pair] for pair in pairs], key)))
  for i, pair in enumerate(pairs):
    parts.append('<div class="pair" data-pair="%d">' % i)
    parts.append('<h3>Pair %d</h3>' % (i + 1))
    for label, sample in zip('ab', pair):
      name = 'pair%02d_%s.mid' % (i + 1, label)
      parts.append('<div class="sample"><b>%s</b><br>%s<br>%s<br>'
                   '<button type="button" class="choice">prefer %s</button>'
                   '</div>' % (label.upper(), markup.audio_tag(sample),
                               markup.midi_link(sample.midi_file, 'MIDI ' + label.upper(),
                                                download_name=name), label.upper()))
    parts.append('<p class="revealed note"></p></div>')
  parts.append('</div>')
  parts.append('<p><button type="button" id="reveal">Reveal the tally</button> '
               '<button type="button" id="reset">Clear my choices</button></p>'
               '<div id="tally"></div>')
  return '\n'.join(parts)


def encode_mapping(models: Sequence[Sequence[str]], key: bytes) -> str:
  """[[model of A, model of B] per pair] as base64(JSON bytes XOR key, repeated)."""
  data = json.dumps(list(map(list, models))).encode('utf-8')
  return base64.b64encode(bytes(b ^ key[i % len(key)] for i, b in enumerate(data))).decode()


def decode_mapping(mapping: str, key: str) -> List[List[str]]:
  """The inverse of encode_mapping (key as the page stores it, base64); what the reveal does."""
  raw, pad = base64.b64decode(mapping), base64.b64decode(key)
  return json.loads(bytes(b ^ pad[i % len(pad)] for i, b in enumerate(raw)).decode('utf-8'))


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
  function mapping() {
    var key = atob(root.getAttribute('data-key'));
    var data = atob(root.getAttribute('data-mapping'));
    var bytes = new Uint8Array(data.length);
    for (var j = 0; j < data.length; j++) {
      bytes[j] = data.charCodeAt(j) ^ key.charCodeAt(j % key.length);
    }
    return JSON.parse(new TextDecoder().decode(bytes));
  }
  document.getElementById('reveal').addEventListener('click', function () {
    var choices = load(), counts = {}, total = 0, models = mapping();
    document.querySelectorAll('.pair').forEach(function (pair) {
      var p = pair.getAttribute('data-pair'), names = models[Number(p)];
      pair.querySelector('.revealed').textContent =
          'A: ' + names[0] + ', B: ' + names[1];
      var i = choices[p];
      if (i === undefined) { return; }
      var model = names[i];
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
    document.querySelectorAll('.revealed').forEach(function (r) { r.textContent = ''; });
  });
  paint();
})();
"""
