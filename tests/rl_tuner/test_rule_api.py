"""The reward-rule API: registry, context, built-ins through the event adapter, chords."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pipelines.errors import FlagError
from rl_tuner.music import chords
from rl_tuner.music import rule_api
from rl_tuner.music import rules

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _random_indices(seed=5, batch=64, length=32):
  rng = np.random.default_rng(seed)
  x = rng.integers(0, 38, (batch, length))
  x[:, ::3] = rng.integers(0, 2, (batch, (length + 2) // 3))  # plenty of specials
  x[: batch // 4] = 14  # excessive repeats
  return x


@pytest.mark.parametrize('semantics', ['corrected', 'legacy'])
@pytest.mark.parametrize('key', ['C', 'F#', 'A_minor'])
@pytest.mark.parametrize('mode', rules.REWARD_MODES)
def test_each_mode_through_the_api_equals_music_theory_reward(semantics, key, mode):
  x = _random_indices()
  priming = _random_indices(seed=9, length=1)[:, 0]
  context = rule_api.make_context(key=key, num_notes=32, semantics=semantics,
                                  priming=rule_api.events_from_indices(priming))
  ours = rule_api.weighted_reward(rule_api.events_from_indices(x),
                                  rule_api.mode_rule_weights(mode), context)
  today = rules.music_theory_reward(x, key=key, semantics=semantics, reward_mode=mode,
                                    priming=priming)
  np.testing.assert_array_equal(ours, today)


def test_every_builtin_is_registered_under_its_name():
  assert set(rules.REWARD_RULES) | {'chord_tone'} == set(rule_api.BUILTIN_RULES)
  assert set(rule_api.BUILTIN_RULES) <= set(rule_api.registered_rules())


def test_later_edits_to_rules_py_flow_through(monkeypatch):
  monkeypatch.setitem(rules.REWARD_RULES, 'key', lambda x, **unused: np.full(x.shape, 7.0))
  context = rule_api.make_context(key='C', num_notes=4)
  out = rule_api.rule_rewards(np.array([[60, -2, -1, 61]]), {'key': 1.0}, context)
  assert out['key'].tolist() == [[7.0] * 4]


def test_events_map_onto_todays_indices():
  events = np.array([[-2, -1, 48, 60, 83]])
  assert rule_api.indices_from_events(events).tolist() == [[0, 1, 2, 14, 37]]
  np.testing.assert_array_equal(
      rule_api.events_from_indices(rule_api.indices_from_events(events)), events)


@pytest.mark.parametrize('pitch', [47, 84, 0, 127])
def test_builtin_outside_48_83_is_a_clear_error(pitch):
  context = rule_api.make_context(key='C', num_notes=3)
  with pytest.raises(ValueError, match=r"'intervals' is defined on pitches 48-83.*%d" % pitch):
    rule_api.rule_rewards(np.array([[60, pitch, -2]]), {'intervals': 1.0}, context)


def test_context_attributes():
  context = rule_api.make_context(key='A_minor', num_notes=64, semantics='legacy',
                                  priming=[60, 62], chords=[{0, 4, 7}] * 64)
  assert (context.key_name, context.tonic_pitch_class, context.num_notes,
          context.steps_per_bar, context.semantics) == ('A_minor', 9, 64, 16, 'legacy')
  assert context.key_pitch_classes == frozenset({9, 11, 0, 2, 4, 5, 7})
  assert context.tonic_pitch == 69 and context.priming.tolist() == [60, 62]
  assert context.chords[0] == frozenset({0, 4, 7})


def test_decorator_registers_and_guards_names():
  @rule_api.reward_rule('test_only_highs')
  def highs(melodies, *, context):
    del context
    return (melodies >= 72).astype(float)
  assert rule_api.registered_rules()['test_only_highs'] is highs
  out = rule_api.rule_rewards(np.array([[72, 60, -2]]), {'test_only_highs': 1.0},
                              rule_api.make_context(num_notes=3))
  assert out['test_only_highs'].tolist() == [[1.0, 0.0, 0.0]]
  with pytest.raises(ValueError, match='built-in'):
    rule_api.reward_rule('key')(highs)
  with pytest.raises(ValueError, match='identifier'):
    rule_api.reward_rule('bad name:1')


def test_a_rule_of_the_wrong_shape_is_named():
  rule_api.reward_rule('test_wrong_shape')(lambda melodies, *, context: np.zeros(3))
  with pytest.raises(ValueError, match="'test_wrong_shape' returned shape"):
    rule_api.rule_rewards(np.zeros((2, 4), int), {'test_wrong_shape': 1.0},
                          rule_api.make_context(num_notes=4))


def test_weighted_reward_scales_each_rule():
  melodies = np.array([[61, 60, -2, 66]])  # C# and F# outside C major
  context = rule_api.make_context(key='C', num_notes=4)
  total = rule_api.weighted_reward(melodies, {'key': 2.5}, context)
  assert total.tolist() == [[-2.5, 0.0, 0.0, -2.5]]


@pytest.mark.parametrize('text, expected', [
    ('key:1,tonic:0.5', {'key': 1.0, 'tonic': 0.5}),
    (' pentatonic:2 , repetition ', {'pentatonic': 2.0, 'repetition': 1.0}),
    ('key:-1e-1', {'key': -0.1}),
])
def test_parse_rule_weights(text, expected):
  assert rule_api.parse_rule_weights(text) == expected
  assert rule_api.parse_rule_weights(rule_api.format_rule_weights(expected)) == expected


@pytest.mark.parametrize('text, message', [
    ('key:x', 'not a number'), ('key:1,key:2', 'twice'), ('', 'names no rule'),
    ('key:inf', 'finite'), ('9key:1', 'name:weight'),
])
def test_parse_rule_weights_errors_name_the_flag(text, message):
  with pytest.raises(FlagError, match=message) as info:
    rule_api.parse_rule_weights(text)
  assert info.value.flag == 'reward_rules'


def test_load_rule_module_from_a_file_and_from_a_dotted_name(tmp_path, monkeypatch):
  path = tmp_path / 'file_rules.py'
  path.write_text(textwrap.dedent('''
      import numpy as np
      import rl_tuner

      @rl_tuner.reward_rule('test_from_file')
      def rule(melodies, *, context):
        return np.ones(melodies.shape)
      '''))
  module = rule_api.load_rule_module(str(path))
  assert rule_api.load_rule_module(str(path)) is module  # imported once
  assert 'test_from_file' in rule_api.registered_rules()
  (tmp_path / 'dotted_rules_pkg').mkdir()
  (tmp_path / 'dotted_rules_pkg' / '__init__.py').write_text('')
  (tmp_path / 'dotted_rules_pkg' / 'mine.py').write_text(
      'import rl_tuner\nrl_tuner.reward_rule("test_dotted")(lambda m, *, context: m * 0.0)\n')
  monkeypatch.syspath_prepend(str(tmp_path))
  rule_api.load_rule_module('dotted_rules_pkg.mine')
  assert 'test_dotted' in rule_api.registered_rules()


@pytest.mark.parametrize('spec, message', [
    ('/no/such/rules.py', 'no such file'),
    ('no_such_rules_module_xyz', 'cannot import'),
])
def test_missing_rule_module_is_one_flag_error(spec, message):
  with pytest.raises(FlagError, match=message) as info:
    rule_api.load_rule_module(spec)
  assert info.value.flag == 'reward_rule_module' and '\n' not in str(info.value)


def test_a_failing_rule_module_is_one_line(tmp_path):
  path = tmp_path / 'broken_rules.py'
  path.write_text('raise RuntimeError("boom")\n')
  with pytest.raises(FlagError, match='RuntimeError: boom'):
    rule_api.load_rule_module(str(path))


def test_reward_rule_is_importable_without_tensorflow():
  code = ('import sys, rl_tuner; rl_tuner.reward_rule; rl_tuner.RuleContext; '
          'print("tensorflow" in sys.modules)')
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
  assert out.stdout.strip() == 'False', out.stderr


def test_example_rule_file_is_ten_lines_and_works():
  path = os.path.join(REPO, 'examples', 'my_rules.py')
  with open(path) as f:
    assert len(f.read().splitlines()) <= 10
  rule_api.load_rule_module(path)
  out = rule_api.rule_rewards(np.array([[60, 61, -2, 69, -1]]), {'pentatonic': 1.0},
                              rule_api.make_context(key='C', num_notes=5))
  assert out['pentatonic'].tolist() == [[1.0, -1.0, 0.0, 1.0, 0.0]]


# chord_tone ------------------------------------------------------------------------

def test_chords_per_step_is_one_chord_per_bar_repeated():
  steps = chords.chords_per_step('C G Am F', 80)
  assert steps[0] == frozenset({0, 4, 7}) and steps[15] == frozenset({0, 4, 7})
  assert steps[16] == frozenset({7, 11, 2}) and steps[32] == frozenset({9, 0, 4})
  assert steps[48] == frozenset({5, 9, 0}) and steps[64] == steps[0]
  assert chords.chords_per_step('"G7, N.C."', 32)[0] == frozenset({7, 11, 2, 5})
  assert chords.chords_per_step('G7 N.C.', 32)[16] == frozenset()


def test_bad_chord_is_a_flag_error():
  with pytest.raises(FlagError, match="cannot parse chord 'Xm'") as info:
    chords.parse_progression('C Xm')
  assert info.value.flag == 'chord_progression'


def test_chord_tone_by_hand():
  progression = chords.chords_per_step('C G', 32)
  melody = np.full((1, 32), -2)
  melody[0, [0, 1, 8, 9, 16, 17, 24]] = [64, 62, 61, 72, 55, 59, 60]
  # step 0: E in C, strong (+3); 1: D not in C; 8: C# not in C (strong, 0);
  # 9: C in C (+1); 16: G in G, strong (+3); 17: B in G (+1); 24: C not in G.
  context = rule_api.make_context(key='C', num_notes=32, chords=progression)
  out = rule_api.rule_rewards(melody, {'chord_tone': 1.0}, context)['chord_tone'][0]
  expected = np.zeros(32)
  expected[[0, 9, 16, 17]] = [3.0, 1.0, 3.0, 1.0]
  np.testing.assert_array_equal(out, expected)
  # struck on strong beats: 0 (E in C), 8 (C#), 16 (G in G), 24 (C, not in G)
  assert chords.strong_beat_chord_tone_share(melody, progression) == pytest.approx(2 / 4)
  wide = melody.copy()
  wide[0, 0] = 100  # any pitch: E7 is a tone of C
  assert rule_api.rule_rewards(wide, {'chord_tone': 1.0}, context)['chord_tone'][0, 0] == 3.0


def test_chord_tone_without_chords_is_zero_and_share_is_none():
  melody = np.array([[60, 64]])
  context = rule_api.make_context(num_notes=2)
  assert rule_api.rule_rewards(melody, {'chord_tone': 1.0}, context)['chord_tone'].sum() == 0
  assert chords.strong_beat_chord_tone_share(melody, None) is None
  assert chords.strong_beat_chord_tone_share(np.array([[-2, 60]]), [{0}] * 2) is None


def test_rule_statistics():
  melodies = np.array([[61, 60, -2, 66]])
  stats = rule_api.rule_statistics(melodies, {'key': 1.0},
                                   rule_api.make_context(key='C', num_notes=4))
  assert stats == {'key': {'mean_reward': -0.5, 'nonzero_share': 0.5}}


def test_sample_midi_carries_the_chords_under_the_melody(tmp_path):
  from rl_tuner.evaluate import midi  # pylint: disable=g-import-not-at-top
  import note_seq  # pylint: disable=g-import-not-at-top
  notes = np.full(40, 14)  # 40 sixteenths of C4 note-ons
  path = midi.write_midi(notes, str(tmp_path / 'x.mid'), chord_progression='C G7 Am')
  sequence = note_seq.midi_file_to_note_sequence(path)
  melody = [n for n in sequence.notes if n.instrument == 0]
  harmony = sorted((round(n.start_time, 3), n.pitch) for n in sequence.notes
                   if n.instrument == midi.CHORD_INSTRUMENT)
  assert len(melody) == 40
  bar = 16 * 60.0 / midi.RL_TUNER_QPM / 4
  assert harmony == sorted([(0.0, p) for p in (36, 48, 52, 55)] +
                           [(round(bar, 3), p) for p in (43, 50, 53, 55, 59)] +
                           [(round(2 * bar, 3), p) for p in (45, 48, 52, 57)])
