"""Legacy semantics against the ORIGINAL code: Magenta's reward methods and statistics.

`magenta_reward_probe.py` runs the original `RLTuner` reward methods and
`rl_tuner_eval_metrics.compute_composition_stats` in `.venv-baseline` on a few
hundred scripted compositions (fixed seed, many styles so that every branch
fires); our `legacy` rewards and `composition_stats` must agree exactly.
"""

import json
import pathlib
import subprocess

import numpy as np
import pytest

from pipelines import encoding
from rl_tuner.music import statistics
from rl_tuner.music import rules

REPO = pathlib.Path(__file__).resolve().parents[2]
PROBE = pathlib.Path(__file__).resolve().parent / 'magenta_reward_probe.py'
BASELINE_PYTHON = REPO / '.venv-baseline' / 'bin' / 'python'
NUM_NOTES = 32
SEED = 20161109

pytestmark = pytest.mark.baseline


def _walk(rng, start, steps, max_step, special_p):
  notes, pitch = [], start
  for _ in range(steps):
    if rng.random() < special_p:
      notes.append(int(rng.integers(0, 2)))
    else:
      pitch = int(np.clip(pitch + rng.integers(-max_step, max_step + 1), 2, 37))
      notes.append(pitch)
  return notes


def scripted_compositions(seed=SEED, per_style=50):
  """[N, 32] compositions in styles that exercise every rule's branches."""
  rng = np.random.default_rng(seed)
  c_major = np.flatnonzero(rules.parse_key('C').in_key[2:]) + 2
  rows = []
  for _ in range(per_style):  # uniform noise
    rows.append(rng.integers(0, encoding.NUM_CLASSES, NUM_NOTES).tolist())
  for _ in range(per_style):  # in-key steps with holds and note-offs
    pitches = rng.choice(c_major, NUM_NOTES)
    notes = np.where(rng.random(NUM_NOTES) < 0.35, rng.integers(0, 2, NUM_NOTES), pitches)
    rows.append(notes.tolist())
  for _ in range(per_style):  # small random walks
    rows.append(_walk(rng, int(rng.integers(8, 30)), NUM_NOTES, 4, 0.3))
  for _ in range(per_style):  # leaps
    rows.append(_walk(rng, int(rng.integers(12, 26)), NUM_NOTES, 12, 0.15))
  for _ in range(per_style):  # runs of one note, specials between
    notes = []
    while len(notes) < NUM_NOTES:
      value = int(rng.integers(0, 38)) if rng.random() < 0.8 else int(rng.integers(0, 2))
      notes += [value] * int(rng.integers(1, 10))
      notes += rng.integers(0, 2, int(rng.integers(0, 3))).tolist()
    rows.append(notes[:NUM_NOTES])
  for _ in range(per_style):  # repeated motifs, tonic starts and endings
    motif = rng.choice(np.concatenate([c_major[5:20], [0, 1]]), 8).tolist()
    notes = ([14] if rng.random() < 0.5 else []) + motif * 4
    notes = notes[:NUM_NOTES]
    if rng.random() < 0.5:
      notes[28:] = [14, int(rng.integers(0, 2)), int(rng.integers(0, 2)), 1]
    rows.append(notes)
  rows.append([14] * NUM_NOTES)  # constant: NaN autocorrelation
  rows.append([0] * NUM_NOTES)
  rows.append([1, 0] * (NUM_NOTES // 2))
  return np.array(rows, dtype=np.int64)


def _baseline_python(shared_dir) -> pathlib.Path:
  """.venv-baseline's python; made with the kit's (idempotent) setup.sh when missing."""
  if not BASELINE_PYTHON.exists():
    setup = shared_dir / 'baseline' / 'setup.sh'
    if not setup.exists():
      pytest.skip('no .venv-baseline and no %s to create it' % setup)
    proc = subprocess.run(['bash', str(setup), '.venv-baseline'], cwd=str(REPO),
                          capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0 or not BASELINE_PYTHON.exists():
      pytest.skip('could not create .venv-baseline: %s' % proc.stderr[-2000:])
  return BASELINE_PYTHON


@pytest.fixture(scope='module')
def original(tmp_path_factory, shared_dir):
  kit = shared_dir / 'baseline' / 'magenta_rl_tuner'
  if not kit.is_dir():
    pytest.skip('%s is absent' % kit)
  python = _baseline_python(shared_dir)
  compositions = scripted_compositions()
  priming = np.random.default_rng(SEED + 1).integers(0, 37, len(compositions))
  in_path = tmp_path_factory.mktemp('probe') / 'in.json'
  in_path.write_text(json.dumps({'compositions': compositions.tolist(),
                                 'priming': priming.tolist()}))
  result = subprocess.run([str(python), str(PROBE), str(kit), str(in_path)],
                          capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return compositions, priming, json.loads(result.stdout)


def test_every_rule_matches_the_original(original):
  compositions, priming, out = original
  ours = rules.reward_components(
      compositions, key='C', semantics='legacy', priming=priming,
      rules=list(rules.REWARD_RULES))
  for name, values in out['rewards'].items():
    theirs = np.array([[np.nan if v is None else v for v in row] for row in values])
    if name == 'non_repeating':  # bug 11 fixed in both: None becomes 0.0
      theirs = np.nan_to_num(theirs, nan=0.0)
    # Exact, except that our ρ is the exactly rounded quotient and the original's
    # a chain of float operations: they differ in the last bits (never in which
    # lags pass the 0.15 threshold).
    tolerance = 1e-12 if name == 'autocorrelation' else 0.0
    mismatch = np.argwhere(~np.isclose(ours[name], theirs, rtol=0, atol=tolerance))
    assert mismatch.size == 0, (
        '%s differs at %d notes, first (row, beat) %s: ours %s, original %s, notes %s'
        % (name, len(mismatch), mismatch[0], ours[name][tuple(mismatch[0])],
           theirs[tuple(mismatch[0])], compositions[mismatch[0][0]].tolist()))


def test_rule_firing_coverage(original):
  """The scripted set is rich enough: every rule fires on both branches."""
  _, _, out = original
  for name, values in out['rewards'].items():
    flat = np.array([-1.0 if v is None else v for row in values for v in row])
    assert len(np.unique(flat)) >= 2, name


def test_music_theory_sum_matches_the_original(original):
  compositions, _, out = original
  theirs = sum(np.array(out['rewards'][name]) for name in rules.MUSIC_THEORY_RULES)
  ours = rules.music_theory_reward(compositions, key='C', semantics='legacy')
  np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_statistics_match_compute_composition_stats(original):
  compositions, _, out = original
  theirs = out['stats']
  ours = statistics.composition_stats(compositions, key='C', semantics='legacy')
  notes = float(theirs['total_notes'])
  count = float(theirs['num_compositions'])
  assert ours['num_compositions'] == count
  per_note = {'notes_excessively_repeated': 'num_repeated_notes',
              'notes_not_in_key': 'notes_not_in_key', 'notes_in_motif': 'notes_in_motif',
              'notes_in_repeated_motif': 'notes_in_repeated_motif'}
  for ours_name, their_name in per_note.items():
    assert ours[ours_name] == theirs[their_name] / notes, ours_name
  per_composition = {'starts_with_tonic': 'num_starting_tonic',
                     'unique_max_note': 'num_high_unique', 'unique_min_note': 'num_low_unique'}
  for ours_name, their_name in per_composition.items():
    assert ours[ours_name] == theirs[their_name] / count, ours_name
  resolved, doubled = theirs['num_resolved_leaps'], theirs['num_leap_twice']
  assert resolved > 0 and doubled > 0
  assert ours['leaps_resolved'] == resolved / (resolved + doubled)
  for lag in (1, 2, 3):
    assert ours['autocorrelation_lag%d' % lag] == pytest.approx(
        np.nanmean(theirs['autocorrelation%d' % lag]), abs=1e-12)
  for name, count_ in ours['intervals'].items():
    assert count_ == theirs['num_' + name], name
  assert theirs['notes_in_repeated_motif'] > 0 and theirs['num_repeated_notes'] > 0


def test_stat_dict_equals_the_originals(original):
  compositions, _, out = original
  theirs = out['stats']
  ours = statistics.magenta_stat_dict(compositions, key='C', semantics='legacy')
  assert set(ours) == set(theirs)
  for name, value in theirs.items():
    if name.startswith('autocorrelation'):
      np.testing.assert_array_equal(np.array(ours[name]), np.array(value), err_msg=name)
    else:
      assert ours[name] == value, name
