"""rl_tuner.RLTuner drives like Magenta's class did in its notebook.

The notebook built an RLTuner with keywords, trained it, generated a melody,
computed the music-theory statistics and saved the model; a new object then
restored it. Only the import line differs here.
"""

import os

import numpy as np
import pytest

import rl_tuner
from rl_tuner.music import statistics

# The keys of Magenta's rl_tuner_eval_metrics stat dict.
MAGENTA_STAT_KEYS = {
    'autocorrelation1', 'autocorrelation2', 'autocorrelation3', 'notes_not_in_key',
    'notes_in_motif', 'notes_in_repeated_motif', 'num_starting_tonic', 'num_repeated_notes',
    'num_octave_jumps', 'num_fifths', 'num_thirds', 'num_sixths', 'num_seconds',
    'num_fourths', 'num_sevenths', 'num_rest_intervals', 'num_special_rest_intervals',
    'num_in_key_preferred_intervals', 'num_resolved_leaps', 'num_leap_twice',
    'num_high_unique', 'num_low_unique', 'num_compositions', 'total_notes'}


def test_default_dqn_hparams_are_magentas():
  h = rl_tuner.default_dqn_hparams()
  assert h.values() == dict(random_action_probability=0.1, store_every_nth=1,
                            train_every_nth=5, minibatch_size=32, discount_rate=0.95,
                            max_experience=100000, target_network_update_rate=0.01)
  h.parse('minibatch_size=64,discount_rate=0.5')
  assert (h.minibatch_size, h.discount_rate) == (64, 0.5)
  with pytest.raises(ValueError, match='no_such'):
    h.parse('no_such=1')


def test_magenta_stat_dict_counts_by_hand():
  # Composition 0: C D E F G A B C ... (stepwise, in key, starts on the tonic);
  # composition 1: F# held for the rest (not in key, no tonic start).
  scale = [14, 16, 18, 19, 21, 23, 25, 26]
  notes = np.array([scale * 4, [20] + [0] * 31])
  stats = statistics.magenta_stat_dict(notes, key='C', semantics='corrected')
  assert MAGENTA_STAT_KEYS <= set(stats)
  assert stats['num_compositions'] == 2 and stats['total_notes'] == 64
  assert stats['num_starting_tonic'] == 1
  assert stats['notes_not_in_key'] == 1  # the F#; holds are in key
  # Per pass of the scale: 14→16, 16→18, 19→21, 21→23, 23→25 are seconds; the
  # semitones 18→19, 25→26 and the octave 26→14 are counted nowhere.
  assert stats['num_seconds'] == 5 * 4
  assert stats['num_octave_jumps'] == 0 and stats['num_leap_twice'] == 0
  assert stats['num_repeated_notes'] == 0  # corrected: a hold is never excessive
  assert len(stats['autocorrelation1']) == 2


def test_rejects_what_it_cannot_honour(tmp_path):
  with pytest.raises(ValueError, match='num_actions'):
    rl_tuner.RLTuner(str(tmp_path), num_actions=39, initialize_immediately=False)
  with pytest.raises(ValueError, match="num_actions=40 but the checkpoint's basic_rnn has 38"):
    rl_tuner.RLTuner(str(tmp_path), num_actions=40)  # lookback's size, the shipped basic model
  assert rl_tuner.RLTuner(str(tmp_path), input_size=38, num_actions=38).num_actions == 38
  hparams = rl_tuner.default_dqn_hparams()
  hparams.store_every_nth = 2
  with pytest.raises(ValueError, match='store_every_nth'):
    rl_tuner.RLTuner(str(tmp_path), dqn_hparams=hparams, initialize_immediately=False)
  with pytest.raises(ValueError, match='algorithm'):
    rl_tuner.RLTuner(str(tmp_path), algorithm='sarsa', initialize_immediately=False)


def test_g_and_pure_rl_drop_log_p_from_the_reward_as_magenta_does(tmp_path):
  rlt = rl_tuner.RLTuner(str(tmp_path), algorithm='g', initialize_immediately=False)
  assert rlt.reward_mode == 'music_theory_only'
  assert rl_tuner.RLTuner(str(tmp_path), algorithm='default',
                          initialize_immediately=False).algorithm == 'q'


@pytest.mark.slow
def test_notebook_flow(tmp_path, shared_data):
  """Construct, train, generate, evaluate, save; restore into a new object."""
  checkpoint_dir = shared_data / 'checkpoints' / 'rl_tuner_research'
  hparams = rl_tuner.default_dqn_hparams()
  output_dir = str(tmp_path / 'rlt')
  rlt = rl_tuner.RLTuner(output_dir, dqn_hparams=hparams, algorithm='q',
                         reward_scaler=1.0, output_every_nth=100,
                         note_rnn_checkpoint_dir=str(checkpoint_dir),
                         note_rnn_checkpoint_file=str(checkpoint_dir / 'model.ckpt-1994'),
                         num_notes_in_melody=32, exploration_mode='egreedy',
                         num_parallel_envs=8)
  rlt.train(num_steps=300, exploration_period=200)
  assert rlt.env_steps >= 300

  notes = rlt.generate_music_sequence(title='rltuner_sample')
  assert len(notes) == 32 and all(0 <= n < 38 for n in notes)
  assert os.path.exists(os.path.join(output_dir, 'rltuner_sample.mid'))
  rlt.generate_music_sequence(title='rltuner_sample', visualize_probs=True,
                              prob_image_name='probs.png')
  assert os.path.exists(os.path.join(output_dir, 'rltuner_sample1.mid'))
  assert os.path.exists(os.path.join(output_dir, 'probs.png'))

  stats = rlt.evaluate_music_theory_metrics(num_compositions=50)
  assert MAGENTA_STAT_KEYS <= set(stats)
  assert stats['num_compositions'] == 50 and stats['total_notes'] == 50 * 32
  assert len(stats['autocorrelation1']) == 50
  assert 0 <= stats['notes_not_in_key'] <= 50 * 32

  saved = rlt.save_model('my_model', directory=str(tmp_path / 'saved'))
  assert os.path.isdir(os.path.join(saved, 'policy'))

  restored = rl_tuner.RLTuner(str(tmp_path / 'other'), algorithm='q',
                              note_rnn_checkpoint_file=str(checkpoint_dir / 'model.ckpt-1994'))
  restored.restore_from_directory(str(tmp_path / 'saved'))
  # The restored policy is the saved one: same greedy composition from the same
  # priming note.
  from rl_tuner.evaluate import sampling
  priming = np.arange(2, 12)
  ours = sampling.generate_from_prefixes(rlt._policy, priming, policy='greedy')
  theirs = sampling.generate_from_prefixes(restored._policy, priming, policy='greedy')
  np.testing.assert_array_equal(ours, theirs)
