"""live.html in headless Chromium: magenta.js plays our exported models as we generate them.

* Greedy equality: magenta.js's ``MusicRNN`` continues a fixed primer (pitches in 48-83, so
  nothing is transposed) by argmax, and the continuation's notes equal
  ``bin/generate_melodies --temperature=0`` on the same model and primer (on tfjs's CPU
  backend, and on WebGL where this Chromium has it).
* Tuned statistics: sampled continuations in the browser have the tuned model's notes-in-motif
  fraction (ours, sampled in Python), not the Note RNN's.
* The page's controls: Play continues, plays and draws the piano roll.

The page is opened from ``file://`` (nothing served), so these also prove that the fetch shim
feeds magenta.js. Marked ``browser``; skipped with a reason without Chromium or the vendored
npm package. The tuned model comes from a short ``bin/train_rl_tuner`` run (``slow``).
"""

import json
import os
import subprocess
import sys

import note_seq
import numpy as np
import pytest

import chromium_pipe
import note_rnn
from note_rnn import generate
from note_rnn import magenta_js
from note_rnn import sample as sample_lib
from pipelines import encoding
from rl_tuner.evaluate import sampling as generation
from rl_tuner.music import statistics as metrics
from rl_tuner.policy import priming as priming_lib
from rl_tuner.report import live_page

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRIMER = [60, -2, 64, -2, 67, -2, 72, -2]  # C major: squash transposes nothing
NEW_STEPS = 32
ENV = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='3')

pytestmark = pytest.mark.browser


@pytest.fixture(scope='module')
def browser_ready():
  if chromium_pipe.CHROMIUM is None:
    pytest.skip('Debian chromium is not installed (scripts/setup_system.sh installs it)')
  if live_page.vendored_bundle() is None:
    pytest.skip('@magenta/music is not vendored (scripts/setup_web.sh, run by make setup, '
                'needs npm)')


@pytest.fixture(scope='module')
def shipped_js(browser_ready, tmp_path_factory):
  return magenta_js.export_magenta_js(None, str(tmp_path_factory.mktemp('js') / 'shipped'))


@pytest.fixture(scope='module')
def tuned_run(browser_ready, tmp_path_factory):
  """A short q run (q_fast machinery, 24,576 steps), exported with bin/export_magenta_js."""
  run = str(tmp_path_factory.mktemp('runs') / 'q_short')
  train = [sys.executable, os.path.join(REPO, 'bin', 'train_rl_tuner'),
           '--flagfile=' + os.path.join(REPO, 'configs', 'q_fast.cfg'), '--num_steps=24576',
           '--exploration_period=12288', '--final_eval_compositions=0',
           '--num_midi_compositions=0', '--output_dir=' + run]
  done = subprocess.run(train, env=ENV, capture_output=True, text=True, timeout=900)
  assert done.returncode == 0, done.stderr[-3000:]
  done = subprocess.run([sys.executable, os.path.join(REPO, 'bin', 'export_magenta_js'),
                         '--checkpoint=' + run], env=ENV, capture_output=True, text=True,
                        timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  assert done.stdout.strip() == os.path.join(run, 'magenta_js')
  return run


def _page(tmp_path, dirs):
  return live_page.write_live_page([live_page.describe(d) for d in dirs], str(tmp_path / 'r'))


def _selftest(page: str, spec: dict, backend: str = 'cpu'):
  with chromium_pipe.Chromium(timeout=600) as browser:
    browser.open('file://' + page)
    result = browser.evaluate('rlTunerLiveSelftest(%s)' % json.dumps(dict(spec, backend=backend)))
  if result['backend'] != backend:
    pytest.skip('tfjs has no %s backend in this Chromium (it ran %s)' % (backend,
                                                                        result['backend']))
  return result


_CLI_NOTES = {}


def _generate_melodies_notes(checkpoint: str, out_dir: str, primer_steps: int, total: int):
  """The continuation's notes (pitch, start, end; steps from its start) that the CLI writes."""
  key = (checkpoint, primer_steps, total)
  if key not in _CLI_NOTES:
    _CLI_NOTES[key] = _run_generate_melodies(checkpoint, out_dir, primer_steps, total)
  return _CLI_NOTES[key]


def _run_generate_melodies(checkpoint, out_dir, primer_steps, total):
  done = subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'generate_melodies'),
       '--checkpoint=' + checkpoint, '--temperature=0', '--num_outputs=1',
       '--num_steps=%d' % total, '--primer_melody=%s' % PRIMER, '--output_dir=' + out_dir],
      env=ENV, capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  (name,) = os.listdir(out_dir)
  seq = note_seq.quantize_note_sequence(
      note_seq.midi_file_to_note_sequence(os.path.join(out_dir, name)), 4)
  return [[n.pitch, n.quantized_start_step - primer_steps, n.quantized_end_step - primer_steps]
          for n in sorted(seq.notes, key=lambda n: n.quantized_start_step)
          if n.quantized_start_step >= primer_steps]


def _check_greedy(page, model_id, checkpoint, model, tmp_path, backend='cpu'):
  seq, qpm = generate.primer_sequence(PRIMER)
  prepared = generate.prepare_primer(seq, qpm, len(PRIMER) + 1 + NEW_STEPS)
  assert prepared.transpose_amount == 0 and prepared.melody.start_step == 0
  events = [int(e) for e in prepared.melody]
  steps = prepared.total_steps - len(events)
  (result,) = _selftest(page, {'model': model_id, 'primers': [events], 'steps': steps,
                               'temperature': 0, 'probs': True}, backend)['value']
  assert result['primer'] == prepared.indices.tolist()  # MelodyConverter saw our primer
  ours = _generate_melodies_notes(checkpoint, str(tmp_path / 'gen'), len(events),
                                  prepared.total_steps)
  if result['notes'] != ours:
    browser_choices = [top[0] for top in result['top2']]
    greedy = sample_lib.sample(model, prepared.indices[None], steps, temperature=0)[0]
    ours_choices = greedy[len(events):].tolist()
    t = next(i for i, (a, b) in enumerate(zip(browser_choices, ours_choices)) if a != b)
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    logits = model.logits(tf.constant(encoding.one_hot(greedy[None, :len(events) + t])))[0, -1]
    gap = float(logits[ours_choices[t]] - logits[browser_choices[t]])
    pytest.fail('magenta.js chose class %d at continuation step %d where we chose %d: our logit '
                'gap %.3g, magenta.js log-prob gap %.3g (a float32 near-tie if tiny)\n%s\n%s'
                % (browser_choices[t], t, ours_choices[t], gap, result['top2'][t][2],
                   result['notes'], ours))
  assert len(ours) >= 2
  gaps = [top[2] for top in result['top2']]
  print('greedy continuation equal (%d notes); smallest magenta.js log-prob gap %.3g at step %d'
        % (len(ours), min(gaps), int(np.argmin(gaps))))


@pytest.mark.parametrize('backend', ['cpu', 'webgl'])
def test_greedy_shipped_note_rnn_equals_generate_melodies(shipped_js, tmp_path, backend):
  page = _page(tmp_path, [shipped_js])
  _check_greedy(page, 'm0', note_rnn.loading.default_model_dir(), note_rnn.load(), tmp_path,
                backend)


@pytest.mark.slow
def test_greedy_tuned_model_equals_generate_melodies(tuned_run, tmp_path):
  page = _page(tmp_path, [os.path.join(tuned_run, 'magenta_js')])
  export = os.path.join(tuned_run, 'note_rnn_export')
  _check_greedy(page, 'm0', export, note_rnn.load(export), tmp_path)


def _events_from_notes(notes, steps):
  """Class indices of a continuation from its notes: a note-off while silent reads as a hold."""
  events = np.zeros(steps, np.int64)
  for _, _, end in notes:
    if end < steps:
      events[end] = encoding.NOTE_OFF_INDEX
  for pitch, start, _ in notes:
    events[start] = pitch - encoding.PITCH_INDEX_OFFSET
  return events


@pytest.mark.slow
def test_tuned_model_samples_like_itself_in_the_browser(shipped_js, tuned_run, tmp_path):
  num = 200
  page = _page(tmp_path, [shipped_js, os.path.join(tuned_run, 'magenta_js')])
  priming = priming_lib.random_priming_notes(num, semantics='corrected', seed=3)
  primers = [[int(p) + encoding.PITCH_INDEX_OFFSET] for p in priming]
  motif = {}
  for model_id, source in (('m0', None), ('m1', os.path.join(tuned_run, 'note_rnn_export'))):
    results = _selftest(page, {'model': model_id, 'primers': primers, 'steps': NEW_STEPS,
                               'temperature': 1.0})['value']
    browser = np.stack([_events_from_notes(r['notes'], NEW_STEPS) for r in results])
    _, python = generation.generate_compositions(
        note_rnn.load(source), 2000, num_notes=NEW_STEPS, priming_mode='random_note',
        policy='sample', seed=5, semantics='corrected')
    motif[model_id] = tuple(
        metrics.composition_stats(c, semantics='corrected')['notes_in_motif']
        for c in (browser, python))
  (note_rnn_browser, note_rnn_python), (tuned_browser, tuned_python) = motif['m0'], motif['m1']
  message = 'notes in motif (browser, python): Note RNN %s, tuned %s' % (motif['m0'], motif['m1'])
  print(message)
  assert tuned_python > note_rnn_python + 0.2, message  # the short run did tune
  assert abs(tuned_browser - tuned_python) < 0.07, message
  assert abs(note_rnn_browser - note_rnn_python) < 0.07, message
  assert tuned_browser > note_rnn_browser + 0.2, message


def test_play_button_plays_and_draws_the_piano_roll(shipped_js, tmp_path):
  page = _page(tmp_path, [shipped_js])
  with chromium_pipe.Chromium(timeout=300) as browser:
    browser.open('file://' + page)
    assert browser.evaluate('document.getElementById("status").textContent').startswith('Ready')
    labels = browser.evaluate('Array.from(document.querySelectorAll("#model option"))'
                              '.map(function (o) { return o.textContent; })')
    assert labels == ['Note RNN: the shipped rl_tuner_default']
    played = browser.evaluate('rlTunerLiveSelftest(%s)' % json.dumps(
        {'play': {'model': 'm0', 'primer': '0', 'temperature': 1, 'steps': 16, 'qpm': 480}}))
  value = played['value']
  arpeggio_notes = 4
  assert value['status'] == 'Done.', value
  assert value['notes'] and value['rects'] == arpeggio_notes + len(value['notes'])
  assert value['visible'] == value['rects']
  # The player's note callbacks revealed notes as they sounded. Tone.js drops a drawing
  # callback that comes too late (a loaded machine), so not every note needs its own.
  assert 1 <= value['played'] <= value['rects'], value
