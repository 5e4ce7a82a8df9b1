"""The report's "play it live" page: ``live.html`` improvises with magenta.js in the browser.

The page offers one or more magenta.js ``MusicRNN`` directories (written by
``bin/export_magenta_js``), a primer and a temperature; *Play* continues the primer with
``MusicRNN.continueSequence`` and plays it with magenta.js's ``Player`` while a
``PianoRollSVGVisualizer`` draws the notes as they sound.

It works from ``file://`` with nothing to serve and nothing fetched from the network:

* magenta.js comes from the vendored npm package (``scripts/setup_web.sh`` puts the pinned
  ``dist/magentamusic.js`` into ``vendor/magenta_music/``); it is copied beside ``live.html``
  and loaded by a plain ``<script src>``, which Chromium allows from ``file://``;
* Chromium refuses ``fetch()`` of ``file://`` URLs, and ``MusicRNN.initialize()`` always
  fetches ``config.json``, ``weights_manifest.json`` and the shards. So each model's files are
  embedded in the page (JSON; shards as base64), and a ``fetch`` shim installed before
  magenta.js loads answers the URLs under ``rl-tuner-models/<id>/`` from them.

So the page and ``magentamusic.js`` together are the whole thing (copy both to share it).
``window.rlTunerLiveSelftest(spec)`` continues given primers (or presses Play) and resolves
to what came out; the browser tests call it over the DevTools protocol.
"""

import base64
import dataclasses
import html
import json
import os
import shutil
from typing import Optional, Sequence

from note_rnn import loading
from note_rnn import magenta_js
from rl_tuner.report import live_page_assets
from pipelines import files

PAGE_NAME = 'live.html'
BUNDLE_NAME = 'magentamusic.js'
BUNDLE_ENV = 'RL_TUNER_MAGENTA_MUSIC_JS'
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENDORED_BUNDLE = os.path.join(_REPO_ROOT, 'vendor', 'magenta_music', BUNDLE_NAME)
MAX_MODEL_BYTES = 64 * 1024 * 1024  # the page carries every model; keep it loadable

# Primers offered besides "a random pitch" and "my own events" (Melody events: -2 hold,
# -1 note off, MIDI pitch), all within 48-83 so magenta.js transposes nothing.
PRIMERS = (
    ('C major arpeggio', [60, -2, 64, -2, 67, -2, 72, -2]),
    ('Twinkle, twinkle', [60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2]),
    ('Middle C', [60]),
)


class LivePageUnavailable(RuntimeError):
  """The page cannot be written (no vendored magenta.js, or no model); says what to do."""


@dataclasses.dataclass
class LiveModel:
  """A magenta.js MusicRNN directory offered on the page, with its menu label."""
  checkpoint_dir: str
  label: str
  detail: str = ''


def vendored_bundle() -> Optional[str]:
  """The magenta.js bundle to copy (``$RL_TUNER_MAGENTA_MUSIC_JS`` or the vendored one)."""
  path = os.environ.get(BUNDLE_ENV) or VENDORED_BUNDLE
  return path if os.path.isfile(path) else None


def describe(checkpoint_dir: str, label: Optional[str] = None) -> LiveModel:
  """A ``LiveModel`` labelled from the export's ``config.json`` (``rlTuner`` facts)."""
  spec = _read_spec(checkpoint_dir)
  facts = spec.get('rlTuner') or {}
  source = str(facts.get('source') or checkpoint_dir)
  algorithm = facts.get('algorithm')
  if label is None:
    name = str(facts.get('name') or os.path.basename(source.rstrip('/')) or source)
    label = ('tuned (%s): %s' % (algorithm, name)) if algorithm else 'Note RNN: %s' % name
  sizes = facts.get('layer_sizes')
  detail = 'LSTM %s, from %s' % (sizes, source) if sizes else 'from %s' % source
  return LiveModel(checkpoint_dir, label, detail)


def models_from_flags(magenta_js_dirs: Sequence[str] = (),
                      run_dirs: Sequence[str] = ()) -> list:
  """The models ``--magenta_js_dir`` names, then each ``--run_dir``'s ``magenta_js/`` if any."""
  dirs = list(magenta_js_dirs)
  for run_dir in run_dirs:
    candidate = os.path.join(run_dir, magenta_js.DEFAULT_DIR_NAME)
    if os.path.isdir(candidate) and os.path.abspath(candidate) not in map(os.path.abspath, dirs):
      dirs.append(candidate)
  return [describe(d) for d in dirs]


def runs_note_rnn(run_dirs: Sequence[str]) -> Optional[str]:
  """The Note RNN the runs tuned (their ``note_rnn_checkpoint``), or None for the shipped one."""
  for run_dir in run_dirs:
    try:
      with open(os.path.join(run_dir, magenta_js.CONFIG_FILE)) as f:
        value = json.load(f).get('note_rnn_checkpoint')
    except (OSError, ValueError, AttributeError):
      continue
    if value and value != 'shipped':
      return value
  return None


def for_report(output_dir: str, magenta_js_dirs: Sequence[str] = (),
               run_dirs: Sequence[str] = (), note_rnn_checkpoint: Optional[str] = None,
               log=print) -> Optional[str]:
  """``bin/make_report``'s live.html: the given models, each run's ``magenta_js/``, and the
  untuned Note RNN beside tuned ones (exported into ``output_dir/live_models/note_rnn``).

  Returns:
    the page's path, or None when there is nothing to offer or magenta.js is not vendored
    (``log`` says which).

  Raises:
    ValueError: a ``--magenta_js_dir`` that is not a MusicRNN export (message names it).
  """
  models = models_from_flags(magenta_js_dirs, run_dirs)
  if not models:
    if run_dirs:
      log('live.html left out: no run has a magenta_js/ (bin/export_magenta_js '
          '--checkpoint=RUN_DIR writes one)')
    return None
  if vendored_bundle() is None:
    log('live.html left out: magenta.js is not vendored (make setup vendors it with npm)')
    return None
  for m in models:
    model_files(m.checkpoint_dir)  # fail on a bad directory before exporting anything
  tuned = [bool((_read_spec(m.checkpoint_dir).get('rlTuner') or {}).get('algorithm'))
           for m in models]
  if all(tuned):
    source = note_rnn_checkpoint or runs_note_rnn(run_dirs)
    prior_dir = magenta_js.export_magenta_js(
        source, os.path.join(output_dir, 'live_models', 'note_rnn'))
    models.insert(0, describe(prior_dir, 'Note RNN (untuned): %s' % (
        os.path.basename(source.rstrip('/')) if source else 'the shipped '
        + loading.DEFAULT_MODEL_NAME)))
  return write_live_page(models, output_dir)


def _read_spec(checkpoint_dir: str) -> dict:
  path = os.path.join(checkpoint_dir, magenta_js.CONFIG_FILE)
  try:
    with open(path) as f:
      spec = json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError('%s: not a magenta.js checkpoint dir (%s)' % (checkpoint_dir, e)) from None
  if not isinstance(spec, dict) or spec.get('type') != 'MusicRNN':
    raise ValueError('%s: config.json is not a MusicRNN spec (written by bin/export_magenta_js)'
                     % checkpoint_dir)
  return spec


def model_files(checkpoint_dir: str) -> dict:
  """``{file name: {'text': ...} or {'base64': ...}}`` of one MusicRNN directory, checked.

  Raises:
    ValueError: naming the directory, when config.json, the manifest or a shard is wrong.
  """
  _read_spec(checkpoint_dir)
  try:
    magenta_js.read_weights(checkpoint_dir)
    with open(os.path.join(checkpoint_dir, magenta_js.MANIFEST_FILE)) as f:
      manifest = json.load(f)
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise ValueError('%s: unreadable weights (%s)' % (checkpoint_dir, e)) from None
  files = {}
  for name in (magenta_js.CONFIG_FILE, magenta_js.MANIFEST_FILE):
    with open(os.path.join(checkpoint_dir, name), encoding='utf-8') as f:
      files[name] = {'text': f.read()}
  total = 0
  for group in manifest:
    for shard in group['paths']:
      with open(os.path.join(checkpoint_dir, shard), 'rb') as f:
        data = f.read()
      total += len(data)
      files[shard] = {'base64': base64.b64encode(data).decode('ascii')}
  if total > MAX_MODEL_BYTES:
    raise ValueError('%s: %d bytes of weights, more than the page carries (%d)'
                     % (checkpoint_dir, total, MAX_MODEL_BYTES))
  return files


def _script_json(value) -> str:
  """JSON that cannot end its ``<script>`` element early."""
  text = json.dumps(value, separators=(',', ':'))
  return text.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')


def page_html(models: Sequence[LiveModel], title: str = 'RL Tuner: play it live') -> str:
  """The page's HTML for ``models`` (the bundle is referenced as ``magentamusic.js``)."""
  data = {'models': [{'id': 'm%d' % i, 'label': m.label, 'detail': m.detail,
                      'files': model_files(m.checkpoint_dir)} for i, m in enumerate(models)],
          'primers': [{'label': label, 'events': events} for label, events in PRIMERS]}
  page = live_page_assets.PAGE_HTML
  for key, value in (('@@CSS@@', live_page_assets.CSS), ('@@DATA@@', _script_json(data)),
                     ('@@SHIM@@', live_page_assets.FETCH_SHIM_JS),
                     ('@@PAGE_JS@@', live_page_assets.PAGE_JS),
                     ('@@BUNDLE@@', BUNDLE_NAME), ('@@TITLE@@', html.escape(title))):
    page = page.replace(key, value)
  return page


def write_live_page(models: Sequence[LiveModel], output_dir: str, *,
                    bundle: Optional[str] = None,
                    title: str = 'RL Tuner: play it live') -> str:
  """Writes ``output_dir/live.html`` and copies magenta.js beside it.

  Raises:
    LivePageUnavailable: no model, or no magenta.js bundle (``make setup`` vendors it).
    ValueError: a model directory that is not a readable MusicRNN export.

  Returns:
    the page's path.
  """
  if not models:
    raise LivePageUnavailable('no model to offer: export one with bin/export_magenta_js and '
                              'pass --magenta_js_dir (or a --run_dir holding magenta_js/)')
  bundle = bundle or vendored_bundle()
  if bundle is None:
    raise LivePageUnavailable('magenta.js is not vendored (%s is missing): run make setup, '
                              'which needs npm, or set $%s' % (VENDORED_BUNDLE, BUNDLE_ENV))
  page = page_html(models, title)
  os.makedirs(output_dir, exist_ok=True)
  target = os.path.join(output_dir, BUNDLE_NAME)
  if not (os.path.exists(target) and os.path.samefile(bundle, target)):
    shutil.copyfile(bundle, target + '.tmp')
    os.replace(target + '.tmp', target)
  path = os.path.join(output_dir, PAGE_NAME)
  files.write_text_atomic(path, page)
  return path
